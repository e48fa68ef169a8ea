"""The Rasa server's metrics (`RASA_REGISTRY`): messages, intents, custom actions as Rasa waited
for them, the conversation lock, the hand-over queue; one log line per message."""
from __future__ import annotations

import contextvars
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, List, Optional

from prometheus_client import Counter, Gauge, Histogram

from xiaoan.runtime.logs import log_event
from xiaoan.runtime.metrics.common import CALL_BUCKETS, OTHER, enabled, new_registry, readiness_gauges

logger = logging.getLogger("xiaoan.messages")

NLU_FALLBACK = "nlu_fallback"

# Replies: tens of milliseconds for small talk up to a minute for a slow back office.
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
LOCK_BUCKETS = (0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0)
HANDOVER_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

RASA_REGISTRY = new_registry()

MESSAGES = Counter("xiaoan_messages_total", "User messages received.", ["channel"], registry=RASA_REGISTRY)
MESSAGE_ERRORS = Counter(
    "xiaoan_message_errors_total",
    "Messages not answered normally: exception (no answer) or busy (the system-busy answer).",
    ["channel", "kind"], registry=RASA_REGISTRY,
)
REPLAYED = Counter(
    "xiaoan_messages_replayed_total", "Messages sent again with a known id, answered from the stored replies.",
    ["channel"], registry=RASA_REGISTRY,
)
REPLY_SECONDS = Histogram(
    "xiaoan_reply_seconds", "Time to produce a message's replies once it holds its conversation's lock.",
    ["channel"], buckets=REPLY_BUCKETS, registry=RASA_REGISTRY,
)
INTENTS = Counter("xiaoan_intents_total", "Intents recognised in user messages.", ["intent"], registry=RASA_REGISTRY)
NLU_FALLBACKS = Counter(
    "xiaoan_nlu_fallback_total", "User messages the NLU could not place (nlu_fallback).", ["channel"],
    registry=RASA_REGISTRY,
)
ACTION_SECONDS = Histogram(
    "xiaoan_action_seconds", "Custom actions and forms, as the Rasa server waited for the action server.",
    ["action"], buckets=CALL_BUCKETS, registry=RASA_REGISTRY,
)
ACTION_ERRORS = Counter(
    "xiaoan_action_errors_total", "Custom actions that failed (answered with the system-busy response).",
    ["action", "error"], registry=RASA_REGISTRY,
)
LOCK_WAIT = Histogram(
    "xiaoan_lock_wait_seconds", "Time a message waited for its conversation's lock.",
    buckets=LOCK_BUCKETS, registry=RASA_REGISTRY,
)
LOCK_FAILURES = Counter(
    "xiaoan_lock_failures_total", "Messages that never obtained their conversation's lock.", ["reason"],
    registry=RASA_REGISTRY,
)
HANDOVERS_QUEUED = Counter(
    "xiaoan_handover_queued_total", "Conversations put in the queue for a person.", ["reason"],
    registry=RASA_REGISTRY,
)
HANDOVER_QUEUE = Gauge(
    "xiaoan_handover_queue_length", "Conversations waiting for a person now.", registry=RASA_REGISTRY,
)
HANDOVER_WAIT = Histogram(
    "xiaoan_handover_wait_seconds", "Time a conversation waited in the queue until a person took it.",
    buckets=HANDOVER_BUCKETS, registry=RASA_REGISTRY,
)

RASA_READY, RASA_DEPENDENCY_UP = readiness_gauges(RASA_REGISTRY)


# ------------------------------------------------------------------ messages (Rasa server)

@dataclass
class Handling:
    """What happened to the message being handled (one per message, in a context variable)."""

    conversation_id: str
    channel: str
    intent: Optional[str] = None
    replayed: bool = False
    busy_actions: List[str] = field(default_factory=list)


_current: contextvars.ContextVar[Optional[Handling]] = contextvars.ContextVar("xiaoan_handling", default=None)


KNOWN_CHANNELS = frozenset(("rest", "socketio", "wechat", "cmdline", "staff"))


def channel_of(message: Any) -> str:
    """The channel's label: a known channel's name, "api" for none (Rasa's HTTP API, rasa test), else "other"
    (a label takes no value a client could choose: every new value is a new series)."""
    name = getattr(message, "input_channel", None)
    if not name:
        return "api"
    return name if isinstance(name, str) and name in KNOWN_CHANNELS else OTHER


@contextmanager
def handling(message: Any) -> Iterator[Handling]:
    """Around the processing of one user message: counts it, times it, logs one line."""
    state = Handling(str(getattr(message, "sender_id", "") or ""), channel_of(message))
    token = _current.set(state)
    started = time.perf_counter()
    outcome = "answered"
    try:
        yield state
    except BaseException:
        outcome = "error"
        raise
    finally:
        _current.reset(token)
        seconds = time.perf_counter() - started
        if state.replayed:
            outcome = "replayed"
        elif outcome != "error" and state.busy_actions:
            outcome = "busy"
        if enabled():
            MESSAGES.labels(state.channel).inc()
            REPLY_SECONDS.labels(state.channel).observe(seconds)
            if outcome in ("error", "busy"):
                MESSAGE_ERRORS.labels(state.channel, "exception" if outcome == "error" else "busy").inc()
            elif outcome == "replayed":
                REPLAYED.labels(state.channel).inc()
        log_event(
            logger, logging.ERROR if outcome == "error" else logging.INFO, "message.handled",
            conversation_id=state.conversation_id, channel=state.channel, outcome=outcome,
            intent=state.intent, busy_actions=state.busy_actions or None, duration_ms=round(seconds * 1000, 1),
        )


def replayed() -> None:
    state = _current.get()
    if state is not None:
        state.replayed = True


def intent_recognised(intent: Optional[str], known: Iterable[str], channel: Optional[str] = None) -> None:
    """The NLU's intent for a user message; names outside the domain count as "other"."""
    name = intent if intent and (intent == NLU_FALLBACK or intent in known) else OTHER
    state = _current.get()
    if state is not None:
        state.intent = name
        channel = state.channel
    if not enabled():
        return
    INTENTS.labels(name).inc()
    if name == NLU_FALLBACK:
        NLU_FALLBACKS.labels(channel or "api").inc()


@contextmanager
def action_call(action: str) -> Iterator[Callable[[str], None]]:
    """Times one custom action; the yielded function records its failure (exception name)."""
    started = time.perf_counter()
    failures: List[str] = []
    try:
        yield failures.append
    finally:
        seconds = time.perf_counter() - started
        if enabled():
            ACTION_SECONDS.labels(action).observe(seconds)
            for error in failures:
                ACTION_ERRORS.labels(action, error).inc()
        state = _current.get()
        if failures and state is not None:
            state.busy_actions.append(action)


def lock_waited(seconds: float) -> None:
    if enabled():
        LOCK_WAIT.observe(seconds)


def lock_failed(reason: str) -> None:
    if enabled():
        LOCK_FAILURES.labels(reason).inc()


# ------------------------------------------------------------------ hand-over (hook, see module doc)

def handover_queued(reason: str) -> None:
    if enabled():
        HANDOVERS_QUEUED.labels(reason).inc()


def handover_claimed(waited_seconds: float) -> None:
    if enabled():
        HANDOVER_WAIT.observe(waited_seconds)


def handover_queue_length(length: int) -> None:
    if enabled():
        HANDOVER_QUEUE.set(length)

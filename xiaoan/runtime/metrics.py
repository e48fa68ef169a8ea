"""Prometheus metrics of 小安's servers, at ``/metrics`` on each server's own port.

Every Rasa server and the action server expose them (`attach`, called when
the runtime builds a server's app: `xiaoan.runtime.operations`). Names follow
Prometheus' conventions (``_total`` counters, ``_seconds`` histograms).

Rasa server (`RASA_REGISTRY`):

=====================================  =====================================================
``xiaoan_messages_total{channel}``      user messages received (REST, socket.io, WeChat, …)
``xiaoan_message_errors_total``         messages not answered normally: ``kind="exception"``
``{channel, kind}``                     (no answer, HTTP 500) or ``kind="busy"`` (the
                                        system-busy answer: an action could not run)
``xiaoan_messages_replayed_total``      retries answered from their stored replies
``xiaoan_reply_seconds{channel}``       time to produce a message's replies, once it holds
                                        its conversation's lock (histogram)
``xiaoan_intents_total{intent}``        intents recognised (names outside the domain: "other")
``xiaoan_nlu_fallback_total{channel}``  messages the NLU could not place (``nlu_fallback``)
``xiaoan_action_seconds{action}``       custom actions and forms, as Rasa waited for the
                                        action server (histogram)
``xiaoan_action_errors_total``          custom actions that failed, ``error`` = exception name
``{action, error}``
``xiaoan_lock_wait_seconds``            time a message waited for its conversation's lock
                                        (the scale-out Redis lock; histogram)
``xiaoan_lock_failures_total{reason}``  lock never obtained: ``timeout`` or ``store`` (Redis)
``xiaoan_ready``, ``xiaoan_dependency_up{dependency}``  readiness (`xiaoan.runtime.health`)
``xiaoan_handover_*``                   hand-over to a person: the hook for the console (below)
=====================================  =====================================================

Action server (`ACTION_REGISTRY`): ``xiaoan_action_server_seconds{action}``,
``xiaoan_action_server_requests_total{action, outcome}`` (ok, rejected,
not_found, error), ``xiaoan_backoffice_seconds{operation}``,
``xiaoan_backoffice_failures_total{operation}``,
``xiaoan_backoffice_timeouts_total``, readiness gauges. Both also carry the
process collectors (CPU, resident memory, open files, GC).

Hand-over hook: the hand-over to a person (contract §7) is another issue.
Its code calls `handover_queued(reason)` when a conversation joins the
queue, `handover_claimed(waited_seconds)` when an agent takes it and
`handover_queue_length(n)` when the queue changes; the metrics and the
dashboard panel are here already.

Labels are bounded: channels are the configured ones, intents and actions
the domain's (anything else is "other" / "unknown"), so no client can grow
a server's memory through a label.

``XIAOAN_METRICS=off`` switches recording and the route off (the benchmark's
"metrics off" arm, bench/metrics_overhead.py).
"""
from __future__ import annotations

import contextvars
import hmac
import ipaddress
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, List, Optional

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from xiaoan.runtime.logs import log_event

logger = logging.getLogger("xiaoan.messages")

METRICS_ENV = "XIAOAN_METRICS"
METRICS_PATH = "/metrics"
OTHER = "other"
UNKNOWN = "unknown"
NLU_FALLBACK = "nlu_fallback"

# Replies: tens of milliseconds for small talk up to a minute for a slow back office.
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
LOCK_BUCKETS = (0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0)
HANDOVER_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


# read once: a process records for its whole life or not at all
_ENABLED = (os.environ.get(METRICS_ENV) or "on").strip().lower() not in ("off", "0", "false", "no")


def enabled() -> bool:
    return _ENABLED


disable_created_metrics()  # no *_created series: half the page, nothing a dashboard uses


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


RASA_REGISTRY = _registry()
ACTION_REGISTRY = _registry()

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

ACTION_SERVER_SECONDS = Histogram(
    "xiaoan_action_server_seconds", "Time the action server took to run an action.", ["action"],
    buckets=CALL_BUCKETS, registry=ACTION_REGISTRY,
)
ACTION_SERVER_REQUESTS = Counter(
    "xiaoan_action_server_requests_total", "Action calls by outcome: ok, rejected, not_found, error.",
    ["action", "outcome"], registry=ACTION_REGISTRY,
)
BACKOFFICE_SECONDS = Histogram(
    "xiaoan_backoffice_seconds", "Back-office calls (whole duration, even past the caller's time limit).",
    ["operation"], buckets=CALL_BUCKETS, registry=ACTION_REGISTRY,
)
BACKOFFICE_FAILURES = Counter(
    "xiaoan_backoffice_failures_total", "Back-office calls that raised an error.", ["operation"],
    registry=ACTION_REGISTRY,
)
BACKOFFICE_TIMEOUTS = Counter(
    "xiaoan_backoffice_timeouts_total", "Back-office calls the action gave up on at its time limit.",
    registry=ACTION_REGISTRY,
)


def readiness_gauges(registry: CollectorRegistry) -> "tuple[Gauge, Gauge]":
    ready = Gauge("xiaoan_ready", "1 when this server is ready to serve (xiaoan.runtime.health).", registry=registry)
    up = Gauge("xiaoan_dependency_up", "1 when the dependency answered the last readiness check.", ["dependency"],
               registry=registry)
    return ready, up


RASA_READY, RASA_DEPENDENCY_UP = readiness_gauges(RASA_REGISTRY)
ACTION_READY, ACTION_DEPENDENCY_UP = readiness_gauges(ACTION_REGISTRY)


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


def channel_of(message: Any) -> str:
    name = getattr(message, "input_channel", None)
    return str(name) if name else "api"


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


# ------------------------------------------------------------------ action server

ACTION_OUTCOMES = {200: "ok", 400: "rejected", 404: "not_found"}


def action_served(action: Optional[str], status: int, seconds: float) -> None:
    """One call of the action server's /webhook; an action it does not know is "unknown"."""
    if not enabled():
        return
    outcome = ACTION_OUTCOMES.get(status, "error")
    name = action if action and outcome != "not_found" else UNKNOWN
    ACTION_SERVER_SECONDS.labels(name).observe(seconds)
    ACTION_SERVER_REQUESTS.labels(name, outcome).inc()


class InstrumentedBackOffice:
    """A back office whose every call is timed and whose errors are counted (by method name).

    A transparent proxy: attributes, and ``isinstance``, are the wrapped back office's.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105 - isinstance() sees the wrapped class
        return type(self._inner)

    @property
    def uninstrumented(self) -> Any:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            except Exception:
                if enabled():
                    BACKOFFICE_FAILURES.labels(name).inc()
                raise
            finally:
                if enabled():
                    BACKOFFICE_SECONDS.labels(name).observe(time.perf_counter() - started)

        timed.__name__ = name
        return timed


def instrumented(backoffice: Any) -> Any:
    return InstrumentedBackOffice(backoffice)


def backoffice_timed_out() -> None:
    if enabled():
        BACKOFFICE_TIMEOUTS.inc()


# ------------------------------------------------------------------ the /metrics route

LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def is_loopback(address: Optional[str]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in LOOPBACK_NETWORKS)


def supplied_token(request: Any) -> Optional[str]:
    """`Authorization: Bearer <token>` (Prometheus' credentials_file) or ``?token=`` (Rasa's API)."""
    header = request.headers.get("authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = request.args.get("token")
    return token if isinstance(token, str) else None


def access_refused(request: Any, token: Optional[str]) -> Optional[int]:
    """None if the caller may read; else the HTTP status.

    The HTTP API's rule (README "Faults, persistence and scale-out"): with a
    token configured, the token is required, from anywhere; without one, only
    a caller on this machine that did not come through a proxy.
    """
    if token:
        given = supplied_token(request)
        return None if given is not None and hmac.compare_digest(given.encode(), token.encode()) else 401
    if is_loopback(request.ip) and not request.headers.get("x-forwarded-for"):
        return None
    return 403


def attach(app: Any, registry: CollectorRegistry, token: Optional[str]) -> None:
    """GET /metrics on `app`, under `access_refused`'s rule (no route with XIAOAN_METRICS=off)."""
    if not enabled():
        return
    from sanic import response

    async def metrics_route(request: Any) -> Any:
        refused = access_refused(request, token)
        if refused is not None:
            return response.json({"error": "unauthorized" if refused == 401 else "forbidden"}, status=refused)
        return response.raw(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_route(metrics_route, METRICS_PATH, methods=["GET"], name="xiaoan_metrics")

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
not_found, error), ``xiaoan_backoffice_seconds{operation}`` (recorded by
actions/backoffice/instrumented.py),
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

One module per job: `common` (the switch, a registry, the readiness gauges),
`rasa_server` and `action_server` (each process's metrics and what records
them), `route` (GET /metrics and who may read it). This file names their
public API as ``metrics.X`` for the runtime's modules; the modules import
one another directly, never this package.
"""
from __future__ import annotations

from xiaoan.runtime.metrics.action_server import (
    ACTION_DEPENDENCY_UP,
    ACTION_OUTCOMES,
    ACTION_READY,
    ACTION_REGISTRY,
    ACTION_SERVER_REQUESTS,
    ACTION_SERVER_SECONDS,
    BACKOFFICE_FAILURES,
    BACKOFFICE_SECONDS,
    BACKOFFICE_TIMEOUTS,
    action_served,
    backoffice_timed_out,
)
from xiaoan.runtime.metrics.common import METRICS_ENV, OTHER, UNKNOWN, enabled
from xiaoan.runtime.metrics.rasa_server import (
    ACTION_ERRORS,
    ACTION_SECONDS,
    HANDOVER_QUEUE,
    HANDOVER_WAIT,
    HANDOVERS_QUEUED,
    INTENTS,
    LOCK_FAILURES,
    LOCK_WAIT,
    MESSAGE_ERRORS,
    MESSAGES,
    NLU_FALLBACK,
    NLU_FALLBACKS,
    RASA_DEPENDENCY_UP,
    RASA_READY,
    RASA_REGISTRY,
    REPLAYED,
    REPLY_SECONDS,
    Handling,
    action_call,
    channel_of,
    handling,
    handover_claimed,
    handover_queue_length,
    handover_queued,
    intent_recognised,
    lock_failed,
    lock_waited,
    replayed,
)
from xiaoan.runtime.metrics.route import METRICS_PATH, access_refused, attach, is_loopback, supplied_token

__all__ = [
    "ACTION_DEPENDENCY_UP", "ACTION_OUTCOMES", "ACTION_READY", "ACTION_REGISTRY", "ACTION_SERVER_REQUESTS",
    "ACTION_SERVER_SECONDS", "BACKOFFICE_FAILURES", "BACKOFFICE_SECONDS", "BACKOFFICE_TIMEOUTS", "action_served",
    "backoffice_timed_out",
    "METRICS_ENV", "OTHER", "UNKNOWN", "enabled",
    "ACTION_ERRORS", "ACTION_SECONDS", "HANDOVER_QUEUE", "HANDOVER_WAIT", "HANDOVERS_QUEUED", "INTENTS",
    "LOCK_FAILURES", "LOCK_WAIT", "MESSAGE_ERRORS", "MESSAGES", "NLU_FALLBACK", "NLU_FALLBACKS",
    "RASA_DEPENDENCY_UP", "RASA_READY", "RASA_REGISTRY", "REPLAYED", "REPLY_SECONDS", "Handling", "action_call",
    "channel_of", "handling", "handover_claimed", "handover_queue_length", "handover_queued", "intent_recognised",
    "lock_failed", "lock_waited", "replayed",
    "METRICS_PATH", "access_refused", "attach", "is_loopback", "supplied_token",
]

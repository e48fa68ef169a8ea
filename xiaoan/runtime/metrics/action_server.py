"""The action server's metrics (`ACTION_REGISTRY`): its /webhook calls by outcome and the
back-office calls behind them (timed by actions/backoffice/instrumented.py)."""
from __future__ import annotations

from typing import Optional

from prometheus_client import Counter, Histogram

from xiaoan.runtime.metrics.common import CALL_BUCKETS, UNKNOWN, enabled, new_registry, readiness_gauges

ACTION_REGISTRY = new_registry()

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

ACTION_READY, ACTION_DEPENDENCY_UP = readiness_gauges(ACTION_REGISTRY)

ACTION_OUTCOMES = {200: "ok", 400: "rejected", 404: "not_found"}


def action_served(action: Optional[str], status: int, seconds: float) -> None:
    """One call of the action server's /webhook; an action it does not know is "unknown"."""
    if not enabled():
        return
    outcome = ACTION_OUTCOMES.get(status, "error")
    name = action if action and outcome != "not_found" else UNKNOWN
    ACTION_SERVER_SECONDS.labels(name).observe(seconds)
    ACTION_SERVER_REQUESTS.labels(name, outcome).inc()


def backoffice_timed_out() -> None:
    if enabled():
        BACKOFFICE_TIMEOUTS.inc()

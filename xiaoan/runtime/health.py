"""Liveness and readiness of 小安's servers: ``/health/live`` and ``/health/ready``.

*Live* means the process answers HTTP: its event loop turns. The supervisor's
health watch (`ops/healthwatch.py`) restarts a process that stops answering.

*Ready* means it can serve a user now. For a Rasa server:

* ``model``: the model is loaded (the agent has a processor);
* ``tracker_store``: the conversation store answers a ``SELECT 1`` (SQL) or
  a ``PING`` (Redis);
* ``lock_store``: the Redis lock store answers ``PING`` (the in-memory
  store of a single server always does);
* ``action_server``: the action server's ``/health`` answers.

For the action server: the checks its own code registers with
`register_action_server_check` when the action server loads it (actions/readiness.py:
``back_office``, a lookup of a ticket that cannot exist comes back, empty); the runtime never
imports the actions. Checks run every ``XIAOAN_READINESS_INTERVAL_S``
(2 s) in the background, each with a time limit
(``XIAOAN_READINESS_TIMEOUT_S``, 5 s) and never two of one kind at once;
``/health/ready`` answers from the last round: 200 ``{"status": "ready"}``
or 503 ``{"status": "not_ready" | "starting", "checks": {...}}``, each check
with ``ok``, what failed (an error's class name, never its text: an error
text can carry an address or a user name) and how long it took. Neither
route needs the API token: they say nothing about a conversation.

An error (connection refused or reset, a failed login) fails a check at
once. Slowness does not, by itself: a server busy with many conversations
notices a finished check late, and a busy server that declared itself not
ready would turn a load peak into an outage. A check fails for slowness only
after two rounds in a row without an answer (10 s and more).

nginx's health watch takes a server that is not ready out of the rotation
(ops/healthwatch.py). Until it has, the Rasa server refuses messages itself
while a part it cannot answer without fails with an error (model, tracker
store, lock store): ``POST /webhooks/…`` gets 503 at once, before anything is
read or stored, so nginx sends the message to another server, instead of a
server that would answer from an empty conversation or not store it. An
action server that is down does not stop messages: the busy answer covers it
(xiaoan/runtime/busy.py), and every server would be equally affected.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional

from xiaoan.runtime.logs import log_event

logger = logging.getLogger(__name__)

LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
INTERVAL_ENV = "XIAOAN_READINESS_INTERVAL_S"
TIMEOUT_ENV = "XIAOAN_READINESS_TIMEOUT_S"
# Without these a Rasa server answers wrongly (no model, no conversation, no lock): messages refused.
SERVING_CHECKS = ("model", "tracker_store", "lock_store")
RETRY_AFTER_S = "5"
SLOW_ROUNDS = 2  # rounds in a row without an answer before slowness fails a check

Check = Callable[[], Awaitable[Optional[str]]]  # raises if failing; may return a note ("in memory")


def _seconds(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable) or default)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class CheckResult:
    ok: bool
    detail: str
    ms: float
    error: bool = False  # failed with an error (not for slowness): the server cannot serve

    def as_dict(self) -> Dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "ms": self.ms}


class Readiness:
    """Runs named checks in rounds and keeps the last result of each."""

    def __init__(self, checks: Dict[str, Check], timeout: Optional[float] = None,
                 on_result: Optional[Callable[[str, bool], None]] = None,
                 on_ready: Optional[Callable[[bool], None]] = None) -> None:
        self.checks = checks
        self.timeout = timeout or _seconds(TIMEOUT_ENV, 5.0)
        self.results: Dict[str, CheckResult] = {}
        self._slow_rounds: Dict[str, int] = {}
        self.checked_at: Optional[float] = None
        self._running: Dict[str, "asyncio.Task[Optional[str]]"] = {}
        self._on_result = on_result
        self._on_ready = on_ready
        self._last_ready: Optional[bool] = None

    @property
    def ready(self) -> bool:
        return self.checked_at is not None and all(result.ok for result in self.results.values())

    def failing(self) -> list:
        return sorted(name for name, result in self.results.items() if not result.ok)

    def refuses_messages(self) -> bool:
        """True when a part a message cannot do without failed with an error in the last round."""
        return any(self.results[name].error for name in SERVING_CHECKS if name in self.results)

    async def _one(self, name: str, check: Check) -> CheckResult:
        started = time.perf_counter()
        task = self._running.get(name)
        if task is None or task.done():  # never two checks of one kind at once (a hung database)
            task = asyncio.ensure_future(check())
            self._running[name] = task
        try:
            note = await asyncio.wait_for(asyncio.shield(task), self.timeout)
            result = CheckResult(True, note or "ok", 0.0)
            self._slow_rounds[name] = 0
        except asyncio.TimeoutError:
            self._slow_rounds[name] = self._slow_rounds.get(name, 0) + 1
            if self._slow_rounds[name] >= SLOW_ROUNDS:
                result = CheckResult(False, f"no answer for {self._slow_rounds[name]} rounds of {self.timeout:g} s", 0.0)
            else:  # one slow round: a busy server, most likely; the last result stands
                previous = self.results.get(name)
                result = CheckResult(previous.ok if previous else True, "slow answer", 0.0,
                                     previous.error if previous else False)
        except Exception as error:  # noqa: BLE001 - the class says what failed; the text may hold an address
            result = CheckResult(False, type(error).__name__, 0.0, error=True)
            self._slow_rounds[name] = 0
        result.ms = round((time.perf_counter() - started) * 1000, 1)
        return result

    async def check_once(self) -> bool:
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(name, self.checks[name]) for name in names))
        before = {name: result.ok for name, result in self.results.items()}
        self.results = dict(zip(names, results))
        self.checked_at = time.time()
        for name, result in self.results.items():
            if self._on_result is not None:
                self._on_result(name, result.ok)
            if before.get(name, True) != result.ok:
                log_event(logger, logging.INFO if result.ok else logging.WARNING,
                          "readiness.check_changed", check=name, ok=result.ok, detail=result.detail)
        ready = self.ready
        if self._on_ready is not None:
            self._on_ready(ready)
        if ready != self._last_ready:
            log_event(logger, logging.INFO if ready else logging.WARNING, "readiness.changed",
                      ready=ready, failing=self.failing())
            self._last_ready = ready
        return ready

    async def run(self, interval: Optional[float] = None) -> None:
        pause = interval or _seconds(INTERVAL_ENV, 2.0)
        while True:
            try:
                await self.check_once()
            except Exception:  # noqa: BLE001 - a broken round must not end the checking
                logger.exception("readiness round failed")
            await asyncio.sleep(pause)

    def report(self) -> "tuple[int, Dict[str, Any]]":
        """(HTTP status, body) for /health/ready."""
        if self.checked_at is None:
            return 503, {"status": "starting", "checks": {}}
        body = {
            "status": "ready" if self.ready else "not_ready",
            "checks": {name: result.as_dict() for name, result in self.results.items()},
            "checked_at": round(self.checked_at, 3),
        }
        return (200 if self.ready else 503), body


# ------------------------------------------------------------------ checks

async def in_thread(function: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function)


def primary_tracker_store(store: Any) -> Any:
    """Rasa wraps the configured store in a FailSafeTrackerStore, which would hide its failures."""
    return getattr(store, "_tracker_store", store)


async def check_store(store: Any) -> Optional[str]:
    """A SQL store answers SELECT 1, a Redis store PING; anything else lives in memory."""
    engine = getattr(store, "engine", None)
    if engine is not None:
        def select_one() -> None:
            import sqlalchemy

            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))

        await in_thread(select_one)
        return None
    client = getattr(store, "red", None)
    if client is not None:
        await in_thread(client.ping)
        return None
    return "in memory"


def action_server_health_url(endpoint: Any) -> Optional[str]:
    url = getattr(endpoint, "url", None) if endpoint is not None else None
    if not url:
        return None
    base = str(url).rstrip("/")
    if base.endswith("/webhook"):
        base = base[: -len("/webhook")]
    return base + "/health"


def rasa_checks(app: Any, session: Callable[[], Any]) -> Dict[str, Check]:
    def agent() -> Any:
        return getattr(app.ctx, "agent", None)

    async def model() -> Optional[str]:
        current = agent()
        if current is None or not current.is_ready():
            raise RuntimeError("model not loaded")
        return None

    async def tracker_store() -> Optional[str]:
        current = agent()
        if current is None or current.tracker_store is None:
            raise RuntimeError("no tracker store")
        return await check_store(primary_tracker_store(current.tracker_store))

    async def lock_store() -> Optional[str]:
        current = agent()
        if current is None or current.lock_store is None:
            raise RuntimeError("no lock store")
        return await check_store(current.lock_store)

    async def action_server() -> Optional[str]:
        current = agent()
        url = action_server_health_url(getattr(current, "action_endpoint", None))
        if url is None:
            return "not configured"
        async with session().get(url) as answer:
            if answer.status != 200:
                raise RuntimeError(f"HTTP {answer.status}")
        return None

    return {"model": model, "tracker_store": tracker_store, "lock_store": lock_store,
            "action_server": action_server}


_ACTION_SERVER_CHECKS: Dict[str, Check] = {}


def register_action_server_check(name: str, check: Check) -> None:
    """Adds a readiness check of the action server (by name: registering a name again replaces it).

    The action server's own code registers what it depends on when rasa-sdk loads it, before the
    plugin hook builds ``/health/ready`` (actions/readiness.py): the runtime knows no action code.
    """
    _ACTION_SERVER_CHECKS[name] = check


def action_server_checks() -> Dict[str, Check]:
    """The checks registered so far (none registered: ready as soon as it answers)."""
    return dict(_ACTION_SERVER_CHECKS)


# ------------------------------------------------------------------ routes

def attach(app: Any, readiness: Readiness, gate_messages: bool = False) -> None:
    """/health/live and /health/ready on `app`, the checks in the background while it serves."""
    from sanic import response

    started = time.time()

    async def live(_request: Any) -> Any:
        return response.json({"status": "live", "uptime_s": round(time.time() - started, 1)})

    async def ready(_request: Any) -> Any:
        status, body = readiness.report()
        return response.json(body, status=status)

    app.add_route(live, LIVE_PATH, methods=["GET"], name="xiaoan_health_live")
    app.add_route(ready, READY_PATH, methods=["GET"], name="xiaoan_health_ready")

    async def start_checking(running_app: Any, _loop: Any) -> None:
        running_app.ctx.xiaoan_readiness = asyncio.ensure_future(readiness.run())

    async def stop_checking(running_app: Any, _loop: Any) -> None:
        task = getattr(running_app.ctx, "xiaoan_readiness", None)
        if task is not None:
            task.cancel()

    app.register_listener(start_checking, "after_server_start")
    app.register_listener(stop_checking, "before_server_stop")

    if gate_messages:
        async def refuse_when_not_ready(request: Any) -> Any:
            if request.method == "POST" and request.path.startswith("/webhooks/") and readiness.refuses_messages():
                return response.json(
                    {"status": "not_ready", "failing": readiness.failing()}, status=503,
                    headers={"Retry-After": RETRY_AFTER_S},
                )
            return None

        app.register_middleware(refuse_when_not_ready, "request")

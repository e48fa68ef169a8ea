"""What operations needs on every server's app: ``/health/*``, ``/metrics``, JSON logs.

`xiaoan.runtime.install()` registers it:

* **Rasa server**: Rasa builds its Sanic app in `rasa.core.run.configure_app`
  and offers no hook to add to it, so that one function is wrapped: the app
  it returns gets the health routes, the readiness checks and the message
  gate (`xiaoan.runtime.health`) and ``/metrics`` (`xiaoan.runtime.metrics`)
  behind the HTTP API's token. Without ``--auth-token`` the token may come
  from the file named by ``XIAOAN_AUTH_TOKEN_FILE`` (`make scale` does this,
  so the token is in no command line that ``ps`` shows).
* **action server**: rasa-sdk's own plugin hook
  (``attach_sanic_app_extensions``) gets the same routes, the back-office
  readiness check and a timing of every ``/webhook`` call. ``/metrics``
  needs the token of ``XIAOAN_AUTH_TOKEN_FILE`` when one is set, otherwise
  a caller on this machine.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import time
import zlib
from typing import Any, Dict, Optional

import pluggy

import xiaoan.runtime.action_key as action_key
import xiaoan.runtime.health as health
import xiaoan.runtime.logs as logs
import xiaoan.runtime.metrics as metrics

_hookimpl = pluggy.HookimplMarker("rasa_sdk")
logger = logging.getLogger("xiaoan.actions")

TOKEN_FILE_ENV = "XIAOAN_AUTH_TOKEN_FILE"


def token_from_file() -> Optional[str]:
    path = os.environ.get(TOKEN_FILE_ENV)
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip() or None


class _HttpSession:
    """One aiohttp session per server for the readiness checks, made on the server's loop."""

    def __init__(self) -> None:
        self._session: Any = None

    def __call__(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=health._seconds(health.TIMEOUT_ENV, 5.0))
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def close(self, *_: Any) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


# ------------------------------------------------------------------ Rasa server

def attach_rasa_server(app: Any, token: Optional[str]) -> None:
    logs.use_json_for_sanic()
    session = _HttpSession()
    readiness = health.Readiness(
        health.rasa_checks(app, session),
        on_result=lambda name, ok: metrics.RASA_DEPENDENCY_UP.labels(name).set(int(ok)),
        on_ready=lambda ready: metrics.RASA_READY.set(int(ready)),
    )
    app.ctx.xiaoan_readiness_state = readiness
    health.attach(app, readiness, gate_messages=True)
    app.register_listener(session.close, "after_server_stop")
    metrics.attach(app, metrics.RASA_REGISTRY, token)
    if os.environ.get(LOCAL_IDENTITY_ENV):
        app.register_middleware(loopback_only, "request")


LOCAL_IDENTITY_ENV = "XIAOAN_LOCAL_IDENTITY"
LOOPBACK = ("127.0.0.1", "::1")


async def loopback_only(request: Any) -> Any:
    """A server that speaks as a local identity (`make shell` / `make interactive ID=…`) answers this machine only.

    `rasa interactive` listens on every interface (Rasa hard-codes 0.0.0.0) with its API open; with a verified
    identity in its environment, anyone on the network could have read that customer's records through it.
    The peer is the TCP peer (`request.conn_info`): such a server never sits behind a proxy.
    """
    peer = getattr(getattr(request, "conn_info", None), "client_ip", None) or ""
    if peer not in LOOPBACK:
        from sanic import response

        logs.log_event(logger, logging.WARNING, "request.refused", reason="local identity, remote peer")
        return response.json({"error": "this server answers its own machine only"}, status=403)
    return None


def install_rasa_server() -> None:
    """Wraps `rasa.core.run.configure_app` (called by `serve_application`, i.e. `rasa run`, `rasa shell`)."""
    import rasa.core.run

    original = rasa.core.run.configure_app
    if hasattr(original, "xiaoan_original"):
        return
    signature = inspect.signature(original)

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if not bound.arguments.get("auth_token"):
            bound.arguments["auth_token"] = token_from_file()
        app = original(*bound.args, **bound.kwargs)
        attach_rasa_server(app, bound.arguments.get("auth_token"))
        return app

    configure_app.xiaoan_original = original  # type: ignore[attr-defined]
    configure_app.__doc__ = original.__doc__
    rasa.core.run.configure_app = configure_app  # type: ignore[assignment]


# ------------------------------------------------------------------ action server

def _action_call(request: Any) -> Dict[str, Any]:
    """The /webhook body (plain or deflated JSON), or {} if it cannot be read."""
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            body = json.loads(zlib.decompress(request.body))
        else:
            body = request.json
    except Exception:  # noqa: BLE001 - the handler answers a bad body itself
        return {}
    return body if isinstance(body, dict) else {}


def attach_action_server(app: Any) -> None:
    logs.use_json_for_sanic()
    readiness = health.Readiness(
        health.action_server_checks(),
        on_result=lambda name, ok: metrics.ACTION_DEPENDENCY_UP.labels(name).set(int(ok)),
        on_ready=lambda ready: metrics.ACTION_READY.set(int(ready)),
    )
    health.attach(app, readiness)
    metrics.attach(app, metrics.ACTION_REGISTRY, token_from_file())

    async def only_from_rasa(request: Any) -> Any:
        """An action call without the deployment's key (xiaoan/runtime/action_key.py) is refused: 401."""
        if request.path.rstrip("/") == "/webhook" and not action_key.is_from_rasa(request.headers.get(action_key.HEADER)):
            from sanic import response

            logs.log_event(logger, logging.WARNING, "action.refused", reason="no action key",
                           address=getattr(request, "remote_addr", None) or getattr(request, "ip", None))
            return response.json({"error": "unauthorized"}, status=401)
        return None

    async def started(request: Any) -> None:
        if request.path == "/webhook":
            request.ctx.xiaoan_started = time.perf_counter()

    async def finished(request: Any, response: Any) -> None:
        began = getattr(request.ctx, "xiaoan_started", None)
        if began is None:
            return
        seconds = time.perf_counter() - began
        call = _action_call(request)
        action = call.get("next_action") if isinstance(call.get("next_action"), str) else None
        metrics.action_served(action, response.status, seconds)
        tracker = call.get("tracker") if isinstance(call.get("tracker"), dict) else {}
        outcome = metrics.ACTION_OUTCOMES.get(response.status, "error")
        logs.log_event(
            logger, logging.ERROR if outcome == "error" else logging.INFO, "action.served",
            conversation_id=tracker.get("sender_id"), action=action if outcome != "not_found" else metrics.UNKNOWN,
            outcome=outcome, status=response.status, duration_ms=round(seconds * 1000, 1),
        )

    action_key.shared_key()  # made (or read) at start-up, not on the first call
    app.register_middleware(only_from_rasa, "request")
    app.register_middleware(started, "request")
    app.register_middleware(finished, "response")


class ActionServerPlugin:
    """rasa-sdk's plugin hook: called with the action server's app before it runs."""

    @_hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        attach_action_server(app)


def install_action_server() -> None:
    from rasa_sdk.plugin import plugin_manager

    manager = plugin_manager()
    if manager.get_plugin("xiaoan") is None:
        manager.register(ActionServerPlugin(), name="xiaoan")

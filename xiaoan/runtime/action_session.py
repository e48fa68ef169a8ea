"""One pool of HTTP connections to the action server for the Rasa server's life.

Why: Rasa's `EndpointConfig.request` opens a new aiohttp session, and so a new
TCP connection, for every action call, and every message makes at least one
(`action_validate_slot_mappings`): the connection set-up and tear-down on
both servers was measurable CPU per message (docs/benchmarks.md, "Lean path").
This endpoint hands `request` a shared session whose connections are kept
alive, for a shorter time than the action server keeps them (so a reused
connection is never one the server is closing), and is otherwise Rasa's
EndpointConfig: same URL, headers (the action key), token and timeout.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

import aiohttp
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

# Sanic closes an idle keep-alive connection after 5 s by default (SANIC_KEEP_ALIVE_TIMEOUT; make run sets 75).
KEEPALIVE_S = 4.0


class _Borrowed:
    """`async with` over a shared session that does not close it on exit."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc: Any) -> None:
        return None


class KeepAliveEndpoint(EndpointConfig):
    """Rasa's EndpointConfig whose `session()` is one shared, kept-alive session per event loop."""

    _sessions: Dict[int, aiohttp.ClientSession]

    @classmethod
    def of(cls, endpoint: Optional[EndpointConfig]) -> Optional["KeepAliveEndpoint"]:
        """The same endpoint (URL, params, headers, auth, token, certificate) with kept-alive connections."""
        if endpoint is None or isinstance(endpoint, KeepAliveEndpoint):
            return endpoint
        return cls(endpoint.url, endpoint.params, endpoint.headers, endpoint.basic_auth, endpoint.token,
                   endpoint.token_name, endpoint.cafile, **endpoint.kwargs)

    def session(self) -> Any:  # type: ignore[override]
        sessions = self.__dict__.setdefault("_sessions", {})
        loop = asyncio.get_running_loop()
        session = sessions.get(id(loop))
        if session is None or session.closed:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) \
                if self.basic_auth else None
            session = aiohttp.ClientSession(
                headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S))
            sessions[id(loop)] = session
        return _Borrowed(session)

    def copy(self) -> "KeepAliveEndpoint":
        return KeepAliveEndpoint.of(super().copy())  # type: ignore[return-value]

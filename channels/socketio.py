"""The socket.io channel for the web chat page (web/), fixed for current python-socketio.

Rasa 3.6.21's own ``rasa.core.channels.socketio.SocketIOInput`` has two flaws
this subclass removes:

* From python-socketio 5.10 on, ``AsyncServer.enter_room`` is a coroutine that
  Rasa never awaits. With ``session_persistence: true`` the browser's socket
  then never joins its session room, and every bot reply is emitted into an
  empty room: the page shows nothing. Here the call is awaited whenever it
  returns an awaitable, so any python-socketio 5.x works.
* Rasa builds its ``AsyncServer`` with ``cors_allowed_origins=[]``, which
  switches engine.io's origin check off: any web site a merchant visits could
  open a socket to the assistant (WebSockets are not covered by CORS).
  Here the allowed browser origins come from ``credentials.yml``
  (``cors_allowed_origins``), by default the page server on this machine:
  ``http://127.0.0.1:$WEB_PORT`` and ``http://localhost:$WEB_PORT``
  (``WEB_PORT`` defaults to 8080). Clients that send no ``Origin`` header
  (scripts, tests) are not affected.

A socket is bound to its own session. Rasa lets any socket that names a
session id in ``session_request`` join that session's room (and so receive
its answers), and takes each ``user_uttered``'s ``session_id`` as the sender.
Here a ``session_request`` naming a session another live socket of this server
holds gets a fresh session id instead, and a socket's messages go to the
session it was confirmed, whatever the message names. A page reloaded after
its old socket hung up asks for its stored session id and gets it back.

Limits (issue 19, ``xiaoan/runtime/limits.py``): engine.io takes at most ``XIAOAN_SOCKETIO_MAX_BYTES``
(64 kB) in one polling POST (413) or one websocket frame (the socket is closed); a ``user_uttered``
whose text, ``customData`` or rate is over the limits is answered on ``bot_uttered`` with the reason
(``utter_too_long``, ``utter_metadata_too_large``, ``utter_too_fast``) and never reaches Rasa: the
page shows the user why, where a silent drop would look like a broken assistant. The per-address rate
counts the socket's address at ``connect``.

Everything else (events, payloads, ``metadata_key``, JWT) is Rasa's behaviour.
In ``credentials.yml``::

    channels.socketio.SocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      metadata_key: customData
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Union

import rasa.core.channels.channel
import rasa.shared.utils.io
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
import engineio
from socketio import AsyncServer

from channels.staff import deliver_pending_to_session, session_holders, shares_rooms
from xiaoan.handover.store import get_store
from channels.webchat_format import WebChatOutput
import xiaoan.runtime.limits as limits

logger = logging.getLogger(__name__)

Origins = Union[str, List[str]]
MAX_SESSION_ID_CHARS = 128
# engine.io's bound on one polling POST or one websocket frame (its default is 1 MB): a message of
# XIAOAN_MAX_TEXT_CHARS characters and XIAOAN_MAX_METADATA_BYTES of customData fit many times over.
MAX_PACKET_ENV, DEFAULT_MAX_PACKET_BYTES = "XIAOAN_SOCKETIO_MAX_BYTES", 64 * 1024


def max_packet_bytes() -> int:
    raw = (os.environ.get(MAX_PACKET_ENV) or "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_PACKET_BYTES

# Sanic-CORS skips a response whose request carries this flag (sanic_cors.core).
SANIC_CORS_EVALUATED = "_sanic_cors_e"


def default_allowed_origins() -> List[str]:
    """The page server's own origins (web/serve.py binds 127.0.0.1)."""
    port = os.environ.get("WEB_PORT") or "8080"
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


def parse_allowed_origins(value: Optional[Any]) -> Origins:
    """Reads ``cors_allowed_origins`` from credentials.

    Accepts a YAML list or one string of origins separated by commas or spaces
    (so that ``${SOME_ENV_VAR}`` works). ``"*"`` allows every origin.
    Absent or empty: the page server's default origins.
    """
    if value is None:
        return default_allowed_origins()
    if isinstance(value, str):
        items = [part for part in value.replace(",", " ").split() if part]
    else:
        items = [str(part).strip() for part in value if str(part).strip()]
    if not items:
        return default_allowed_origins()
    if "*" in items:
        return "*"
    return [item.rstrip("/") for item in items]


async def enter_room(sio: AsyncServer, sid: Text, room: Text, namespace: Optional[Text]) -> None:
    """``sio.enter_room`` awaited when it is a coroutine (python-socketio >= 5.10)."""
    result = sio.enter_room(sid, room, namespace=namespace)
    if inspect.isawaitable(result):
        await result


async def note_presence(sio: AsyncServer, sid: Text, session_id: Optional[Text]) -> None:
    """With rooms shared by several servers, which sessions have a socket is kept in the shared store
    (xiaoan/handover/presence.py), so a staff reply for a closed page waits for its reconnect, on
    whichever server. One server sees its own rooms: nothing is written."""
    if not shares_rooms(sio):
        return
    store = get_store()
    try:
        if session_id is None:
            await asyncio.to_thread(store.leave, sid)
        else:
            await asyncio.to_thread(store.arrive, sid, session_id)
    except Exception:  # noqa: BLE001 - the store is down: staff replies are then emitted as before
        logger.exception("socket.io: the session's presence could not be written")


def client_manager() -> Dict[str, Any]:
    """With several Rasa servers (`make scale`), ``XIAOAN_SOCKETIO_REDIS_URL`` makes python-socketio share
    rooms through Redis, so a staff reply emitted on one server reaches a session held by another
    (channels/staff.py). One server: its own memory."""
    url = os.environ.get("XIAOAN_SOCKETIO_REDIS_URL")
    if not url:
        return {}
    from socketio import AsyncRedisManager

    return {"client_manager": AsyncRedisManager(url)}


class _EngineIOServer(engineio.AsyncServer):
    """engine.io that owns the CORS headers of its own responses and refuses big polls early.

    A polling POST over ``max_http_buffer_size`` (1 MB) makes engine.io close
    the session and wait for its send queue to drain, which needs a GET poll
    that never comes: the request hangs. It is refused with a 413 first.
    """

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request = args[0] if args else None
        if isinstance(request, Request) and request.method == "POST":
            try:
                length = int(request.headers.get("content-length") or 0)
            except ValueError:
                return response.text("Content-Length must be a number", status=400)
            if length > self.max_http_buffer_size:
                return response.text("Content is too long", status=413)
        return await super().handle_request(*args, **kwargs)

    def _cors_headers(self, environ: Dict) -> List:
        headers = super()._cors_headers(environ)
        request = environ.get("sanic.request")
        if headers and request is not None:
            setattr(request.ctx, SANIC_CORS_EVALUATED, "1")
        return headers


class _SocketIOServer(AsyncServer):
    def _engineio_server_class(self) -> type:
        return _EngineIOServer


class _BoundedSocketBlueprint(SocketBlueprint):
    """Sanic reads a whole websocket frame (up to ``WEBSOCKET_MAX_SIZE``, 1 MB) before engine.io sees it;
    bounded here like engine.io's own limit, a bigger frame closes the socket (1009) unread. The Rasa
    server serves no other websocket."""

    def register(self, app: Any, options: Dict[Text, Any]) -> None:
        limit = self.ctx.sio.eio.max_http_buffer_size
        app.config.WEBSOCKET_MAX_SIZE = min(int(app.config.get("WEBSOCKET_MAX_SIZE") or limit), limit)
        super().register(app, options)


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io input channel, with rooms that work and an origin check."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", False),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
            cors_allowed_origins=credentials.get("cors_allowed_origins"),
        )

    def __init__(
        self,
        user_message_evt: Text = "user_uttered",
        bot_message_evt: Text = "bot_uttered",
        namespace: Optional[Text] = None,
        session_persistence: bool = False,
        socketio_path: Optional[Text] = "/socket.io",
        jwt_key: Optional[Text] = None,
        jwt_method: Optional[Text] = "HS256",
        metadata_key: Optional[Text] = "metadata",
        cors_allowed_origins: Optional[Any] = None,
    ) -> None:
        super().__init__(
            user_message_evt,
            bot_message_evt,
            namespace,
            session_persistence,
            socketio_path,
            jwt_key,
            jwt_method,
            metadata_key,
        )
        self.cors_allowed_origins = parse_allowed_origins(cors_allowed_origins)
        self.sessions: Dict[Text, Text] = {}  # socket (sid) -> the session it was confirmed
        self.addresses: Dict[Text, Text] = {}  # socket (sid) -> its client's address

    def _authorised(self, auth: Optional[Dict]) -> bool:
        if not self.jwt_key:
            return True
        token = (auth or {}).get("token")
        if not token:
            return False
        payload = rasa.core.channels.channel.decode_bearer_token(
            token, self.jwt_key, self.jwt_algorithm
        )
        return bool(payload)

    def _sender_id(self, sid: Text, data: Dict) -> Optional[Text]:
        """The session this socket was confirmed; a message naming another session is not that session's."""
        if not self.session_persistence:
            return sid
        session_id = self.sessions.get(sid)
        if session_id is None or data.get("session_id") != session_id:
            rasa.shared.utils.io.raise_warning(
                "A message for a session its socket was not confirmed (no `session_request`, or another "
                "session's id) was received. This message will be ignored."
            )
            return None
        return session_id

    def _session_for(self, sid: Text, asked: Any) -> Text:
        """The session id to confirm: the one asked for, unless it is unusable or another live socket holds it."""
        if not isinstance(asked, str) or not 0 < len(asked) <= MAX_SESSION_ID_CHARS:
            return uuid.uuid4().hex
        holders = session_holders(self.sio, asked, self.namespace) - {sid}
        if holders:
            logger.warning("socket %s asked for a session another live socket holds: given a fresh one", sid)
            return uuid.uuid4().hex
        return asked

    def _metadata(self, data: Dict) -> Dict[Text, Any]:
        metadata = data.get(self.metadata_key) or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:  # not JSON: no metadata, as for any other shape that is not an object
                return {}
        return metadata if isinstance(metadata, dict) else {}

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Wires the socket.io events to Rasa."""
        # engine.io itself answers CORS for the socket.io path and refuses
        # browser origins that are not listed.
        sio = _SocketIOServer(async_mode="sanic", cors_allowed_origins=self.cors_allowed_origins,
                              max_http_buffer_size=max_packet_bytes(), **client_manager())
        socketio_webhook = _BoundedSocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        logger.debug(f"socket.io channel allows origins: {self.cors_allowed_origins}")

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            accepted = self._authorised(auth)
            if accepted:  # whom the per-address rate counts (xiaoan/runtime/limits.py)
                self.addresses[sid] = limits.request_address((environ or {}).get("sanic.request"))
            logger.debug(f"User {sid} {'connected' if accepted else 'refused'} (socket.io).")
            return accepted

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text, *_: Any) -> None:
            had_session = self.sessions.pop(sid, None)  # socket.io takes the socket out of its rooms itself
            self.addresses.pop(sid, None)
            if had_session is not None:
                await note_presence(sio, sid, None)
            logger.debug(f"User {sid} disconnected from socketIO endpoint.")

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = self._session_for(sid, data.get("session_id"))
            if self.session_persistence:
                previous = self.sessions.get(sid)
                if previous is not None and previous != session_id:
                    result = sio.leave_room(sid, previous, namespace=self.namespace)
                    if inspect.isawaitable(result):
                        await result
                self.sessions[sid] = session_id
                await enter_room(sio, sid, session_id, self.namespace)
                # before the page hears it is confirmed: a reply written from then on is emitted, not kept
                await note_presence(sio, sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug(f"User {sid} joined session {session_id}.")
            if self.session_persistence:  # what staff wrote while the page was closed (channels/staff.py)
                await deliver_pending_to_session(self, session_id)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Dict) -> None:
            data = data if isinstance(data, dict) else {}
            sender_id = self._sender_id(sid, data)
            if sender_id is None:
                return
            output = WebChatOutput(sio, self.bot_message_evt)
            message = UserMessage(
                data.get("message", ""),
                output,
                sender_id,
                input_channel=self.name(),
                metadata=self._metadata(data),
            )
            limits.note_address(message, self.addresses.get(sid))
            refusal = await limits.gate(message)  # before Rasa's lock: a flood never queues for it
            if refusal is not None:  # too long, too big, too fast: the page shows why; nothing runs
                await output.send_text_message(sender_id, refusal.text)
                return
            await on_new_message(message)

        return socketio_webhook

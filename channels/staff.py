"""The staff side of a conversation, inside the Rasa server: pause, say, resume, and deliver on the user's channel.

The console (console/) never writes a tracker itself. It calls
``POST /webhooks/staff/act`` on a Rasa server, which under the conversation's
lock (the lock store: Redis in scale-out, so any server will do) appends

* ``ConversationPaused`` when a person takes the conversation,
* ``SlotSet`` for what the person corrected (e.g. the amount),
* one ``BotUttered`` per message, with metadata ``{"from": "staff" | "bot",
  "staff_id", "staff_message_id"}`` (a message id already in the tracker is
  not appended again, so the console can safely retry),
* ``ConversationResumed`` when the person hands back or closes, and ``action_listen`` (the pause
  stopped Rasa before it listened; the bot then takes the next message as any other),

saves the tracker, and then delivers each message on the channel the user
last wrote on:

* **socketio**: emitted to the session's room (the page marks it as from a
  person through rasa-webchat's ``metadata.customCss``); nobody in the room
  (the page is closed): ``pending``, sent when the session reconnects, on any
  server (channels/socketio.py). With several servers the rooms are shared
  through Redis and who is present through the store (``ho_presence``);
* **wechat**: the customer-service API, inside WeChat's 48 hours after the
  user's last message; outside them (or WeChat's 45015) ``window_closed``: the
  message stays on the ticket, the console says so, and the user's next
  message, which opens the window again, takes it (`wechat_waiting`);
* **rest** (and anything else): ``pending``; a client waiting on the pull door
  gets it at once (channels/rest_pull.py), else the answer to the user's next
  message carries it (channels/rest.py).

Each message's outcome is written to the shared store (``ho_messages``) and
returned. The route takes the Rasa API's token (``RASA_AUTH_TOKEN`` /
``XIAOAN_AUTH_TOKEN_FILE``) as a bearer token, always: without one configured
it refuses every call (an address proves nothing behind a proxy).
"""
from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, ConversationResumed, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import channels.rest_pull as rest_pull
from channels.staff_notices import marked_for_wechat, wechat_texts
from channels.webchat_format import as_markdown
from xiaoan.handover.store import get_store

logger = logging.getLogger(__name__)

WECHAT_WINDOW_S = 48 * 3600
WECHAT_OUT_OF_WINDOW = 45015  # "response out of time limit or subscription is canceled"
STAFF_CSS = {"style": "class", "css": "xiaoan-staff"}
NOTICE_KINDS = ("joined", "handed_back", "closed")


def api_token() -> Optional[str]:
    from xiaoan.runtime.operations import token_from_file

    return os.environ.get("RASA_AUTH_TOKEN") or token_from_file()


def authorised(request: Request, token: Optional[str]) -> bool:
    """Only with the API's token. Never by address: behind a proxy (make scale's nginx) every caller is loopback."""
    if not token:
        return False
    given = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def appended_ids(tracker: DialogueStateTracker) -> set:
    return {(e.metadata or {}).get("staff_message_id") for e in tracker.events if isinstance(e, BotUttered)}


def last_user_time(tracker: DialogueStateTracker) -> Optional[float]:
    latest = tracker.latest_message
    if latest is None or latest.timestamp is None:
        return None
    for event in reversed(tracker.events):
        if getattr(event, "type_name", "") == "user":
            return event.timestamp
    return None


class StaffInput(InputChannel):
    """`staff`: the console's way into a conversation (no user ever talks on it)."""

    @classmethod
    def name(cls) -> Text:
        return "staff"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        hook = Blueprint("custom_webhook_StaffInput", module.__name__ if module else None)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/act", methods=["POST"])
        async def act(request: Request) -> HTTPResponse:
            if not authorised(request, api_token()):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else None
            conversation_id = (body or {}).get("conversation_id")
            if not isinstance(conversation_id, str) or not conversation_id:
                return response.json({"error": "conversation_id"}, status=400)
            try:
                return response.json(await self._act(request, conversation_id, body or {}))
            except Exception:  # noqa: BLE001 - the console reports it as not delivered
                logger.exception("staff: acting on a conversation failed")
                return response.json({"error": "failed"}, status=500)

        return hook

    async def _act(self, request: Request, conversation_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
        agent = request.app.ctx.agent
        wanted: List[Dict[str, Any]] = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("id")]
        slot_names = {slot.name for slot in agent.domain.slots}
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.processor.get_tracker(conversation_id)
            events: List[Any] = []
            if body.get("pause") and not tracker.is_paused():
                events.append(ConversationPaused())
            for name, value in (body.get("slots") or {}).items():
                if name in slot_names:
                    events.append(SlotSet(name, value))
            present = appended_ids(tracker)
            for message in wanted:
                if message["id"] in present:
                    continue
                events.append(BotUttered(
                    text=str(message.get("text") or ""),
                    data={"custom": {"from": message.get("from", "staff")}} if message.get("from") == "staff" else {},
                    metadata={"from": message.get("from", "staff"), "staff_id": message.get("staff_id"),
                              "staff_message_id": message["id"], "kind": message.get("kind", "staff")},
                ))
            if body.get("resume") and (tracker.is_paused() or any(isinstance(e, ConversationPaused) for e in events)):
                events.append(ConversationResumed())
                # The pause stopped Rasa before it listened: without this the next message would follow the
                # hand-over action itself (the policies fall back and run it again).
                if tracker.latest_action_name != ACTION_LISTEN_NAME:
                    events.append(ActionExecuted(ACTION_LISTEN_NAME))
            for event in events:
                tracker.update(event)
            if events:
                await agent.tracker_store.save(tracker)
        channel = tracker.get_latest_input_channel() or body.get("channel")  # the queue's, before a first message
        outcomes = []
        for message in wanted:
            status, detail = await self._deliver(request, tracker, channel, message)
            await asyncio.to_thread(get_store().set_status, message["id"], status, detail)
            outcomes.append({"id": message["id"], "status": status, "detail": detail})
        if any(o["status"] == "pending" for o in outcomes):
            rest_pull.wake(conversation_id)  # a REST client waiting on this server gets it now
            if channel == "socketio":
                await self._reconnected_meanwhile(request, conversation_id)
        return {"paused": tracker.is_paused(), "channel": channel, "messages": outcomes}

    async def _reconnected_meanwhile(self, request: Request, session_id: str) -> None:
        """A page that reconnected (on any server) between the presence check and the pending mark took
        nothing: if it is present now, its messages go to it now (taken once, whoever takes them)."""
        channels = {c.name(): c for c in getattr(request.app.ctx, "input_channels", None) or []}
        socket_channel = channels.get("socketio")
        sio = getattr(socket_channel, "sio", None)
        if sio is None or session_present(sio, session_id, socket_channel.namespace) is not None:
            return  # one server sees its own rooms exactly: the check was not racing another server
        if await asyncio.to_thread(get_store().present, session_id):
            await deliver_pending_to_session(socket_channel, session_id)

    async def _deliver(self, request: Request, tracker: DialogueStateTracker, channel: Optional[str],
                       message: Dict[str, Any]) -> "tuple[str, Optional[str]]":
        channels = {c.name(): c for c in getattr(request.app.ctx, "input_channels", None) or []}
        if channel == "socketio" and "socketio" in channels:
            return await emit_to_session(channels["socketio"], tracker.sender_id, message)
        if channel == "wechat" and "wechat" in channels:
            return await send_on_wechat(channels["wechat"], tracker, message)
        return "pending", "next_reply"


def _socket_payload(message: Dict[str, Any]) -> Dict[str, Any]:
    # Staff type plain text; the widget renders Markdown: shown as typed, line by line (channels/webchat_format.py)
    payload: Dict[str, Any] = {"text": as_markdown(message.get("text") or "")}
    if message.get("from") == "staff":
        payload["metadata"] = {"customCss": STAFF_CSS, "from": "staff", "staff_id": message.get("staff_id")}
    return payload


def session_holders(sio: Any, room: str, namespace: Optional[str]) -> set:
    """The sockets of this server in the session's room (a message queue's other servers are not seen)."""
    return set((sio.manager.rooms.get(namespace or "/") or {}).get(room) or {})


def session_present(sio: Any, room: str, namespace: Optional[str]) -> Optional[bool]:
    """Whether a socket is in the session's room on this server; None when a message queue spreads rooms
    over several servers (this server cannot see the others' rooms)."""
    if shares_rooms(sio):
        return None
    return bool((sio.manager.rooms.get(namespace or "/") or {}).get(room))


def shares_rooms(sio: Any) -> bool:
    """Whether rooms are spread over several servers (a message queue): then presence is the shared store's."""
    return type(sio.manager).__name__ not in ("AsyncManager", "Manager")


async def emit_to_session(channel: Any, session_id: str, message: Dict[str, Any]) -> "tuple[str, Optional[str]]":
    sio = getattr(channel, "sio", None)
    if sio is None:
        return "pending", "next_connect"
    present = session_present(sio, session_id, channel.namespace)
    if present is None:  # several servers: is a socket of this session on any of them (ho_presence)?
        if not await asyncio.to_thread(get_store().present, session_id):
            return "pending", "next_connect"
    if present is False:
        return "pending", "next_connect"
    await sio.emit(channel.bot_message_evt, _socket_payload(message), room=session_id, namespace=channel.namespace)
    return "delivered", "socketio" if present else "socketio_queue"


async def deliver_pending_to_session(channel: Any, session_id: str) -> int:
    """Messages staff wrote while the page was closed, sent when its session comes back (on any server:
    the store is shared), each once, oldest first."""
    try:
        waiting = await asyncio.to_thread(get_store().take_pending, session_id)
    except Exception:  # noqa: BLE001 - the store is down: they stay pending for the next time
        logger.exception("staff: pending messages could not be read")
        return 0
    for message in waiting:
        payload = {"text": message["text"], "from": "staff" if message["kind"] == "staff" else "bot",
                   "staff_id": message["staff_no"]}
        await channel.sio.emit(channel.bot_message_evt, _socket_payload(payload), room=session_id,
                               namespace=channel.namespace)
    return len(waiting)


async def wechat_waiting(openid: str) -> List[str]:
    """What staff wrote that has not reached this WeChat user (WeChat's 48-hour window was closed, or it is
    pending): taken once, now that their message opened the window again, as the texts to send first."""
    try:
        waiting = await asyncio.to_thread(get_store().take_pending, openid, ("pending", "window_closed"),
                                          "wechat_next_message")
    except Exception:  # noqa: BLE001 - the store is down: they wait for the next message
        logger.exception("wechat: waiting staff messages could not be read")
        return []
    return wechat_texts(waiting)


async def send_on_wechat(channel: Any, tracker: DialogueStateTracker, message: Dict[str, Any]) -> "tuple[str, Optional[str]]":
    last = last_user_time(tracker)
    if last is None or time.time() - last > WECHAT_WINDOW_S:
        return "window_closed", "wechat_48h"
    text = message.get("text") or ""
    if message.get("from") == "staff":
        text = marked_for_wechat(text, str(message.get("staff_id") or ""))
    errcode = await channel.delivery.deliver(tracker.sender_id, text)
    if errcode == 0:
        return "delivered", "wechat_api"
    if errcode == WECHAT_OUT_OF_WINDOW:
        return "window_closed", "wechat_45015"
    return "not_delivered", f"wechat_errcode_{errcode}"

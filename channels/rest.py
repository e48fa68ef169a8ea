"""Rasa's REST channel, with the request checked before Rasa reads it.

Rasa 3.6's `RestInput` calls `request.json.get(...)` on whatever arrives, so an
empty body or a JSON list, string or number is a 500, a non-string message can
leave a streamed request hanging, and a failure or a client that hangs up is
logged with the raw text (which may hold a card number). This channel keeps
Rasa's route (`/webhooks/rest/webhook`), its JSON contract and its streaming
mode, answers malformed requests with a 4xx and a short reason, and logs a
failure without the text (the reasons are responses of domain.yml,
``utter_rest_*``). It only translates the protocol: the text goes to
Rasa as sent, and the runtime's ingress (`xiaoan.runtime.ingress`) masks it
before anything parses, logs or stores it. An optional ``message_id`` (the
client's id for the message) makes a retry safe: the same id is answered from
the stored replies instead of being processed again.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

import channels.rest_pull as rest_pull
from channels.staff_notices import rest_messages
from xiaoan import content
from xiaoan.handover.store import get_store
import xiaoan.runtime.limits as limits
from xiaoan.runtime.ingress import reads_back

logger = logging.getLogger(__name__)


MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGE_ID_CHARS = 128

Problem = Tuple[int, str]


def _refused(status: int, reason: str, **values: Any) -> Tuple[Problem, None]:
    """A 4xx and its reason: `reason` names a response of domain.yml (utter_rest_*)."""
    return (status, content.render(reason, **values)), None


def check_body(raw: bytes) -> Tuple[Optional[Problem], Optional[Dict[str, Any]]]:
    """(problem, payload): exactly one is None."""
    if len(raw) > MAX_BODY_BYTES:
        return _refused(413, "utter_rest_too_large")
    try:
        payload = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        return _refused(400, "utter_rest_not_json")
    if not isinstance(payload, dict):
        return _refused(400, "utter_rest_not_object")
    message, sender, metadata = payload.get("message"), payload.get("sender"), payload.get("metadata")
    if not isinstance(message, str):
        return _refused(400, "utter_rest_not_text", field="message")
    if sender is not None and not isinstance(sender, (str, int)) or isinstance(sender, bool):
        return _refused(400, "utter_rest_not_text", field="sender")
    if metadata is not None and not isinstance(metadata, dict):
        return _refused(400, "utter_rest_metadata_not_object")
    too_big = limits.size_refusal(message, metadata)  # the same limits as every channel (xiaoan/runtime/limits.py)
    if too_big is not None:
        return (too_big.status, too_big.text), None
    message_id = payload.get("message_id")
    if message_id is not None:
        if isinstance(message_id, bool) or not isinstance(message_id, (str, int)) \
                or not 0 < len(str(message_id).strip()) <= MAX_MESSAGE_ID_CHARS:
            return _refused(400, "utter_rest_bad_message_id", max_chars=MAX_MESSAGE_ID_CHARS)
        # a retry with the same id is answered from the stored replies (xiaoan.runtime.replay)
        payload["metadata"] = {**(metadata or {}), "message_id": str(message_id).strip()}
    if sender is not None:
        payload["sender"] = str(sender)
    return None, payload


async def staff_messages_for(sender_id: Optional[str]) -> List[Dict[str, Any]]:
    """Staff messages not yet delivered to this REST user, taken once (contract §7)."""
    if not sender_id:
        return []
    try:
        waiting = await asyncio.to_thread(get_store().take_pending, sender_id)
    except Exception:  # noqa: BLE001 - the store is down: they stay pending for the next message
        logger.exception("rest: staff messages could not be read")
        return []
    return rest_messages(sender_id, waiting)


class RestInput(RasaRestInput):
    """`rest`: Rasa's REST channel behind a request check, logging no user text."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/replies", methods=["POST"])
        async def replies(request: Request) -> HTTPResponse:
            """What staff wrote, waited for without a user message (channels/rest_pull.py)."""
            return await rest_pull.pull(request)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            problem, payload = check_body(request.body or b"")
            if problem:
                status, reason = problem
                return response.json({"error": reason}, status=status)
            assert payload is not None
            sender_id = payload.get("sender")
            text = payload["message"]
            input_channel = self.name()  # the body's "input_channel" is the client's claim: never read
            metadata = payload.get("metadata")
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata)
            limits.note_address(message, limits.request_address(request))
            refusal = await limits.gate(message)  # before Rasa's lock: a flood never queues for it
            if refusal is not None:  # a 4xx like every refusal of this channel; Retry-After says when
                headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
                return response.json({"error": refusal.text}, status=refusal.status, headers=headers)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                async def judged(streamed: UserMessage) -> Any:  # Rasa builds its own message: counted once
                    limits.carry_verdict(message, streamed)
                    return await on_new_message(streamed)

                return response.stream(
                    self.stream_response(judged, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("rest: the client left before message %s of %s was answered",
                             (metadata or {}).get("message_id"), sender_id)
            except Exception:  # noqa: BLE001 - the client gets what was said so far, never a 500
                logger.exception("rest: handling a message of %s failed", sender_id)
            # what staff wrote since the last message (a person holds the conversation: channels/staff.py),
            # to the conversation's owner only
            staff = await staff_messages_for(sender_id) if reads_back(message) else []
            return response.json([*staff, *collector.messages])

        return webhook

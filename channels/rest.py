"""Rasa's REST channel, with the request checked before Rasa reads it.

Rasa 3.6's `RestInput` calls `request.json.get(...)` on whatever arrives, so an
empty body or a JSON list, string or number is a 500, a non-string message can
leave a streamed request hanging, and a failure or a client that hangs up is
logged with the raw text (which may hold a card number). This channel keeps
Rasa's route (`/webhooks/rest/webhook`), its JSON contract and its streaming
mode, answers malformed requests with a 4xx and a short reason, and logs a
failure without the text. It only translates the protocol: the text goes to
Rasa as sent, and the runtime's ingress (`xiaoan.runtime.ingress`) masks it
before anything parses, logs or stores it. An optional ``message_id`` (the
client's id for the message) makes a retry safe: the same id is answered from
the stored replies instead of being processed again.
"""
from __future__ import annotations

import inspect
import json
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple, Union

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

logger = logging.getLogger(__name__)


MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_CHARS = 2000
MAX_MESSAGE_ID_CHARS = 128

Problem = Tuple[int, str]


def check_body(raw: bytes) -> Tuple[Optional[Problem], Optional[Dict[str, Any]]]:
    """(problem, payload): exactly one is None."""
    if len(raw) > MAX_BODY_BYTES:
        return (413, "请求太大"), None
    try:
        payload = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        return (400, "请求体必须是JSON"), None
    if not isinstance(payload, dict):
        return (400, "请求体必须是JSON对象：{\"sender\": \"…\", \"message\": \"…\"}"), None
    message, sender, metadata = payload.get("message"), payload.get("sender"), payload.get("metadata")
    if not isinstance(message, str):
        return (400, "message 必须是文字"), None
    if len(message) > MAX_TEXT_CHARS:
        return (413, f"消息太长，请精简到{MAX_TEXT_CHARS}字以内"), None
    if sender is not None and not isinstance(sender, (str, int)) or isinstance(sender, bool):
        return (400, "sender 必须是文字"), None
    if metadata is not None and not isinstance(metadata, dict):
        return (400, "metadata 必须是JSON对象"), None
    message_id = payload.get("message_id")
    if message_id is not None:
        if isinstance(message_id, bool) or not isinstance(message_id, (str, int)) \
                or not 0 < len(str(message_id).strip()) <= MAX_MESSAGE_ID_CHARS:
            return (400, f"message_id 必须是1到{MAX_MESSAGE_ID_CHARS}个字符"), None
        # a retry with the same id is answered from the stored replies (xiaoan.runtime.replay)
        payload["metadata"] = {**(metadata or {}), "message_id": str(message_id).strip()}
    if sender is not None:
        payload["sender"] = str(sender)
    return None, payload


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

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            problem, payload = check_body(request.body or b"")
            if problem:
                status, reason = problem
                return response.json({"error": reason}, status=status)
            assert payload is not None
            sender_id = payload.get("sender")
            text = payload["message"]
            input_channel = payload.get("input_channel") or self.name()
            metadata = payload.get("metadata")
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata)
                )
            except CancelledError:
                logger.error("rest: the client left before message %s of %s was answered",
                             (metadata or {}).get("message_id"), sender_id)
            except Exception:  # noqa: BLE001 - the client gets what was said so far, never a 500
                logger.exception("rest: handling a message of %s failed", sender_id)
            return response.json(collector.messages)

        return webhook

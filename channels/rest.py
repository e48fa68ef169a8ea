"""Rasa's REST channel, with the request checked before Rasa reads it.

Rasa 3.6's `RestInput` calls `request.json.get(...)` on whatever arrives, so an
empty body or a JSON list, string or number is a 500, a non-string message can
leave a streamed request hanging, and a failure logs the raw text. This
subclass keeps the route (`/webhooks/rest/webhook`) and the JSON contract,
answers malformed requests with a 4xx and a short Chinese reason, and masks
secrets before the text reaches Rasa or its logs. An optional ``message_id``
(the client's id for the message) makes a retry safe: the same id is answered
from the stored replies instead of being processed again.
"""
from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from xiaoan.text.masking import mask_secrets

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_CHARS = 2000
MAX_MESSAGE_ID_CHARS = 128

Problem = Tuple[int, str]


def check_body(raw: bytes) -> Tuple[Optional[Problem], Optional[Dict[str, Any]]]:
    """(problem, payload): exactly one is None. The payload's text is masked."""
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
        metadata = {**(metadata or {}), "message_id": str(message_id).strip()}
        payload["metadata"] = metadata
    masked = mask_secrets(message)
    payload["message"] = masked.text
    if masked.found:
        payload["metadata"] = {**(metadata or {}), "secrets_masked": sorted(masked.found)}
    if sender is not None:
        payload["sender"] = str(sender)
    return None, payload


class RestInput(RasaRestInput):
    """`rest`: Rasa's REST channel behind a request check."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def check_request(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            problem, payload = check_body(request.body or b"")
            if problem:
                status, reason = problem
                return response.json({"error": reason}, status=status)
            request.parsed_json = payload  # what Rasa's handler reads as request.json
            return None

        return blueprint

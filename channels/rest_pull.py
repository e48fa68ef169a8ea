"""The REST channel's pull door: a client waits for what staff write, with no user message in between.

    POST /webhooks/rest/replies  {"sender": "<conversation>", "metadata": {"identity": "<jwt>"}, "wait_s": 25}
    → 200 [{"recipient_id", "text", "custom": {"from": "staff"}}, …]   the messages waiting, oldest first
    → 200 []                                                         nothing came within wait_s

A long poll rather than callbacks to a URL the client names: nothing is sent to an address anyone
chose (no server-side request forgery to guard), and the client needs no server of its own. The
answer is held until a message waits or `wait_s` (0–25 s) passes; a message the staff route makes
pending on this server wakes the wait at once, one written through another server is found by the
next look at the store (every POLL_EVERY_S, one indexed query). Each message is taken by exactly one
caller (the store's conditional UPDATE), whether this pull, a concurrent one or the user's next
message, so it arrives once. At most MAX_WAITERS pulls wait per conversation on one server (429 beyond).

Who may pull is decided by the server, never by a field the client sends (contract §8): the token in
``metadata.identity`` must be good (401 otherwise) and the conversation must belong to its subject (its
first verified writer, xiaoan/identity/parties.py); anyone else's, an anonymous conversation's and an
unknown one's are the same 403, and a refused pull takes nothing. An anonymous conversation, which only
its sender id tells apart, still gets its messages with its next message (channels/rest.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa.shared.core.events import UserUttered
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.staff_notices import rest_messages
from xiaoan import content
from xiaoan.handover.store import get_store
from xiaoan.identity import TOKEN_KEY, tokens
from xiaoan.identity.parties import UNKNOWN_OWNER, owner_of

logger = logging.getLogger(__name__)

MAX_WAIT_S = 25.0  # under the usual 30 s idle limit of proxies and mobile networks
POLL_EVERY_S = 1.0
MAX_BODY_BYTES = 16 * 1024
MAX_SENDER_CHARS = 255
MAX_WAITERS = 2  # per conversation and server: an app's wait and its retry; more only multiplies the looks

_wakers: Dict[str, "set[asyncio.Event]"] = {}


def wake(conversation_id: str) -> None:
    """A message now waits for `conversation_id` (the staff route on this server made it pending)."""
    for event in _wakers.get(conversation_id, ()):
        event.set()


def _refused(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": content.render(reason)}, status=status)


def check_pull(raw: bytes) -> Tuple[Optional[HTTPResponse], Optional[Tuple[str, Any, float]]]:
    """(refusal, (sender, token, wait_s)): exactly one is None."""
    if len(raw) > MAX_BODY_BYTES:
        return _refused(413, "utter_rest_too_large"), None
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        return _refused(400, "utter_rest_not_json"), None
    if not isinstance(body, dict):
        return _refused(400, "utter_rest_not_object"), None
    sender, metadata, wait_s = body.get("sender"), body.get("metadata"), body.get("wait_s", 0)
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
        return _refused(400, "utter_rest_pull_bad_sender"), None
    if metadata is not None and not isinstance(metadata, dict):
        return _refused(400, "utter_rest_metadata_not_object"), None
    if isinstance(wait_s, bool) or not isinstance(wait_s, (int, float)) or not 0 <= wait_s <= MAX_WAIT_S:
        return _refused(400, "utter_rest_pull_bad_wait"), None
    return None, (sender, (metadata or {}).get(TOKEN_KEY), float(wait_s))


async def owner(request: Request, conversation_id: str) -> Optional[str]:
    """The subject the conversation was first verified for (None: anonymous or unknown)."""
    tracker = await request.app.ctx.agent.tracker_store.retrieve(conversation_id)
    if tracker is None:
        return None
    return owner_of((e.metadata for e in tracker.events if isinstance(e, UserUttered)), conversation_id)


async def take(conversation_id: str) -> List[Dict[str, Any]]:
    try:
        return await asyncio.to_thread(get_store().take_pending, conversation_id, ("pending",), "pulled")
    except Exception:  # noqa: BLE001 - the store is down: they stay pending for the next look
        logger.exception("rest: waiting staff messages could not be read")
        return []


async def pull(request: Request) -> HTTPResponse:
    refusal, asked = check_pull(request.body or b"")
    if refusal is not None:
        return refusal
    assert asked is not None
    conversation_id, token, wait_s = asked
    verdict = tokens.verify(token)
    if not verdict.subject:
        return _refused(401, "utter_rest_pull_not_verified")
    found = await owner(request, conversation_id)
    if found is None or found == UNKNOWN_OWNER or found != verdict.subject:
        logger.warning("rest: a pull for conversation %s refused (not its owner)", conversation_id)
        return _refused(403, "utter_rest_pull_not_yours")
    if len(_wakers.get(conversation_id, ())) >= MAX_WAITERS:
        return response.json({"error": content.render("utter_too_fast")}, status=429, headers={"Retry-After": "5"})
    loop = asyncio.get_running_loop()  # a duration, not a date: the event loop's monotonic clock
    deadline = loop.time() + wait_s
    woken = asyncio.Event()
    _wakers.setdefault(conversation_id, set()).add(woken)
    try:
        while True:
            taken = await take(conversation_id)
            left = deadline - loop.time()
            if taken or left <= 0:
                return response.json(rest_messages(conversation_id, taken))
            woken.clear()
            try:
                await asyncio.wait_for(woken.wait(), min(POLL_EVERY_S, left))
            except asyncio.TimeoutError:
                pass
    finally:
        waiting = _wakers.get(conversation_id)
        if waiting is not None:
            waiting.discard(woken)
            if not waiting:
                _wakers.pop(conversation_id, None)

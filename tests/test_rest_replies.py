"""The REST pull door (`POST /webhooks/rest/replies`, channels/rest_pull.py), attacked first.

A bank's app waits on it for what staff write, with no user message in between. The server decides who
the client is from the verified identity of contract §8, never from a field the client sends: a client
can never pull another conversation's replies, whatever sender it names, and a refused pull takes
nothing (the owner still gets every message, once). Run on the real REST channel (a Sanic server on
127.0.0.1) over the real processor's identity records (Rasa's model parts stood in for).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest

from channels.rest_pull import MAX_WAIT_S
from tests.test_identity import SECRET, identity_secret  # noqa: F401 - its autouse fixture applies here too
from tests.test_trust_boundary import Conversations, RestServer, _run, post_rest
from xiaoan.handover.store import get_store as handover_store
from xiaoan.identity import tokens


class TrackerStore:
    """What the pull door reads of a conversation: its stored events (the stand-in processor's trackers)."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations

    async def retrieve(self, conversation_id: str) -> Any:
        return self.conversations.trackers.get(conversation_id)


class PullServer(RestServer):
    def __init__(self, conversations: Conversations) -> None:
        super().__init__(conversations)
        self.tracker_store = TrackerStore(conversations)


async def pull(url: str, body: Any, raw: Optional[bytes] = None, timeout: float = 40) -> Tuple[int, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        data = raw if raw is not None else json.dumps(body)
        async with http.post(f"{url}/webhooks/rest/replies", data=data) as response:
            try:
                return response.status, await response.json()
            except (aiohttp.ContentTypeError, ValueError):
                return response.status, await response.text()


def staff_waiting(conversation_id: str, *texts: str) -> List[str]:
    store = handover_store()
    row, _ = store.enqueue(conversation_id, "rest", "request_human", None, None)
    ids = []
    for text in texts:
        message_id = store.add_message(conversation_id, row.id, "1001", "staff", text, "rest")
        store.set_status(message_id, "pending", "next_reply")
        ids.append(message_id)
    return ids


def as_owner(subject: str, sender: str, wait_s: float = 0) -> Dict[str, Any]:
    return {"sender": sender, "metadata": {"identity": tokens.sign(subject)}, "wait_s": wait_s}


def still_pending(conversation_id: str) -> List[str]:
    return [m["text"] for m in handover_store().messages_of(conversation_id) if m["status"] == "pending"]


def test_another_subjects_token_pulls_nothing_and_takes_nothing(monkeypatch):
    conversations = Conversations(monkeypatch, {})

    async def scenario() -> None:
        async with PullServer(conversations) as server:
            await post_rest(server.url, {"sender": "p-owner", "message": "转人工",
                                         "metadata": {"identity": tokens.sign("C0001")}})
            staff_waiting("p-owner", "您尾号1234的卡已解冻")
            status, answer = await pull(server.url, as_owner("C0002", "p-owner"))
            assert status == 403, answer
            assert "解冻" not in json.dumps(answer, ensure_ascii=False)
            assert still_pending("p-owner") == ["您尾号1234的卡已解冻"]
            status, answer = await pull(server.url, as_owner("C0001", "p-owner"))
            assert status == 200 and answer == [
                {"recipient_id": "p-owner", "text": "您尾号1234的卡已解冻", "custom": {"from": "staff"}}]

    _run(scenario())


@pytest.mark.parametrize("identity", [None, "", "not-a-jwt", "forged"])
def test_no_token_or_a_bad_one_is_refused_and_takes_nothing(monkeypatch, identity):
    conversations = Conversations(monkeypatch, {})
    if identity == "forged":
        identity = tokens.sign("C0001", key="another-secret-of-the-attackers-own-1234")

    async def scenario() -> None:
        async with PullServer(conversations) as server:
            await post_rest(server.url, {"sender": "p-bad", "message": "转人工",
                                         "metadata": {"identity": tokens.sign("C0001")}})
            staff_waiting("p-bad", "请稍等")
            body: Dict[str, Any] = {"sender": "p-bad"}
            if identity is not None:
                body["metadata"] = {"identity": identity}
            status, _ = await pull(server.url, body)
            assert status == 401
            assert still_pending("p-bad") == ["请稍等"]

    _run(scenario())


def test_an_anonymous_conversation_cannot_be_pulled_even_with_a_good_token(monkeypatch):
    """Nothing but the sender id tells two anonymous REST clients apart: such a conversation is never pulled
    (its replies still come with its next message), so a guessed sender id with any token gets nothing."""
    conversations = Conversations(monkeypatch, {})

    async def scenario() -> None:
        async with PullServer(conversations) as server:
            await post_rest(server.url, {"sender": "p-anon", "message": "转人工"})
            staff_waiting("p-anon", "您好，我是人工客服")
            status, _ = await pull(server.url, as_owner("C0002", "p-anon"))
            assert status == 403
            status, _ = await pull(server.url, as_owner("C0001", "p-nobody-ever-wrote"))
            assert status == 403  # an unknown conversation answers as someone else's: no oracle
            reply = await post_rest(server.url, {"sender": "p-anon", "message": "在吗"})
            assert [m["text"] for m in reply if (m.get("custom") or {}).get("from") == "staff"] == ["您好，我是人工客服"]

    _run(scenario())


def test_the_owner_waiting_gets_a_reply_written_during_the_wait_once_and_in_order(monkeypatch):
    conversations = Conversations(monkeypatch, {})

    async def scenario() -> None:
        async with PullServer(conversations) as server:
            await post_rest(server.url, {"sender": "p-wait", "message": "转人工",
                                         "metadata": {"identity": tokens.sign("C0001")}})
            waiting = asyncio.ensure_future(pull(server.url, as_owner("C0001", "p-wait", wait_s=20)))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # nothing yet: it waits
            staff_waiting("p-wait", "第一条", "第二条")
            status, answer = await asyncio.wait_for(waiting, 15)
            assert status == 200 and [m["text"] for m in answer] == ["第一条", "第二条"]
            again = await pull(server.url, as_owner("C0001", "p-wait"))
            assert again == (200, [])  # taken once
            reply = await post_rest(server.url, {"sender": "p-wait", "message": "好的",
                                                 "metadata": {"identity": tokens.sign("C0001")}})
            assert all((m.get("custom") or {}).get("from") != "staff" for m in reply)  # not again with the next message

    _run(scenario())


@pytest.mark.parametrize("raw, status", [
    (b"", 400), (b"not json", 400), (b"[1]", 400), (b'{"metadata": {"identity": "x"}}', 400),
    (b'{"sender": ["a"], "metadata": {"identity": "x"}}', 400), (b'{"sender": "a", "metadata": [1]}', 400),
    (b'{"sender": "a", "metadata": {"identity": "x"}, "wait_s": "soon"}', 400),
    (b'{"sender": "a", "metadata": {"identity": "x"}, "wait_s": -1}', 400),
    (json.dumps({"sender": "a", "metadata": {"identity": "x"}, "wait_s": MAX_WAIT_S + 1}).encode(), 400),
    (b'{"sender": "' + b"a" * 300 + b'", "metadata": {"identity": "x"}}', 400),
    (b"{" + b" " * 70000 + b"}", 413),
])
def test_bad_pull_requests_get_a_4xx(monkeypatch, raw, status):
    conversations = Conversations(monkeypatch, {})

    async def scenario() -> None:
        async with PullServer(conversations) as server:
            got, answer = await pull(server.url, None, raw=raw)
            assert got == status and answer["error"], answer

    _run(scenario())


def test_a_third_wait_on_one_conversation_is_refused_with_a_429(monkeypatch):
    conversations = Conversations(monkeypatch, {})

    async def scenario() -> None:
        async with PullServer(conversations) as server:
            await post_rest(server.url, {"sender": "p-many", "message": "转人工",
                                         "metadata": {"identity": tokens.sign("C0001")}})
            waits = [asyncio.ensure_future(pull(server.url, as_owner("C0001", "p-many", wait_s=3))) for _ in range(2)]
            await asyncio.sleep(0.5)
            status, answer = await pull(server.url, as_owner("C0001", "p-many"))
            assert status == 429 and answer["error"]
            assert [await w for w in waits] == [(200, []), (200, [])]

    _run(scenario())

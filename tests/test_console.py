"""The staff console's API (contract §7) on a real aiohttp server: sign-in, sessions, CSRF, roles, lock-out,
claims, staff messages and their delivery outcomes, review and exports.

The Rasa server's staff route is a stand-in here (it records what the console asks for and answers
as channels/staff.py does, or is down); tests/live/test_handover.py runs the same flows against the
real servers.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, List, Optional

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, insert

from console.delivery import RasaLink
from console.server import COOKIE, Console
from console.transcripts import Transcripts, _metadata, events
from xiaoan import clock
from xiaoan.handover import passwords
from xiaoan.handover.sessions import SESSION_IDLE_S
from xiaoan.handover.staff import LOCK_AFTER_FAILURES
from xiaoan.handover.store import HandoverStore

PASSWORD = "correct horse battery"
# Test-only: scrypt at N=2^10 instead of the production N=2^17 (~0.4 s a hash), so that the accounts and
# sign-ins of these tests stay fast. Production never lowers it; tests/test_passwords.py holds its cost.
TEST_ONLY_COST = passwords.Cost(n=2 ** 10, r=8, p=1)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "COST", TEST_ONLY_COST)


class StaffRoute:
    """Stands in for POST /webhooks/staff/act of a Rasa server."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.down = False
        self.status = "delivered"

    async def act(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"error": "failed"}, status=500)
        body = await request.json()
        self.calls.append(body)
        return web.json_response({"paused": bool(body.get("pause")), "channel": "rest",
                                  "messages": [{"id": m["id"], "status": self.status, "detail": None}
                                               for m in body["messages"]]})


def user_event(sender: str, text: str, stamp: float, intent: str = "request_human", confidence: float = 0.97) -> Dict:
    return {"event": "user", "timestamp": stamp, "text": text, "input_channel": "rest",
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": []}}


def seed_tracker(url: str, sender: str, now: float) -> None:
    engine = create_engine(url, future=True)
    _metadata.create_all(engine)
    rows = [
        {"event": "action", "name": "action_session_start", "timestamp": now - 60},
        user_event(sender, "POS机一直提示通讯失败", now - 50, "network_issue"),
        {"event": "action", "name": "utter_network_issue_intro", "timestamp": now - 49},
        {"event": "bot", "text": "请告诉我终端号", "timestamp": now - 49, "metadata": {"utter_action": "utter_ask_terminal_id"}},
        {"event": "slot", "name": "card_tail", "value": "5678", "timestamp": now - 48},
        user_event(sender, "卡号6222************1234转人工", now - 40),
        {"event": "action", "name": "action_create_ticket", "timestamp": now - 39},
        {"event": "action", "name": "action_hand_over", "timestamp": now - 39},
        {"event": "pause", "timestamp": now - 39},
        {**user_event(sender, "有人吗", now - 30, "greet", 0.31),
         "metadata": {"xiaoan": {"identity": {"verified": True, "subject": "C0001", "via": "token", "expires": 1}}}},
    ]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(insert(events).values(sender_id=sender, type_name=row["event"], timestamp=row["timestamp"],
                                               intent_name=(row.get("parse_data") or {}).get("intent", {}).get("name"),
                                               action_name=row.get("name"), data=json.dumps(row, ensure_ascii=False)))
    engine.dispose()


@pytest.fixture
def stores(tmp_path):
    store = HandoverStore(f"sqlite:///{tmp_path}/handover.db")
    store.create_staff("li", "agent", PASSWORD)
    store.create_staff("wang", "agent", PASSWORD)
    store.create_staff("zhao", "supervisor", PASSWORD)
    tracker_url = f"sqlite:///{tmp_path}/tracker.db"
    now = time.time()
    seed_tracker(tracker_url, "user-1", now)
    store.enqueue("user-1", "rest", "request_human", "XA20261201000001", "网络/通讯故障", now=now - 39)
    yield store, Transcripts(tracker_url)
    store.dispose()


def run(coroutine_function):
    """Runs `coroutine_function(client, store, route)` against a console and a staff-route stand-in."""

    def wrapper(stores):
        store, transcripts = stores

        async def go():
            route = StaffRoute()
            rasa_app = web.Application()
            rasa_app.router.add_post("/webhooks/staff/act", route.act)
            rasa_server = TestServer(rasa_app)
            await rasa_server.start_server()
            console = Console(store, transcripts, RasaLink(str(rasa_server.make_url("")), None))
            client = TestClient(TestServer(console.app()))
            await client.start_server()
            try:
                await coroutine_function(client, store, route)
            finally:
                await client.close()
                await rasa_server.close()

        asyncio.run(go())

    wrapper.__name__ = coroutine_function.__name__
    return wrapper


async def sign_in(client: TestClient, name: str) -> str:
    client.session.cookie_jar.clear()
    answer = await client.post("/api/login", json={"username": name, "password": PASSWORD})
    assert answer.status == 200
    assert (await (await client.get("/api/me")).json())["username"] == name
    return (await answer.json())["csrf"]


API_GETS = ["/api/queue", "/api/mine", "/api/me", "/api/conversations/user-1", "/api/review", "/api/dashboard",
            "/api/export/nlu", "/api/export/story/user-1"]
API_POSTS = ["/api/logout", "/api/conversations/user-1/claim", "/api/conversations/user-1/messages",
             "/api/conversations/user-1/handback", "/api/conversations/user-1/close",
             "/api/conversations/user-1/slots", "/api/review/user-1/labels",
             "/api/conversations/user-1/messages/x/retry"]


@run
async def test_nothing_without_a_session(client, store, route):
    for path in API_GETS:
        answer = await client.get(path)
        assert answer.status == 401, path
        assert "通讯失败" not in await answer.text()
    for path in API_POSTS:
        assert (await client.post(path, json={"text": "x", "note": "x"})).status == 401, path
    page = await client.get("/")
    assert page.status == 200 and "客服登录" in await page.text()
    assert "通讯失败" not in await page.text() and "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert route.calls == []


@run
async def test_a_forged_or_missing_csrf_token_is_refused(client, store, route):
    csrf = await sign_in(client, "li")
    assert (await client.post("/api/conversations/user-1/claim")).status == 403
    assert (await client.post("/api/conversations/user-1/claim", headers={"X-CSRF-Token": "forged"})).status == 403
    assert store.active("user-1").status == "waiting"
    assert (await client.post("/api/conversations/user-1/claim", headers={"X-CSRF-Token": csrf})).status == 200


@run
async def test_an_agent_has_no_supervisor_pages(client, store, route):
    await sign_in(client, "li")
    for path in ("/api/review", "/api/dashboard", "/api/export/nlu", "/api/export/story/user-1"):
        assert (await client.get(path)).status == 403, path
    await sign_in(client, "zhao")
    for path in ("/api/review", "/api/dashboard", "/api/export/nlu", "/api/export/story/user-1"):
        assert (await client.get(path)).status == 200, path


@run
async def test_brute_force_locks_the_account(client, store, route):
    for _ in range(LOCK_AFTER_FAILURES - 1):
        assert (await client.post("/api/login", json={"username": "li", "password": "guess"})).status == 401
    locked = await client.post("/api/login", json={"username": "li", "password": "guess"})
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0
    # the right password does not open a locked account
    assert (await client.post("/api/login", json={"username": "li", "password": PASSWORD})).status == 429
    # an unknown name is counted and locked the same way (no telling names apart)
    statuses = [(await client.post("/api/login", json={"username": "nobody", "password": "x"})).status
                for _ in range(LOCK_AFTER_FAILURES)]
    assert statuses == [401] * (LOCK_AFTER_FAILURES - 1) + [429]
    assert (await client.post("/api/login", json={"username": "wang", "password": PASSWORD})).status == 200


@run
async def test_second_agent_gets_409_and_cannot_read_or_write(client, store, route):
    csrf_li = await sign_in(client, "li")
    assert (await client.post("/api/conversations/user-1/claim", headers={"X-CSRF-Token": csrf_li})).status == 200
    assert route.calls[-1]["pause"] is True
    assert "工号1001" in route.calls[-1]["messages"][0]["text"]  # 人工客服 工号1001 已接入
    csrf_wang = await sign_in(client, "wang")
    taken = await client.post("/api/conversations/user-1/claim", headers={"X-CSRF-Token": csrf_wang})
    assert taken.status == 409 and (await taken.json())["claimed_by"] == "1001"
    seen = await client.get("/api/conversations/user-1")
    assert seen.status == 403, (await seen.text())[:300]
    refused = await client.post("/api/conversations/user-1/messages", json={"text": "hi"},
                                headers={"X-CSRF-Token": csrf_wang})
    assert refused.status == 409
    assert len(route.calls) == 1


@run
async def test_queue_conversation_reply_handback(client, store, route):
    csrf = await sign_in(client, "li")
    queue = await (await client.get("/api/queue")).json()
    assert [q["conversation_id"] for q in queue] == ["user-1"]
    assert queue[0]["reason"] == "request_human" and queue[0]["channel"] == "rest" and queue[0]["waiting_s"] >= 30
    assert queue[0]["ticket"] == "XA20261201000001"
    headers = {"X-CSRF-Token": csrf}
    assert (await client.post("/api/conversations/user-1/claim", headers=headers)).status == 200
    assert await (await client.get("/api/queue")).json() == []
    view = await (await client.get("/api/conversations/user-1")).json()
    texts = [m["text"] for m in view["messages"]]
    assert "卡号6222************1234转人工" in texts and "有人吗" in texts  # masked as stored
    assert {m["from"] for m in view["messages"]} == {"user", "bot"}
    assert view["slots"]["card_tail"] == "5678" and view["paused"] is True
    assert view["identity"] == {"verified": True, "subject": "C0001", "via": "token"}  # as the ingress verified it
    assert view["ticket"]["ticket_id"] == "XA20261201000001" and view["ticket"]["reason"] == "request_human"
    sent = await client.post("/api/conversations/user-1/messages", json={"text": "您好，我来帮您查"}, headers=headers)
    assert sent.status == 200 and (await sent.json())["status"] == "delivered"
    call = route.calls[-1]
    assert call["messages"][0]["text"] == "您好，我来帮您查" and call["messages"][0]["from"] == "staff"
    assert call["messages"][0]["staff_id"] == "1001"
    back = await client.post("/api/conversations/user-1/handback", json={"slots": {"amount": "3500.00"}}, headers=headers)
    assert back.status == 200
    assert route.calls[-1]["resume"] is True and route.calls[-1]["slots"] == {"amount": "3500.00"}
    assert store.latest("user-1").status == "handed_back"
    # handed back: no more replies from this agent
    again = await client.post("/api/conversations/user-1/messages", json={"text": "x"}, headers=headers)
    assert again.status == 409


@run
async def test_close_needs_a_note_and_records_it(client, store, route):
    csrf = await sign_in(client, "li")
    headers = {"X-CSRF-Token": csrf}
    await client.post("/api/conversations/user-1/claim", headers=headers)
    assert (await client.post("/api/conversations/user-1/close", json={}, headers=headers)).status == 400
    closed = await client.post("/api/conversations/user-1/close", json={"note": "已核实为冲正，3个工作日内退回"},
                               headers=headers)
    assert closed.status == 200
    assert route.calls[-1]["resume"] is True and "已核实为冲正" in route.calls[-1]["messages"][0]["text"]
    latest = store.latest("user-1")
    assert latest.status == "closed" and latest.note == "已核实为冲正，3个工作日内退回"


@run
async def test_a_reply_while_rasa_is_down_is_reported_and_sent_later(client, store, route):
    csrf = await sign_in(client, "li")
    headers = {"X-CSRF-Token": csrf}
    await client.post("/api/conversations/user-1/claim", headers=headers)
    route.down = True
    sent = await client.post("/api/conversations/user-1/messages", json={"text": "稍等"}, headers=headers)
    assert sent.status == 503
    outcome = await sent.json()
    assert outcome["status"] == "not_delivered"
    view = await (await client.get("/api/conversations/user-1")).json()
    assert [m["status"] for m in view["staff_messages"] if m["kind"] == "staff"] == ["not_delivered"]
    route.down = False
    retried = await client.post(f"/api/conversations/user-1/messages/{outcome['id']}/retry", headers=headers)
    assert retried.status == 200 and (await retried.json())["status"] == "delivered"
    assert store.message(outcome["id"])["status"] == "not_delivered"  # the real route writes the outcome itself


@run
async def test_review_filters_marks_and_exports(client, store, route):
    csrf = await sign_in(client, "zhao")
    review = await (await client.get("/api/review?handover=1")).json()
    item = review["conversations"][0]
    assert item["conversation_id"] == "user-1" and item["flags"]["handover"] and item["flags"]["low_confidence"]
    assert item["scenario"] == "network_issue"
    assert (await (await client.get("/api/review?fraud_report=1")).json())["conversations"] == []
    assert (await (await client.get("/api/review?channel=wechat")).json())["conversations"] == []
    view = await (await client.get("/api/conversations/user-1")).json()
    unclear = next(m for m in view["messages"] if m["text"] == "有人吗")
    marked = await client.post("/api/review/user-1/labels", json={"time": unclear["time"], "intent": "request_human"},
                               headers={"X-CSRF-Token": csrf})
    assert marked.status == 200
    nlu = yaml.safe_load(await (await client.get("/api/export/nlu")).text())
    assert nlu["nlu"] == [{"intent": "request_human", "examples": "- 有人吗\n"}]
    story = yaml.safe_load(await (await client.get("/api/export/story/user-1")).text())
    steps = story["stories"][0]["steps"]
    assert steps[0] == {"user": "POS机一直提示通讯失败\n", "intent": "network_issue"}
    assert {"action": "action_hand_over"} in steps
    assert all(step.get("user") != "有人吗\n" for step in steps)  # what a person handled is not the bot's story
    dash = await (await client.get("/api/dashboard")).json()
    assert dash["conversations"] == 1 and dash["handover_rate"] == 1.0 and dash["handover_reasons"] == {"request_human": 1}


def test_sessions_expire_when_idle_and_end_on_logout(stores):
    store, _ = stores
    member = store.staff_by_id(1)
    token, _ = store.open_session(member, now=1000.0)
    assert store.session(token, now=1000.0 + SESSION_IDLE_S - 1) is not None
    assert store.session(token, now=1000.0 + 2 * SESSION_IDLE_S + 5) is None
    token, _ = store.open_session(member)
    live = store.session(token)
    store.end_session(live.token_hash)
    assert store.session(token) is None


def test_passwords_are_slow_salted_hashes(stores):
    store, _ = stores
    with store.engine.connect() as conn:
        hashes = [r[0] for r in conn.exec_driver_sql("SELECT password_hash FROM ho_staff")]
    assert all(h.startswith(f"scrypt${TEST_ONLY_COST.n}$8$1$") and PASSWORD not in h for h in hashes)
    assert len(set(hashes)) == len(hashes)  # salted: the same password, different hashes
    with pytest.raises(ValueError):
        store.create_staff("weak", "agent", "123")
    with pytest.raises(ValueError):
        store.create_staff("admin", "root", PASSWORD)


def test_one_claim_wins(stores):
    store, _ = stores
    outcomes = [store.claim("user-1", staff_id) for staff_id in (1, 2, 1)]
    assert [o for o, _ in outcomes] == ["claimed", "taken", "already_yours"]


def test_session_cookie_is_http_only_and_strict(stores):
    store, transcripts = stores

    async def go():
        client = TestClient(TestServer(Console(store, transcripts, RasaLink("http://127.0.0.1:9", None)).app()))
        await client.start_server()
        try:
            answer = await client.post("/api/login", json={"username": "li", "password": PASSWORD})
            cookie = answer.cookies[COOKIE]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
        finally:
            await client.close()

    asyncio.run(go())


__all__: Optional[List[str]] = None


@run
async def test_the_queue_ranks_scam_reports_first_then_by_age_and_says_what_the_user_was_told(client, store, route):
    """Contract §7's order stays (oldest first); `rank` is the order to take them in, the wait and the times
    are the server's own, on the China clock."""
    await sign_in(client, "li")
    queued = store.active("user-1").queued_at
    store.enqueue("chat-2", "socketio", "not_understood", None, None, now=queued + 5)
    store.enqueue("scam-3", "wechat", "fraud_report", None, None, now=queued + 10)
    store.tell(store.active("chat-2").id, "waited_long", now=queued + 20)
    with clock.fixed(queued + 70):
        queue = await (await client.get("/api/queue")).json()
    assert [q["conversation_id"] for q in queue] == ["user-1", "chat-2", "scam-3"]  # oldest first, as before
    assert {q["conversation_id"]: q["rank"] for q in queue} == {"scam-3": 1, "user-1": 2, "chat-2": 3}
    assert [q["waiting_s"] for q in queue] == [70.0, 65.0, 60.0]
    assert [q["urgent"] for q in queue] == [False, False, True]
    told = queue[1]
    assert told["told"] == "waited_long" and told["told_at"] == clock.for_people(queued + 20)
    assert queue[0]["told"] is None and queue[0]["told_at"] is None

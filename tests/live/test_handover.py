"""The hand-over end to end against `make run`'s servers (Rasa, action server, staff console): REST, socket.io
and WeChat, plus a staff reply while the Rasa server restarts.

`make test-live` starts them with someone's hours all day (XIAOAN_STAFF_HOURS) and WeChat's API pointed
at a stand-in on WECHAT_API_BASE's port, which this module starts.
"""
from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import pytest

from tests.clients import WebchatClient, rest_say, tracker, wechat_post, wechat_text_xml
from xiaoan import content

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
CONSOLE_URL = os.environ.get("CONSOLE_URL", "http://127.0.0.1:8090")
WECHAT_TOKEN = os.environ.get("WECHAT_TOKEN", "")
PASSWORD = "live-test-" + uuid.uuid4().hex[:12]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.live


def make_staff(role: str = "agent") -> str:
    """An account made the way a person makes one (make staff-user's command)."""
    name = f"live-{role}-{uuid.uuid4().hex[:6]}"
    done = subprocess.run([sys.executable, "-m", "console.users", "--name", name, "--role", role], cwd=ROOT,
                          env={**os.environ, "STAFF_PASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return name


class Staff:
    """A console user: a cookie jar, the CSRF token, JSON in and out."""

    def __init__(self, role: str = "agent") -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.name = make_staff(role)
        status, answer = self.call("POST", "/api/login", {"username": self.name, "password": PASSWORD}, csrf=False)
        assert status == 200, answer
        self.csrf, self.staff_id = answer["csrf"], answer["staff_id"]

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None,
             csrf: bool = True) -> Tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if csrf and method == "POST":
            headers["X-CSRF-Token"] = self.csrf
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(CONSOLE_URL + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def waiting(self, conversation_id: str, timeout: float = 20.0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, queue = self.call("GET", "/api/queue")
            assert status == 200
            for item in queue:
                if item["conversation_id"] == conversation_id:
                    return item
            time.sleep(0.5)
        raise AssertionError(f"{conversation_id} never reached the queue")

    def conversation(self, conversation_id: str) -> Dict[str, Any]:
        status, view = self.call("GET", f"/api/conversations/{conversation_id}")
        assert status == 200, view
        return view


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("text") or "" for m in messages]


def queued_text_start() -> str:
    return content.render("utter_handover_queued", ahead=0).split("，")[0]


def test_rest_hand_over_reply_and_hand_back():
    agent, other = Staff(), Staff()
    sender = f"live-ho-{uuid.uuid4().hex[:8]}"
    rest_say(RASA_URL, sender, "POS机一直提示通讯失败")
    handed = texts(rest_say(RASA_URL, sender, "转人工"))
    assert any(t.startswith(queued_text_start()) for t in handed), handed
    item = agent.waiting(sender)
    assert item["reason"] == "request_human" and item["channel"] == "rest" and item["ticket"]
    assert agent.call("POST", f"/api/conversations/{sender}/claim")[0] == 200
    status, refused = other.call("POST", f"/api/conversations/{sender}/claim")
    assert status == 409 and refused["claimed_by"] == agent.staff_id

    # paused: the bot says nothing itself, the user's message (a card number!) is stored masked
    answer = rest_say(RASA_URL, sender, "我的卡号是6222021234567890123，钱扣了")
    assert texts(answer) == [content.render("utter_staff_joined", staff_id=agent.staff_id)]
    view = agent.conversation(sender)
    assert "6222021234567890123" not in json.dumps(view, ensure_ascii=False)
    assert view["messages"][-1]["from"] == "user" and "钱扣了" in view["messages"][-1]["text"]
    assert view["paused"] is True and view["ticket"]["ticket_id"] == item["ticket"]

    status, sent = agent.call("POST", f"/api/conversations/{sender}/messages", {"text": "您好，我是人工客服，正在为您核实扣款"})
    assert status == 200 and sent["status"] == "pending"
    answer = rest_say(RASA_URL, sender, "好的，谢谢")
    assert answer == [{"recipient_id": sender, "text": "您好，我是人工客服，正在为您核实扣款", "custom": {"from": "staff"}}]
    assert [m["from"] for m in agent.conversation(sender)["messages"][-2:]] == ["staff", "user"]

    status, _ = agent.call("POST", f"/api/conversations/{sender}/handback", {"slots": {"amount": "3500.00"}})
    assert status == 200
    answer = texts(rest_say(RASA_URL, sender, "一般多久到账"))
    assert answer[0] == content.render("utter_handed_back", staff_id=agent.staff_id)
    assert len(answer) >= 2  # the bot answers again
    stored = tracker(RASA_URL, sender)
    staff_said = [e for e in stored["events"] if e.get("event") == "bot" and (e.get("metadata") or {}).get("from") == "staff"]
    assert [e["text"] for e in staff_said] == ["您好，我是人工客服，正在为您核实扣款"]
    assert staff_said[0]["metadata"]["staff_id"] == agent.staff_id
    assert stored["slots"]["amount"] == "3500.00"  # what the person corrected, kept after the bot's turn
    assert stored["paused"] is False
    assert "action_default_fallback" not in [e.get("name") for e in stored["events"][-6:]]
    assert [h["conversation_id"] for h in agent.call("GET", "/api/queue")[1]].count(sender) == 0  # not queued again


def test_socketio_hand_over_live_in_the_room():
    agent = Staff()

    async def go() -> None:
        client = WebchatClient()
        session = await client.connect(RASA_URL, uuid.uuid4().hex)
        try:
            await client.say(session, "转人工", {"message_id": f"web-{uuid.uuid4().hex}"})
            first = [await client.next_reply(60)]
            while not any(m.get("text", "").startswith(queued_text_start()) for m in first):
                first.append(await client.next_reply(30))
            assert (await asyncio.to_thread(agent.waiting, session))["channel"] == "socketio"
            assert (await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session}/claim"))[0] == 200
            joined = await client.next_reply(15)
            assert joined["text"] == content.render("utter_staff_joined", staff_id=agent.staff_id)
            status, sent = await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session}/messages",
                                                   {"text": "网页这边我来帮您"})
            assert status == 200 and sent["status"] == "delivered"
            reply = await client.next_reply(15)
            assert reply["text"] == "网页这边我来帮您" and reply["metadata"]["from"] == "staff"
            assert reply["metadata"]["customCss"]["css"] == "xiaoan-staff"
        finally:
            await client.close()
        # the page is closed: the next reply waits and arrives when the session comes back
        status, sent = await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session}/messages",
                                               {"text": "您回来后能看到这条"})
        assert status == 200 and sent["status"] == "pending"
        back = WebchatClient()
        try:
            await back.connect(RASA_URL, session)
            assert (await back.next_reply(15))["text"] == "您回来后能看到这条"
        finally:
            await back.close()

    asyncio.run(go())


@pytest.fixture
def wechat_api():
    from tests.stand_ins.wechat_api import WeChatApiStandIn

    base = os.environ.get("WECHAT_API_BASE") or ""
    secret = os.environ.get("WECHAT_APP_SECRET") or ""
    if not base or not secret:
        pytest.fail("make test-live sets WECHAT_API_BASE and WECHAT_APP_SECRET for this test")
    api = WeChatApiStandIn(secret, port=urlsplit(base).port or 0).start()
    yield api
    api.stop()


def test_wechat_hand_over_through_the_customer_service_api(wechat_api):
    agent = Staff()
    openid = f"o-live-{uuid.uuid4().hex[:10]}"
    status, body = wechat_post(RASA_URL, WECHAT_TOKEN, wechat_text_xml(openid, "转人工"), openid=openid)
    assert status == 200
    item = agent.waiting(openid)
    assert item["channel"] == "wechat" and item["reason"] == "request_human"
    assert agent.call("POST", f"/api/conversations/{openid}/claim")[0] == 200
    status, sent = agent.call("POST", f"/api/conversations/{openid}/messages", {"text": "微信这边我来处理"})
    assert status == 200 and sent["status"] == "delivered", sent
    received = wechat_api.texts_for(openid)
    assert received[0] == content.render("utter_staff_joined", staff_id=agent.staff_id)
    assert received[1] == content.render("utter_staff_message", staff_id=agent.staff_id, text="微信这边我来处理")
    # while a person holds it, the bot adds nothing of its own to the passive reply
    status, body = wechat_post(RASA_URL, WECHAT_TOKEN, wechat_text_xml(openid, "好的"), openid=openid)
    assert status == 200 and body.strip() in ("success", "")
    assert agent.conversation(openid)["messages"][-1]["text"] == "好的"
    status, closed = agent.call("POST", f"/api/conversations/{openid}/close", {"note": "已核实，冲正款项3个工作日内退回"})
    assert status == 200 and closed["notice"]["status"] == "delivered"
    assert "已核实，冲正款项3个工作日内退回" in wechat_api.texts_for(openid)[-1]
    assert agent.call("POST", f"/api/conversations/{openid}/claim")[0] == 404  # closed: no longer queued
    status, body = wechat_post(RASA_URL, WECHAT_TOKEN, wechat_text_xml(openid, "一般多久到账"), openid=openid)
    assert status == 200 and body.strip() not in ("success", "")  # the bot answers again


def rasa_pid() -> int:
    """The Rasa server's process id (the one listening on RASA_URL's port)."""
    port = urlsplit(RASA_URL).port or 5005
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    raise AssertionError("no process listens on the Rasa port")


def ready(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{RASA_URL}/health/ready", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise AssertionError("Rasa did not come back")


def test_a_reply_while_rasa_restarts_is_reported_then_delivered():
    import signal

    agent = Staff()
    sender = f"live-restart-{uuid.uuid4().hex[:8]}"
    rest_say(RASA_URL, sender, "转人工")
    agent.waiting(sender)
    assert agent.call("POST", f"/api/conversations/{sender}/claim")[0] == 200
    os.kill(rasa_pid(), signal.SIGKILL)  # the supervisor starts it again
    time.sleep(0.5)
    status, sent = agent.call("POST", f"/api/conversations/{sender}/messages", {"text": "重启期间的回复"})
    assert status == 503 and sent["status"] == "not_delivered"  # reported, never silently dropped
    states = [m["status"] for m in agent.conversation(sender)["staff_messages"] if m["id"] == sent["id"]]
    assert states == ["not_delivered"]
    ready(300)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the console sends it again once a server answers
        states = [m["status"] for m in agent.conversation(sender)["staff_messages"] if m["id"] == sent["id"]]
        if states != ["not_delivered"]:
            break
        time.sleep(1)
    assert states == ["pending"]
    answer = rest_say(RASA_URL, sender, "还在吗")
    assert "重启期间的回复" in texts(answer)
    assert agent.call("POST", f"/api/conversations/{sender}/close", {"note": "测试结束"})[0] == 200

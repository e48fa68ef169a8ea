"""Scale-out on PostgreSQL and Redis: two Rasa servers behind nginx (`ops/scale.py`).

Run by `make test-scale`. Fails, never skips, when PostgreSQL, Redis or nginx
is missing: the message says which and how to start it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, Iterator, List
from xml.etree import ElementTree

import pytest
import socketio

from ops.scale import RASA_PORTS, ScaleStack
from ops.services import ROOT
from tests.clients import rest_say, tracker, user_texts, wechat_post, wechat_text_xml

BURST = 16
QUESTIONS = ["一般多久到账", "怎么预防转账失败", "能不能再刷一次", "怎么核对收款人信息"]
TYPING_GAP_S = 0.6  # a fast typist: later messages arrive while earlier ones are still processed


@pytest.fixture(scope="module")
def stack() -> Iterator[ScaleStack]:
    # XIAOAN_SCALE_LOCK_STORE=stock runs the same tests on Rasa's own RedisLockStore
    servers = ScaleStack(lock_store=os.environ.get("XIAOAN_SCALE_LOCK_STORE", "atomic"))
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


def turns(events: List[Dict]) -> List[List[str]]:
    """[user text, bot events after it …] per user message, in stored order."""
    grouped: List[List[str]] = []
    for event in events:
        if event.get("event") == "user":
            grouped.append([event.get("text") or ""])
        elif event.get("event") == "bot" and grouped:
            grouped[-1].append(event.get("text") or "")
    return grouped


def send_all(stack: ScaleStack, user: str, texts: List[str], gap: float) -> Dict[int, List[Dict]]:
    """Sends every text for one sender from its own thread; `gap` 0 releases them together."""
    replies: Dict[int, List[Dict]] = {}
    errors: List[str] = []
    start = threading.Barrier(len(texts)) if gap == 0 else None

    def send(index: int) -> None:
        try:
            if start is not None:
                start.wait(30)
            replies[index] = rest_say(stack.url, user, texts[index], timeout=180)
        except Exception as error:  # noqa: BLE001 - recorded and asserted below
            errors.append(f"{index}: {error}")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
        time.sleep(gap)
    for thread in threads:
        thread.join(200)
    assert errors == []
    assert all(replies.get(i) for i in range(len(texts))), "every message got an answer"
    return replies


def test_simultaneous_messages_of_one_sender_are_served_one_at_a_time(stack: ScaleStack) -> None:
    """16 messages at the same instant, spread over both servers: the lock lets one at a time in."""
    user = f"burst-{uuid.uuid4().hex[:8]}"
    texts = [f"第{i + 1}个问题：{QUESTIONS[i % len(QUESTIONS)]}" for i in range(BURST)]
    seen_before = len(stack.upstream_ports_seen())
    replies = send_all(stack, user, texts, gap=0)
    served_by = stack.upstream_ports_seen()[seen_before:]
    assert set(RASA_PORTS) <= set(served_by), f"nginx used only {set(served_by)}"

    stored = turns(tracker(stack.url, user, stack.auth_token)["events"])
    assert sorted(turn[0] for turn in stored) == sorted(texts), "a message lost or stored twice"
    for turn in stored:  # each message's stored replies are exactly what its sender received
        index = texts.index(turn[0])
        assert turn[1:] == [m.get("text") or "" for m in replies[index]], f"interleaved at {turn[0]}"


def test_fast_typing_across_both_servers_keeps_the_order(stack: ScaleStack) -> None:
    user = f"typing-{uuid.uuid4().hex[:8]}"
    texts = [f"再问一下，第{i + 1}条：{QUESTIONS[(i + 1) % len(QUESTIONS)]}" for i in range(10)]
    seen_before = len(stack.upstream_ports_seen())
    send_all(stack, user, texts, gap=TYPING_GAP_S)
    assert set(RASA_PORTS) <= set(stack.upstream_ports_seen()[seen_before:])
    stored = turns(tracker(stack.url, user, stack.auth_token)["events"])
    assert [turn[0] for turn in stored] == texts, "lost, duplicated or reordered"
    assert all(len(turn) > 1 for turn in stored), "a message without its own reply before the next one"


def test_socketio_session_sticks_to_one_server_through_nginx(stack: ScaleStack) -> None:
    client = socketio.Client(reconnection=False)
    answers: List[str] = []
    got_answer = threading.Event()

    @client.on("bot_uttered")
    def on_bot(message: Dict) -> None:
        answers.append(message.get("text") or "")
        got_answer.set()

    # long polling only: every poll is a new HTTP request carrying the session id
    client.connect(stack.url, transports=["polling"], socketio_path="socket.io", wait_timeout=20)
    try:
        session = f"sticky-{uuid.uuid4().hex[:8]}"
        client.emit("session_request", {"session_id": session})
        time.sleep(1)
        for _ in range(3):  # several polls: all must find the session
            got_answer.clear()
            client.emit("user_uttered", {"message": "一般多久到账", "session_id": session})
            assert got_answer.wait(60), "no answer over socket.io through nginx"
    finally:
        client.disconnect()
    assert len(answers) >= 3 and all(answers)


def test_wechat_retries_meet_the_first_attempts_server(stack: ScaleStack) -> None:
    """nginx hashes WeChat callbacks on the OpenID, so a retried MsgId runs the dialogue once."""
    openid = f"o_scale_{uuid.uuid4().hex[:8]}"
    message = wechat_text_xml(openid, "钱扣了但是显示交易失败")
    answers = [wechat_post(stack.url, stack.wechat_token, message, openid=openid) for _ in range(3)]
    assert all(status == 200 for status, _ in answers)
    contents = {ElementTree.fromstring(body).findtext("Content") for _, body in answers}
    assert len(contents) == 1 and "冲正" in contents.pop()
    assert user_texts(tracker(stack.url, openid, stack.auth_token)["events"]) == ["钱扣了但是显示交易失败"]


def test_killing_one_server_mid_load_loses_no_conversation(stack: ScaleStack) -> None:
    conversations, turns = 30, 8
    out = ROOT / "results" / "scale_load.json"
    out.parent.mkdir(exist_ok=True)
    requests_before = len(stack.upstream_ports_seen())
    load = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "load_test.py"), "--url", stack.url,
         "--conversations", str(conversations), "--turns", str(turns), "--json-out", str(out)],
        cwd=ROOT, env={**os.environ, "RASA_AUTH_TOKEN": stack.auth_token},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    # kill once a quarter of the messages are answered: conversations are under way on both servers
    deadline = time.monotonic() + 300
    while len(stack.upstream_ports_seen()) - requests_before < conversations * turns // 4:
        assert load.poll() is None and time.monotonic() < deadline, "the load ended before the kill"
        time.sleep(0.2)
    victim = stack.rasa[0]
    victim.kill()  # SIGKILL: no goodbye. nginx re-sends its requests; ids make that safe
    assert load.poll() is None, "the load ended before the kill"
    output, _ = load.communicate(timeout=900)
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert load.returncode == 0, output[-3000:]
    assert figures["failed"] == 0 and figures["passed"] == conversations, output[-3000:]
    assert figures["errors"] == 0

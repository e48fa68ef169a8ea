"""Scale-out on PostgreSQL and Redis: two Rasa servers behind nginx (`ops/scale.py`).

Run by `make test-scale`. Fails, never skips, when PostgreSQL, Redis or nginx
is missing: the message says which and how to start it.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, Iterator, List

import pytest
import socketio

from ops.client import rest_say, tracker, user_texts
from ops.scale import RASA_PORTS, ScaleStack
from ops.services import ROOT

BURST = 16
BURST_GAP_S = 0.25  # sent one after another, all in flight together


@pytest.fixture(scope="module")
def stack() -> Iterator[ScaleStack]:
    servers = ScaleStack()
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


def test_one_sender_burst_across_both_servers_loses_nothing_and_keeps_order(stack: ScaleStack) -> None:
    user = f"burst-{uuid.uuid4().hex[:8]}"
    questions = ["一般多久到账", "怎么预防转账失败", "能不能再刷一次", "怎么核对收款人信息"]
    texts = [f"第{i + 1}个问题：{questions[i % len(questions)]}" for i in range(BURST)]
    replies: Dict[int, List[Dict]] = {}
    errors: List[str] = []

    def send(index: int) -> None:
        try:
            replies[index] = rest_say(stack.url, user, texts[index], timeout=180)
        except Exception as error:  # noqa: BLE001 - recorded and asserted below
            errors.append(f"{index}: {error}")

    log_lines_before = len(stack.upstream_ports_seen())
    threads = []
    for index in range(BURST):
        thread = threading.Thread(target=send, args=(index,))
        thread.start()
        threads.append(thread)
        time.sleep(BURST_GAP_S)
    for thread in threads:
        thread.join(200)

    assert errors == []
    assert all(replies[i] for i in range(BURST)), "every message got an answer"
    served_by = stack.upstream_ports_seen()[log_lines_before:]
    assert set(RASA_PORTS) <= set(served_by), f"nginx used only {set(served_by)}"
    stored = turns(tracker(stack.url, user, stack.auth_token)["events"])
    assert [turn[0] for turn in stored] == texts, "lost, duplicated or reordered user messages"
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


def test_killing_one_server_mid_load_loses_no_conversation(stack: ScaleStack) -> None:
    out = ROOT / "results" / "scale_load.json"
    out.parent.mkdir(exist_ok=True)
    load = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "load_test.py"), "--url", stack.url,
         "--conversations", "20", "--turns", "6", "--json-out", str(out)],
        cwd=ROOT, env={**__import__("os").environ, "RASA_AUTH_TOKEN": stack.auth_token},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    time.sleep(8)  # conversations are under way on both servers
    assert load.poll() is None, "the load finished before a server could be killed"
    victim = stack.rasa[0]
    victim.stop()  # SIGTERM, as Kubernetes does: in-flight requests finish, new ones go elsewhere
    output, _ = load.communicate(timeout=900)
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert load.returncode == 0, output[-3000:]
    assert figures["failed"] == 0 and figures["passed"] == 20, output[-3000:]
    assert figures["errors"] == 0

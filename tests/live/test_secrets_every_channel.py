"""One way in: a card number, a PIN and an SMS code sent through every channel reach no tracker and no log.

REST, WeChat and socket.io each send the three secrets (different digits per
channel, so a leak names its channel). The stored trackers, the Rasa
server's log and the action server's log must hold none of them; each
message's warning must still be given. Socket.io also gets the same retry
safety as REST and WeChat: the same message id twice is stored once.

Runs against `make run`'s servers (`make test-live` starts them).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, List
from urllib.parse import quote

import pytest

from tests.clients import api_token, WebchatClient
from tests.live.test_channels import RASA_URL, rest, text_message, wechat_post

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.live

SECRETS_BY_CHANNEL: Dict[str, Dict[str, str]] = {
    "rest": {"card": "6222021111222233334", "pin": "318274", "code": "590613"},
    "wechat": {"card": "6228480444555566667", "pin": "427385", "code": "601724"},
    "socketio": {"card": "6217000777888899990", "pin": "536496", "code": "712835"},
}


def messages_with(secrets: Dict[str, str]) -> List[str]:
    return [f"我的卡号{secrets['card']}", f"密码是{secrets['pin']}", f"验证码{secrets['code']}"]


def leak_patterns(secrets: Dict[str, str]) -> List["re.Pattern[str]"]:
    """The whole card number, the card number without its tail, the PIN and the code."""
    card = secrets["card"]
    return [re.compile(card), re.compile(card[:-4]), re.compile(rf"(?<!\d){secrets['pin']}(?!\d)"),
            re.compile(rf"(?<!\d){secrets['code']}(?!\d)")]


def tracker_json(sender_id: str) -> str:
    url = f"{RASA_URL}/conversations/{quote(sender_id, safe='')}/tracker?include_events=ALL&token={quote(api_token() or '')}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def log_paths() -> List[Path]:
    paths = []
    for variable, default in (("RASA_LOG", "var/rasa-test.log"), ("ACTIONS_LOG", "var/actions-test.log")):
        path = Path(os.environ.get(variable) or default)
        paths.append(path if path.is_absolute() else ROOT / path)
    return paths


async def socketio_say(session_id: str, texts: List[str], message_ids: List[str]) -> List[List[str]]:
    """Sends each text with its id, as the chat page does; the bot's texts for each, in order."""
    client = WebchatClient()
    await client.connect(RASA_URL, session_id)
    try:
        answers = []
        for text, message_id in zip(texts, message_ids):
            await client.say(session_id, text, {"message_id": message_id})
            said = [(await client.next_reply(60)).get("text") or ""]
            while True:  # the rest of this turn's messages
                try:
                    said.append((await client.next_reply(2.0)).get("text") or "")
                except asyncio.TimeoutError:
                    break
            answers.append(said)
        return answers
    finally:
        await client.close()


def test_no_channel_lets_a_secret_into_a_tracker_or_a_log():
    offsets = {path: path.stat().st_size for path in log_paths() if path.is_file()}
    assert len(offsets) == 2, f"server logs not found: {log_paths()} (set RASA_LOG / ACTIONS_LOG)"
    senders = {}

    senders["rest"] = f"live-secret-{uuid.uuid4().hex[:8]}"
    warned = [" ".join(m.get("text", "") for m in rest(senders["rest"], text))
              for text in messages_with(SECRETS_BY_CHANNEL["rest"])]
    assert all("请不要" in said for said in warned), warned

    senders["wechat"] = f"o_secret_{uuid.uuid4().hex[:8]}"
    base = int(time.time() * 1000) % 10**12
    for i, text in enumerate(messages_with(SECRETS_BY_CHANNEL["wechat"])):
        status, _ = wechat_post(text_message(senders["wechat"], text, base + i))
        assert status == 200

    senders["socketio"] = f"web-secret-{uuid.uuid4().hex[:8]}"
    texts = messages_with(SECRETS_BY_CHANNEL["socketio"])
    answers = asyncio.run(socketio_say(senders["socketio"], texts, [f"web-{uuid.uuid4().hex}" for _ in texts]))
    assert all(any("请不要" in a for a in said) for said in answers), answers

    time.sleep(1.0)  # WeChat answers in the background; let the log handlers flush
    for channel, sender_id in senders.items():
        stored = tracker_json(sender_id)
        assert json.loads(stored)["events"], f"{channel}: nothing stored"
        found = [p.pattern for p in leak_patterns(SECRETS_BY_CHANNEL[channel]) if p.search(stored)]
        assert not found, f"{channel}: the stored tracker holds {found}"
    for path, offset in offsets.items():
        with path.open("rb") as log:
            log.seek(offset)
            written = log.read().decode("utf-8", "replace")
        for channel, secrets in SECRETS_BY_CHANNEL.items():
            found = [p.pattern for p in leak_patterns(secrets) if p.search(written)]
            assert not found, f"{path.name}: {channel}'s {found} written to the log"


def test_socketio_message_sent_twice_is_stored_once_and_answered_twice():
    session_id = f"web-retry-{uuid.uuid4().hex[:8]}"
    message_id = f"web-{uuid.uuid4().hex}"
    first, second = asyncio.run(socketio_say(session_id, ["POS机一直提示通讯失败"] * 2, [message_id] * 2))
    assert first and first == second
    events = json.loads(tracker_json(session_id))["events"]
    users = [e for e in events if e["event"] == "user"]
    assert [e.get("message_id") for e in users] == [message_id]

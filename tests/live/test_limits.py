"""Issue 19 against the real Rasa server (``make test-live``): too long, too big and too fast are answered
with their reason and leave nothing in the conversation; an honest conversation goes on.

The messages come from 127.0.0.1, which has no per-address rate (XIAOAN_RATE_EXEMPT_ADDRESSES): what is
checked here is the per-conversation rate (20 a minute) and the sizes, which hold for every address.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Tuple

import pytest

from tests.clients import api_token, tracker

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")

pytestmark = pytest.mark.live


def post(body: Dict[str, Any]) -> Tuple[int, Any, Dict[str, str]]:
    request = urllib.request.Request(f"{RASA_URL}/webhooks/rest/webhook", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def test_too_long_and_too_big_are_refused_and_not_stored():
    sender = f"limits-size-{uuid.uuid4().hex[:8]}"
    status, body, _ = post({"sender": sender, "message": "转账失败" * 300})
    assert status == 413 and "字以内" in body["error"]
    status, body, _ = post({"sender": sender, "message": "你好", "metadata": {"junk": "x" * 9000}})
    assert status == 413 and "KB" in body["error"]
    status, body, _ = post({"sender": sender, "message": "你好", "metadata": {"identity": "x" * 4096}})
    assert status == 200 and body, "a maximal (here invalid) identity token is still a message"
    texts = [e.get("text") for e in tracker(RASA_URL, sender, api_token())["events"] if e.get("event") == "user"]
    assert texts == ["你好"]


def test_a_burst_from_one_conversation_is_slowed_down_and_runs_nothing_more():
    sender = f"limits-burst-{uuid.uuid4().hex[:8]}"
    answers = [post({"sender": sender, "message": "你好" if i == 0 else f"第{i}次：转账失败"}) for i in range(23)]
    statuses = [status for status, _, _ in answers]
    assert statuses.count(429) >= 3 and all(status in (200, 429) for status in statuses), statuses
    status, body, headers = answers[-1]
    assert status == 429 and body["error"] and int(headers["Retry-After"]) >= 1
    stored = [e for e in tracker(RASA_URL, sender, api_token())["events"] if e.get("event") == "user"]
    assert len(stored) == statuses.count(200) <= 20

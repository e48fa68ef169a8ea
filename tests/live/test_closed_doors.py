"""Doors that must be shut on `make run`'s servers, tried as an attacker on the same machine would.

Before issue 19 each of these answered: Rasa's HTTP API read any conversation and took events with no token
(loopback, but any local process or a DNS-rebinding page reaches loopback), the action server ran any call, and
the staff route trusted the caller's address. Run by `make test-live` against `make run`'s set-up.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Optional, Tuple

import pytest

from tests.clients import api_token, identity_token, rest_say, tracker
from tests.helpers import forged_action_call

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
ACTION_URL = f"http://127.0.0.1:{os.environ.get('ACTION_PORT', '5055')}"

pytestmark = pytest.mark.live


def call(method: str, url: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json", **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode("utf-8", "replace")


def test_the_http_api_needs_its_token_even_on_loopback():
    owner = f"doors-{uuid.uuid4().hex[:8]}"
    rest_say(RASA_URL, owner, "查一下参考号202611250001这笔交易", identity=identity_token("C0001"))
    status, page = call("GET", f"{RASA_URL}/conversations/{owner}/tracker")
    assert status == 401 and "202611250001" not in page
    status, _ = call("POST", f"{RASA_URL}/conversations/{owner}/tracker/events",
                     [{"event": "slot", "name": "card_tail", "value": "1234"}])
    assert status == 401
    assert call("GET", f"{RASA_URL}/conversations/{owner}/tracker?token=guess")[0] == 401
    assert api_token() and tracker(RASA_URL, owner)["sender_id"] == owner  # the deployment's own token works


def test_the_action_server_runs_no_call_but_the_rasa_servers():
    forged = forged_action_call()
    status, answer = call("POST", f"{ACTION_URL}/webhook", forged)
    assert status == 401 and "3500" not in answer


def test_the_staff_route_needs_the_token_not_an_address():
    body = {"conversation_id": f"doors-{uuid.uuid4().hex[:8]}", "messages": [], "slots": {}}
    assert call("POST", f"{RASA_URL}/webhooks/staff/act", body)[0] in (401, 403)
    assert call("POST", f"{RASA_URL}/webhooks/staff/act", body, {"Authorization": "Bearer guess"})[0] in (401, 403)

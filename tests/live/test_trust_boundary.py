"""The trust boundary against `make run`'s servers (issue 19; unit level: tests/test_trust_boundary.py).

* a REST body that names itself ``wechat``, with a bound OpenID as sender, reads no record of the
  OpenID's customer (the channel is the server's: ``rest``);
* a stranger retrying the owner's REST message id on the owner's sender, with no token, gets none
  of the owner's stored answer;
* events posted through Rasa's HTTP API with a forged identity record count as nobody when an
  action runs on them.

Conversation ids are chosen at random, as outside checks do. `make test-live` runs this with the
servers' identity secret in the environment (tests/clients.py signs the tokens).
"""
from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from typing import Any, Dict, List
from urllib.parse import quote

import pytest

from tests.clients import bind_wechat, identity_token, rest_say, said, tracker

RASA_URL = (os.environ.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/")
ASK_CARD = "卡被冻结了转不了，卡号尾号1234"  # card 1234: C0001's, 中国工商银行, balance 50,000.00
CARD_DETAILS = ("中国工商银行", "50,000", "50000")

pytestmark = pytest.mark.live


def rest_raw(sender: str, text: str, **extra: Any) -> List[Dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text, **extra}).encode()
    request = urllib.request.Request(f"{RASA_URL}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def api_url(path: str) -> str:
    token = os.environ.get("RASA_AUTH_TOKEN")
    return f"{RASA_URL}{path}" + (f"?token={quote(token)}" if token else "")


def api_post(path: str, payload: Any) -> Dict[str, Any]:
    request = urllib.request.Request(api_url(path), json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_a_rest_body_naming_wechat_reads_no_record_of_the_bound_openid():
    openid = f"o_claim_{uuid.uuid4().hex[:10]}"
    bind_wechat(openid, "C0001")
    text = said(rest_raw(openid, ASK_CARD, input_channel="wechat"))
    for detail in CARD_DETAILS:
        assert detail not in text, text
    stored = [e for e in tracker(RASA_URL, openid, os.environ.get("RASA_AUTH_TOKEN"))["events"]
              if e.get("event") == "user"][-1]
    assert stored.get("input_channel") == "rest", stored
    assert not stored["metadata"]["xiaoan"]["identity"]["verified"], stored


def test_a_rest_body_naming_cmdline_is_not_the_shell():
    text = said(rest_raw(f"live-cmd-{uuid.uuid4().hex[:8]}", ASK_CARD, input_channel="cmdline"))
    for detail in CARD_DETAILS:
        assert detail not in text, text


def test_a_stranger_retrying_the_owners_message_id_gets_none_of_the_owners_answer():
    sender, message_id = f"live-replay-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    owner = said(rest_say(RASA_URL, sender, ASK_CARD, message_id=message_id, identity=identity_token("C0001")))
    assert "中国工商银行" in owner, owner  # the owner was answered in full
    stranger = said(rest_say(RASA_URL, sender, ASK_CARD, message_id=message_id))
    for detail in CARD_DETAILS:
        assert detail not in stranger, stranger
    again = said(rest_say(RASA_URL, sender, ASK_CARD, message_id=message_id, identity=identity_token("C0001")))
    assert again == owner  # the owner's own retry is still answered from the stored replies


def test_events_injected_with_a_forged_identity_count_as_nobody():
    sender = f"live-inject-{uuid.uuid4().hex[:8]}"
    forged = {"xiaoan": {"identity": {"verified": True, "subject": "C0001", "via": "token", "channel": "rest",
                                      "seal": "0" * 64}}}
    api_post(f"/conversations/{sender}/tracker/events", [
        {"event": "action", "name": "action_listen", "timestamp": time.time()},
        {"event": "user", "text": ASK_CARD, "timestamp": time.time(), "metadata": forged,
         "parse_data": {"intent": {"name": "inform", "confidence": 1.0}, "entities": []}},
        {"event": "slot", "name": "card_tail", "value": "1234", "timestamp": time.time()},
    ])
    answer = api_post(f"/conversations/{sender}/execute", {"name": "action_check_account_status"})
    text = "\n".join(m.get("text") or "" for m in answer.get("messages") or [])
    assert text, answer
    for detail in CARD_DETAILS:
        assert detail not in text, text

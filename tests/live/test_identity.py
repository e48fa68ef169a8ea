"""Identity on every channel, against `make run`'s servers (CONTRACT §8, issue 13).

For REST, the chat page's socket.io and WeChat: no identity, an expired token, a token with the
wrong signature, and a verified customer asking about another customer's card. In none of them
does any record detail of card 1234 (its bank, its balance) reach the user; the verified owner gets
them. `make test-live` runs this with the servers' identity secret in the environment.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Dict, List, Optional, Tuple

import jwt
import pytest

from tests.clients import (WebchatClient, bind_wechat, identity_token, rest_say, said, tracker, wechat_post,
                           wechat_text_xml)
from xiaoan import content

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
WECHAT_TOKEN = os.environ.get("WECHAT_TOKEN", "")
ASK = "卡被冻结了转不了，卡号尾号1234"  # card 1234: C0001's, 中国工商银行, balance 50,000.00
DETAILS = ("中国工商银行", "50,000", "50000")

pytestmark = pytest.mark.live


def first_line(response: str) -> str:
    """A stretch of a response's text that is the same however it is filled."""
    return content.render(response).split("：")[0][:30]


def expired() -> str:
    return jwt.encode({"sub": "C0001", "exp": int(time.time()) - 60}, secret(), algorithm="HS256")


def forged() -> str:
    return jwt.encode({"sub": "C0001", "exp": int(time.time()) + 600}, "not-the-bank-secret-at-all-0000",
                      algorithm="HS256")


def secret() -> str:
    from xiaoan.identity.tokens import secret as configured

    found = configured()
    assert found, "make test-live passes the servers' identity secret to the tests"
    return found


def assert_nothing_disclosed(text: str) -> None:
    for detail in DETAILS:
        assert detail not in text, text


# ------------------------------------------------------------------ REST

def rest_conversation(identity: Optional[str]) -> Tuple[str, str]:
    sender = f"live-id-{uuid.uuid4().hex[:8]}"
    return said(rest_say(RASA_URL, sender, ASK, identity=identity)), sender


def test_rest_owner_gets_their_card():
    text, sender = rest_conversation(identity_token("C0001"))
    assert "中国工商银行" in text, text
    stored = [e for e in tracker(RASA_URL, sender)["events"] if e.get("event") == "user"][-1]
    assert stored["metadata"]["xiaoan"]["identity"]["subject"] == "C0001"
    assert "identity" not in stored["metadata"], "the token is not stored"


@pytest.mark.parametrize("case", ["none", "expired", "forged", "another_customer"])
def test_rest_discloses_nothing_without_the_owners_identity(case):
    token = {"none": None, "expired": expired(), "forged": forged(), "another_customer": identity_token("C0002")}[case]
    text, _ = rest_conversation(token)
    assert_nothing_disclosed(text)
    if case == "another_customer":  # the same answer as a number that does not exist
        assert "没有查到尾号1234的卡片记录" in text, text
    else:
        assert first_line("utter_sign_in_needed") in text, text
    if case == "expired":
        assert first_line("utter_identity_refused_expired") in text, text
    if case == "forged":
        assert first_line("utter_identity_refused_invalid") in text, text


# ------------------------------------------------------------------ socket.io (the chat page's channel)

async def socketio_conversation(identity: Optional[str]) -> str:
    client = WebchatClient()
    session = await client.connect(RASA_URL, uuid.uuid4().hex)
    custom: Dict[str, object] = {"language": "zh", "message_id": f"web-{uuid.uuid4().hex}"}
    if identity:
        custom["identity"] = identity
    await client.say(session, ASK, custom)
    replies: List[str] = []
    try:
        while True:
            replies.append((await client.next_reply(timeout=20 if not replies else 4)).get("text") or "")
    except asyncio.TimeoutError:
        pass
    finally:
        await client.close()
    return "\n".join(replies)


@pytest.mark.parametrize("case", ["owner", "none", "expired", "forged", "another_customer"])
def test_socketio_shows_the_card_to_its_owner_only(case):
    token = {"owner": identity_token("C0001"), "none": None, "expired": expired(), "forged": forged(),
             "another_customer": identity_token("C0002")}[case]
    text = asyncio.run(socketio_conversation(token))
    assert text, "no answer on socket.io"
    if case == "owner":
        assert "中国工商银行" in text, text
        return
    assert_nothing_disclosed(text)
    if case == "another_customer":
        assert "没有查到尾号1234的卡片记录" in text, text
    else:
        assert first_line("utter_sign_in_needed") in text, text


# ------------------------------------------------------------------ WeChat (a bound OpenID)

def wechat_say(openid: str, text: str) -> str:
    from xml.etree import ElementTree

    status, body = wechat_post(RASA_URL, WECHAT_TOKEN, wechat_text_xml(openid, text), openid=openid)
    assert status == 200, body
    passive = (ElementTree.fromstring(body).findtext("Content") or "") if body.strip().startswith("<xml") else body
    # a long turn goes out in several WeChat messages: read every bot message the turn stored
    stored = [e.get("text") or "" for e in tracker(RASA_URL, openid)["events"] if e.get("event") == "bot"]
    return "\n".join([passive, *stored])


@pytest.mark.parametrize("case", ["bound_owner", "unbound", "bound_to_another_customer"])
def test_wechat_answers_by_the_openids_binding(case):
    assert WECHAT_TOKEN, "ops.local sets WECHAT_TOKEN for the live run"
    openid = f"o_id_{uuid.uuid4().hex[:10]}"
    if case != "unbound":
        bind_wechat(openid, "C0001" if case == "bound_owner" else "C0002")
    text = wechat_say(openid, ASK)
    if case == "bound_owner":
        assert "中国工商银行" in text, text
        return
    assert_nothing_disclosed(text)
    if case == "unbound":
        assert first_line("utter_sign_in_needed") in text, text
    else:
        assert "没有查到尾号1234的卡片记录" in text, text

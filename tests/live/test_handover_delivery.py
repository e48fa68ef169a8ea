"""Every staff reply reaches its customer, and nobody waits for a person forever (issue 23), against
`make run`'s servers (make test-live: staff hours all day, XIAOAN_HANDOVER_WAIT_LIMIT short, WeChat's API
a stand-in on WECHAT_API_BASE's port):

* a REST client stand-in (a bank's app) waiting on the pull door gets a staff reply with no user message in
  between, once; another customer's token pulls nothing;
* a paused conversation nobody claims is told where it stands after the limit, and the bot answers again;
* a WeChat reply refused for the 48-hour window arrives with the user's next message, once, in order.

The socket.io page reconnecting to the other server: tests/scale/test_scale.py.
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Dict, List, Tuple

import pytest

from tests.clients import identity_token, rest_say, wechat_post, wechat_text_xml
from tests.stand_ins import bank_app
from tests.stand_ins.bank_app import BankApp
from tests.live.test_handover import RASA_URL, WECHAT_TOKEN, Staff, queued_text_start, texts, wechat_api  # noqa: F401
from xiaoan import content
from xiaoan.handover.waiting import wait_limit

pytestmark = pytest.mark.live


def pull(sender: str, token: str, wait_s: float) -> Tuple[int, Any]:
    return bank_app.pull(RASA_URL, sender, token, wait_s)


def handed_over(sender: str, token: str) -> None:
    rest_say(RASA_URL, sender, "POS机一直提示通讯失败", identity=token)
    answer = texts(rest_say(RASA_URL, sender, "转人工", identity=token))
    assert any(t.startswith(queued_text_start()) for t in answer), answer


def test_a_rest_client_waiting_gets_the_staff_reply_with_no_user_message_in_between():
    agent = Staff()
    owner = identity_token("C0001")
    sender = f"live-pull-{uuid.uuid4().hex[:8]}"
    handed_over(sender, owner)
    agent.waiting(sender)
    assert agent.call("POST", f"/api/conversations/{sender}/claim")[0] == 200
    assert pull(sender, owner, 5) == (200, [{"recipient_id": sender, "custom": {"from": "staff"},
                                             "text": content.render("utter_staff_joined", staff_id=agent.staff_id)}])
    # the attack: another customer's good token, the owner's sender id
    assert pull(sender, identity_token("C0002"), 0)[0] == 403

    with BankApp(RASA_URL, sender, owner, wait_s=10) as app:  # the app waits; the user types nothing
        time.sleep(1.0)
        status, sent = agent.call("POST", f"/api/conversations/{sender}/messages", {"text": "您的冲正已到账，请查收"})
        sent_at = time.monotonic()
        assert status == 200 and sent["status"] == "pending", sent
        assert app.wait_for(1, 30) == ["您的冲正已到账，请查收"]
        time.sleep(2.0)  # nothing more comes: once
    assert [m for _, m in app.received] == [{"recipient_id": sender, "text": "您的冲正已到账，请查收",
                                             "custom": {"from": "staff"}}]
    assert app.refusals == []
    assert app.received[0][0] - sent_at < 5, "the waiting app was answered when the reply was written"
    # once: neither the next pull nor the user's next message carries it again
    assert pull(sender, owner, 0) == (200, [])
    assert texts(rest_say(RASA_URL, sender, "好的谢谢", identity=owner)) == []
    view = agent.conversation(sender)
    assert [m["status"] for m in view["staff_messages"]] == ["delivered", "delivered"]


def test_nobody_claims_the_user_is_told_where_they_stand_and_the_bot_answers_again():
    agent = Staff()  # signed in: someone is on duty, so the conversation pauses
    owner = identity_token("C0001")
    sender = f"live-wait-{uuid.uuid4().hex[:8]}"
    handed_over(sender, owner)
    item = agent.waiting(sender)
    limit = wait_limit().total_seconds()
    deadline = time.monotonic() + limit + 60
    told: List[Dict[str, Any]] = []
    while time.monotonic() < deadline and not told:
        status, told = pull(sender, owner, 20)
        assert status == 200
    assert len(told) == 1, told
    notice = told[0]["text"]
    assert "custom" not in told[0]  # the bot's words, not a person's
    assert item["ticket"] in notice and notice.startswith(content.render("utter_handover_waited_long")[:8])
    entry = next(q for q in agent.call("GET", "/api/queue")[1] if q["conversation_id"] == sender)
    assert entry["told"] == "waited_long" and entry["waiting_s"] >= limit  # still queued, and says so
    answer = texts(rest_say(RASA_URL, sender, "一般多久到账", identity=owner))
    assert answer and all(t != notice for t in answer), answer  # the bot answers again; the notice came once
    assert agent.call("POST", f"/api/conversations/{sender}/claim")[0] == 200  # a person can still take it


def test_a_wechat_reply_outside_the_window_arrives_with_the_next_message(wechat_api):  # noqa: F811
    agent = Staff()
    openid = f"o-live-win-{uuid.uuid4().hex[:8]}"
    status, _ = wechat_post(RASA_URL, WECHAT_TOKEN, wechat_text_xml(openid, "转人工"), openid=openid)
    assert status == 200
    agent.waiting(openid)
    wechat_api.errcode = 45015  # WeChat refuses: the user's 48 hours are over
    assert agent.call("POST", f"/api/conversations/{openid}/claim")[0] == 200
    status, sent = agent.call("POST", f"/api/conversations/{openid}/messages", {"text": "您的工单已处理"})
    assert status == 200 and sent["status"] == "window_closed", sent
    assert [m["status"] for m in agent.conversation(openid)["staff_messages"]] == ["window_closed", "window_closed"]
    wechat_api.errcode = 0
    refused = len(wechat_api.texts_for(openid))  # the stand-in recorded the refused attempts too
    status, body = wechat_post(RASA_URL, WECHAT_TOKEN, wechat_text_xml(openid, "还在吗"), openid=openid)
    assert status == 200
    joined = content.render("utter_staff_joined", staff_id=agent.staff_id)
    reply = content.render("utter_staff_message", staff_id=agent.staff_id, text="您的工单已处理")
    arrived = body
    deadline = time.monotonic() + 15
    while reply not in arrived and time.monotonic() < deadline:  # the passive reply, or the API if it overflowed
        time.sleep(0.2)
        arrived = body + "".join(wechat_api.texts_for(openid)[refused:])
    assert joined in arrived and reply in arrived and arrived.index(joined) < arrived.index(reply)
    status, again = wechat_post(RASA_URL, WECHAT_TOKEN, wechat_text_xml(openid, "好的"), openid=openid)
    assert status == 200 and reply not in again  # once
    assert [m["status"] for m in agent.conversation(openid)["staff_messages"]] == ["delivered", "delivered"]


def test_the_queue_ranks_a_scam_report_before_an_older_request():
    agent = Staff()
    older, scam = f"live-rank-{uuid.uuid4().hex[:8]}", f"live-scam-{uuid.uuid4().hex[:8]}"
    rest_say(RASA_URL, older, "转人工")
    agent.waiting(older)
    rest_say(RASA_URL, scam, "有人打电话说我转账失败了，要我把验证码告诉他才能退款")
    agent.waiting(scam)
    queue = {q["conversation_id"]: q for q in agent.call("GET", "/api/queue")[1]}
    assert queue[scam]["reason"] == "fraud_report" and queue[scam]["urgent"] is True
    assert queue[scam]["rank"] < queue[older]["rank"]
    assert queue[older]["waiting_s"] >= queue[scam]["waiting_s"]  # the older one waited longer, yet comes after

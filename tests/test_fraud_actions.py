"""action_fraud_warning, action_fraud_reminder and the question notices, on what the ingress recorded.

They write no words: these tests check which responses of domain.yml were
chosen (``composed_of`` for a message the action joined, ``response`` for one
Rasa renders) and that the facts are filled.
"""
import asyncio

import pytest

from actions.checks import ActionCheckTerminalStatus
from actions.forms import ValidateSlotMappings
from actions.fraud_warning import (
    QUESTION_INTENTS,
    ActionFraudReminder,
    ActionFraudWarning,
    fraud_warning_parts,
    question_notices,
)
from actions.tickets import ActionCreateTicket
from tests.helpers import admitted, chosen, make_tracker, run, slot_events
from xiaoan import content
from xiaoan.text.fraud import FRAUD_PATTERNS, IMPERSONATION_KINDS, URGENT_KINDS

FACTS = content.facts()


# -- the warning, fitted to what was described ------------------------------------------------------


@pytest.mark.parametrize(
    "text, head, advice",
    [
        ("有人打电话说我转账失败要我提供验证码", "utter_fraud_warning_head", ["code_request"]),
        ("一个自称刑警的人说我涉嫌洗钱，让我把钱转到清查账户", "utter_fraud_warning_head_impersonation_authority",
         ["safe_account", "authority_threat", "impersonation_authority"]),
        ("对方说是法院的，交五千块保证金就能撤案", "utter_fraud_warning_head_impersonation_authority",
         ["upfront_fee", "impersonation_authority"]),
        ("快递客服说包裹丢了要理赔，让我报卡号和有效期", "utter_fraud_warning_head_impersonation_courier",
         ["card_details", "impersonation_courier"]),
        ("自称银行客服的让我开屏幕共享", "utter_fraud_warning_head_impersonation_service",
         ["screen_share", "impersonation_service"]),
        ("他叫我刷流水才能退款", "utter_fraud_warning_head", ["turnover"]),
        ("有人冒充银联打电话给我", "utter_fraud_warning_head_impersonation_service", ["impersonation_service"]),
        ("有个人打电话说是我的朋友", "utter_fraud_warning_head", []),
        ("公司群里的王总让我马上给一个新账户打款", "utter_fraud_warning_head", ["boss_request"]),
        ("对方说转错钱给我了，叫我还到他另外一个账户", "utter_fraud_warning_head", ["overpay_refund"]),
        # an SMS read out is a code given away: that line says it, the SMS line is not repeated
        ("他让我把短信验证码读给他", "utter_fraud_warning_head", ["code_request"]),
    ],
)
def test_the_warning_names_the_scam_that_was_described(text, head, advice, dispatcher):
    events = run(ActionFraudWarning(), dispatcher, admitted(text, intent="fraud_report"))
    said = dispatcher.messages[0]
    lines = [f"utter_fraud_advice_{kind}" for kind in advice] or ["utter_fraud_advice_general"]
    assert chosen(said) == [head, *lines, "utter_fraud_warning_tail"]
    assert FACTS["police_hotline"] in said["text"] and FACTS["anti_fraud_hotline"] in said["text"]
    assert slot_events(events)["fraud_reminded"] is True


def test_police_or_a_court_is_not_called_customer_service_fraud(dispatcher):
    run(ActionFraudWarning(), dispatcher, admitted("说是检察院的，要求我把存款转到监管账户接受审查", intent="fraud_report"))
    first_line = dispatcher.messages[0]["text"].splitlines()[0]
    assert first_line == content.render("utter_fraud_warning_head_impersonation_authority")
    assert first_line != content.render("utter_fraud_warning_head_impersonation_service")


def test_every_signal_the_warning_names_has_its_line():
    responses = set(content.responses())
    assert {f"utter_fraud_advice_{kind}" for kind in URGENT_KINDS | set(IMPERSONATION_KINDS)} <= responses
    assert {f"utter_fraud_warning_head_{kind}" for kind in IMPERSONATION_KINDS} <= responses
    assert set(URGENT_KINDS) | set(IMPERSONATION_KINDS) == set(FRAUD_PATTERNS)


def test_an_impersonator_line_is_not_repeated_when_we_know_who_was_impersonated():
    assert fraud_warning_parts(["impersonator", "impersonation_service"]) == [
        "utter_fraud_warning_head_impersonation_service", "utter_fraud_advice_impersonation_service",
        "utter_fraud_warning_tail"]
    assert fraud_warning_parts(["impersonator"])[1] == "utter_fraud_advice_impersonator"


def test_the_warning_reads_the_recorded_signals_not_the_text(dispatcher):
    """The ingress's record (or the NLU's copy of it in the parse data) decides; the text is not read again."""
    unread = make_tracker(text="客服让我转到安全账户", intent="transfer_failed")  # never passed the ingress
    assert run(ActionFraudWarning(), dispatcher, unread) == [] and dispatcher.messages == []
    from_nlu = make_tracker(text="随便说说", intent="transfer_failed")
    from_nlu.latest_message["fraud_signals"] = ["screen_share"]
    run(ActionFraudWarning(), dispatcher, from_nlu)
    assert "utter_fraud_advice_screen_share" in chosen(dispatcher.messages[0])


def test_the_warning_is_silent_without_a_scam(dispatcher):
    assert run(ActionFraudWarning(), dispatcher, admitted("POS机死机了", intent="terminal_fault")) == []
    assert dispatcher.messages == []


# -- the user's question, still answered ---------------------------------------------------------------


def test_a_question_asked_beside_the_report_is_answered_after_the_warning(dispatcher):
    ranking = [{"name": "fraud_report", "confidence": 1.0}, {"name": "ask_arrival_time", "confidence": 0.41},
               {"name": "funds_returned", "confidence": 0.12}]
    run(ActionFraudWarning(), dispatcher, admitted("客服让我先交手续费才能退款，退款一般多久到账", intent="fraud_report", ranking=ranking))
    warning, answer = dispatcher.messages
    assert chosen(warning)[0].startswith("utter_fraud_warning_head")
    assert answer["response"] == "utter_ask_arrival_time"


@pytest.mark.parametrize(
    "ranking",
    [
        [{"name": "fraud_report", "confidence": 1.0}, {"name": "ask_arrival_time", "confidence": 0.05}],  # unsure
        [{"name": "fraud_report", "confidence": 1.0}, {"name": "charged_but_failed", "confidence": 0.6},
         {"name": "ask_retry", "confidence": 0.3}],  # the classifier's other reading is not a question
        [{"name": "fraud_report", "confidence": 1.0}],
    ],
)
def test_no_question_is_invented(ranking, dispatcher):
    run(ActionFraudWarning(), dispatcher, admitted("有人让我把验证码告诉他", intent="fraud_report", ranking=ranking))
    assert len(dispatcher.messages) == 1


def test_every_question_beside_a_report_has_its_answer():
    assert {f"utter_{intent}" for intent in QUESTION_INTENTS} <= set(content.responses())


# -- the reminder: once per conversation ----------------------------------------------------------------


def test_the_reminder_is_said_once(dispatcher):
    events = run(ActionFraudReminder(), dispatcher, make_tracker({}, intent="transfer_failed"))
    assert [m["response"] for m in dispatcher.messages] == ["utter_fraud_reminder"]
    assert slot_events(events) == {"fraud_reminded": True}
    again = type(dispatcher)()
    assert run(ActionFraudReminder(), again, make_tracker({"fraud_reminded": True})) == []
    assert again.messages == []


def test_after_the_reminder_a_check_or_a_ticket_does_not_repeat_it(dispatcher):
    reminded = {"fraud_reminded": True, "terminal_id": "10000002", "symptom": "网络/通讯故障"}
    run(ActionCheckTerminalStatus(), dispatcher, make_tracker(reminded))
    run(ActionCreateTicket(), dispatcher, make_tracker(reminded, intent="affirm"))
    assert not any(m.get("response") == "utter_fraud_reminder" for m in dispatcher.messages)


def test_a_hand_over_whose_ticket_failed_still_gets_the_reminder(dispatcher, monkeypatch):
    """The hand-over rule ends with action_fraud_reminder: a ticket store that is down says no reminder itself."""
    import actions.tickets as tickets

    def down():
        raise ConnectionError("ticket store down")

    monkeypatch.setattr(tickets, "get_backoffice", down)
    events = run(ActionCreateTicket(), dispatcher, make_tracker({}, intent="request_human"))
    assert "fraud_reminded" not in slot_events(events)
    slots = {"fraud_reminded": slot_events(events).get("fraud_reminded")}
    run(ActionFraudReminder(), dispatcher, make_tracker(slots, intent="request_human"))
    assert [m.get("response") for m in dispatcher.messages].count("utter_fraud_reminder") == 1


# -- the user's own question about fees or a scam's usual demands: the fact, no alert -------------------


@pytest.mark.parametrize(
    "text, notices",
    [
        ("退款要手续费吗", ["utter_fee_answer_refund"]),
        ("退货退款会扣手续费吗", ["utter_fee_answer_refund"]),
        ("卡被冻结了怎么恢复，要交费吗", ["utter_fee_answer_unfreeze"]),
        ("领POS机还要交激活费，正常吗", ["utter_fee_answer_pos"]),
        ("银行会打电话找我要验证码吗", ["utter_fraud_reminder"]),
        ("POS机死机了", []),
        ("有人说要交保证金才能把钱退给我", []),  # a report: the warning answers it
    ],
)
def test_a_fee_question_gets_the_plain_fact(text, notices, dispatcher):
    intent = "fraud_report" if "有人" in text else "ask_apply_pos"
    responses, events = question_notices(admitted(text, intent=intent))
    assert responses == notices
    assert ("utter_fraud_reminder" in notices) == (slot_events(events).get("fraud_reminded") is True)


def test_the_notices_are_said_before_the_answer_by_the_slot_action(dispatcher):
    tracker = admitted("退款要手续费吗", intent="charged_but_failed")
    asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_fee_answer_refund"]


def test_a_scam_question_after_the_reminder_is_not_reminded_again():
    responses, events = question_notices(admitted("你们会让我把钱转到安全账户吗", intent="ask_prevention",
                                                  fraud_reminded=True))
    assert responses == [] and events == []

"""No question asked again and again, unclear messages answered with their likeliest readings,
and an operating mistake answered for what it is (a PIN is no transaction to look up)."""

import pytest
from rasa_sdk import Tracker

from actions.asks import ActionAskCardTail, ActionAskErrorCode
from actions.fallback import ActionOfferReadings
from actions.forms import ValidateSlotMappings
from tests.helpers import make_tracker, run, slot_events
from xiaoan import content
from xiaoan.text.mistakes import OTHER, PIN, WRONG_ACCOUNT, mistake_kind


@pytest.mark.parametrize(
    "text, kind",
    [
        ("密码输错三次卡被锁了", PIN),
        ("客人PIN码按错了", PIN),
        ("验证码输错了", OTHER),  # a code is not the card's PIN
        ("收款账号输错了一位", WRONG_ACCOUNT),
        ("钱转给别人了，转错人了", WRONG_ACCOUNT),
        ("金额多打了一个零", OTHER),
        ("选成了预授权", OTHER),
    ],
)
def test_the_kind_of_mistake(text, kind):
    assert mistake_kind(text) == kind


def test_a_wrong_pin_has_no_transaction_to_look_up(dispatcher):
    tracker = make_tracker({"check_kind": "transaction"}, text="密码输错了三次", intent="input_error")
    events = slot_events(run(ValidateSlotMappings(), dispatcher, tracker))
    assert events["mistake"] == PIN and events["check_kind"] == "none"


def test_a_wrong_account_keeps_the_transaction_check(dispatcher):
    tracker = make_tracker({"check_kind": "transaction"}, text="收款卡号填错了", intent="input_error")
    events = slot_events(run(ValidateSlotMappings(), dispatcher, tracker))
    assert events["mistake"] == WRONG_ACCOUNT and "check_kind" not in events


def test_a_new_case_forgets_the_mistake(dispatcher):
    tracker = make_tracker({"mistake": WRONG_ACCOUNT}, text="显示失败但是钱扣了", intent="charged_but_failed")
    assert slot_events(run(ValidateSlotMappings(), dispatcher, tracker)) == {"mistake": None}


def test_each_mistake_has_its_own_answer_and_the_pin_answer_asks_for_nothing():
    answers = {kind: content.render("utter_input_error_intro", {"mistake": kind}) for kind in (PIN, WRONG_ACCOUNT, OTHER)}
    assert len(set(answers.values())) == 3
    assert "参考号" not in answers[PIN]
    assert "追回" in answers[WRONG_ACCOUNT] and "报案" in answers[WRONG_ACCOUNT]


def test_the_code_question_is_never_asked_twice_in_a_row(dispatcher):
    said, slots = [], {}
    for _ in range(4):
        dispatcher.messages.clear()
        events = run(ActionAskErrorCode(), dispatcher, make_tracker(slots, intent="deny"))
        said.append([m["response"] for m in dispatcher.messages])
        slots["error_code_asks"] = slot_events(events)["error_code_asks"]
    assert said == [["utter_ask_error_code"], ["utter_no_error_code"],
                    ["utter_no_error_code_again", "utter_offer_ticket"], ["utter_anything_else"]]


def test_a_code_given_resets_the_count(dispatcher):
    tracker = make_tracker({"error_code_asks": 2.0}, text="51", entities=[{"entity": "error_code", "value": "51"}])
    events = slot_events(run(ValidateSlotMappings(), dispatcher, tracker))
    assert events.get("error_code_asks", "unset") in (None, "unset")


def _tracker_with_asks(asks: int) -> Tracker:
    events = [{"event": "active_loop", "name": "diagnosis_form"}]
    events += [{"event": "action", "name": "action_ask_card_tail"}] * asks
    return make_tracker(text="5", events=events, active_loop="diagnosis_form")


@pytest.mark.parametrize("asked, response", [(0, "utter_ask_card_tail"), (1, "utter_ask_card_tail"),
                                             (2, "utter_ask_number_change_tack")])
def test_a_number_asked_twice_without_use_changes_tack(dispatcher, asked, response):
    run(ActionAskCardTail(), dispatcher, _tracker_with_asks(asked))
    message = dispatcher.messages[0]
    assert (message.get("composed_of") or [message.get("response")])[0] == response


def _unclear(ranking, entities=(), events=()):
    return make_tracker(text="?", intent="nlu_fallback", confidence=0.4, entities=list(entities), events=list(events),
                        ranking=[{"name": "nlu_fallback", "confidence": 0.45}] + ranking)


def test_an_unclear_message_gets_its_likeliest_readings_and_keeps_its_number(dispatcher):
    ranking = [{"name": "error_code", "confidence": 0.41}, {"name": "greet", "confidence": 0.2},
               {"name": "terminal_fault", "confidence": 0.3}, {"name": "network_issue", "confidence": 0.1},
               {"name": "system_delay", "confidence": 0.01}]
    run(ActionOfferReadings(), dispatcher, _unclear(ranking, [{"entity": "error_code", "value": "96"}]))
    buttons = dispatcher.messages[0]["buttons"]
    payloads = [b["payload"] for b in buttons]
    # greet is no reading; system_delay is too unlikely; a person is always the last choice
    assert payloads == ['/error_code{"error_code": "96"}', '/terminal_fault{"error_code": "96"}',
                        '/network_issue{"error_code": "96"}', "/request_human"]
    assert buttons[0]["title"] == content.render("utter_reading_error_code")
    assert dispatcher.messages[0]["text"] == content.render("utter_default_readings")


def test_a_second_unclear_message_in_a_row_goes_to_a_person(dispatcher):
    """Two fallbacks in a row: the conversation joins the staff queue (reason not_understood; tests/test_handover.py)."""
    from xiaoan.handover.store import get_store

    earlier = [{"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}},
               {"event": "action", "name": "action_offer_readings"},
               {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}]
    run(ActionOfferReadings(), dispatcher, _unclear([{"name": "error_code", "confidence": 0.4}], events=earlier))
    assert dispatcher.messages[0]["response"] == "utter_handover_lead_not_understood"
    assert get_store().waiting()[0].reason == "not_understood"

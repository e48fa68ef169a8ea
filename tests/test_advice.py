"""Advice that stays true (issue 20): a wrong instruction to a cardholder is the worst bug in this product.

* A transaction still on its way is told to wait only inside its window (content/facts.yml
  `transfer_result_within`, counted from the record's China time); past it, the escalation: the
  issuing bank with what to bring, then a person. The clock is pinned on both sides of each edge.
* "Nothing arrived" never leads to paying twice: the answers say not to send it again, and why;
  a merchant hears about the fake "转账成功" screenshot and the "delayed, send the goods first" buyer.
* Nothing is promised that nobody does: a duplicate debit says who undoes it (the merchant's
  撤销/退货, the issuer's dispute), never "submitted"; a failed ticket write is never "registered";
  the ticket number is not for the bank; staff answer only here, said once.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from actions.answers import transaction_answer, waiting_window
from actions.backoffice import get_backoffice
from actions.backoffice.records import Transaction
from actions.cases import case_from_tracker
from actions.checks import ActionCheckTransaction
from actions.handover import ActionHandOver
from actions.tickets import ActionCreateTicket, ticket_that_landed
from tests.helpers import make_tracker, responses_of, run, slot_events, text_of
from xiaoan import clock, content
from xiaoan.handover.store import get_store

FACTS = content.facts()
STAFF_NOTE = "utter_staff_reply_here_only"


def answer_at(now: str, reference_number: str):
    """The check's answer for a fixture transaction with the clock at `now` (China time)."""
    with clock.fixed(now):
        return transaction_answer(get_backoffice().find_transaction(reference_number), reference_number)


def said_at(now: str, reference_number: str) -> tuple[list[str], str]:
    """What action_check_transaction says for a fixture transaction with the clock at `now`."""
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    with clock.fixed(now):
        run(ActionCheckTransaction(), dispatcher, make_tracker({"reference_number": reference_number}))
    return responses_of(dispatcher), text_of(dispatcher)


# -- 1. the window, from the fact table, counted on the one clock ----------------------------------------


def test_the_window_is_the_fact_tables():
    assert FACTS["transfer_result_within"] == "24小时"  # the value the edges below are written for
    assert waiting_window("processing") == waiting_window("pending_bank_maintenance") == timedelta(hours=24)


@pytest.mark.parametrize("text, span", [("24小时", timedelta(hours=24)), ("30分钟", timedelta(minutes=30)),
                                        ("2天", timedelta(days=2)), ("3个自然日", timedelta(days=3))])
def test_a_fact_span_is_counted(text, span):
    assert clock.span(text) == span


@pytest.mark.parametrize("text", ["3个工作日", "当天", "", "T+1个工作日"])
def test_a_span_the_clock_cannot_count_is_refused(text):
    with pytest.raises(ValueError):
        clock.span(text)


# The stale demo records: 202611140008 processing since 2026-11-14 15:20; 202611140009 pending at a bank in
# maintenance since 2026-11-14 02:30 (China time).
EDGES = [
    ("202611140008", "processing", "2026-11-15 15:19", "2026-11-15 15:20", "2026-11-15 15:21"),
    ("202611140009", "pending_bank_maintenance", "2026-11-15 02:29", "2026-11-15 02:30", "2026-11-15 02:31"),
]


@pytest.mark.parametrize("ref, state", [("202611250003", "processing"),
                                        ("202611250005", "pending_bank_maintenance")])
@pytest.mark.parametrize("now", ["2026-11-25 14:00", "2026-12-06 10:00", "2027-03-01 00:05"])
def test_the_contracts_records_on_their_way_are_inside_the_window_on_any_day(ref, state, now):
    """CONTRACT §4: 202611250003 is "still processing, inside the normal window" whatever today is."""
    answer = answer_at(now, ref)
    assert answer.response == f"utter_transaction_{state}"
    with clock.fixed(now):
        assert clock.within(get_backoffice().find_transaction(ref).time, timedelta(hours=4))


@pytest.mark.parametrize("ref, state, before, edge, after", EDGES)
def test_inside_the_window_wait_until_its_end_in_china_time(ref, state, before, edge, after):
    for now in (before, edge):  # the window's last minute and its very end are still inside
        answer = answer_at(now, ref)
        assert answer.response == f"utter_transaction_{state}"
        assert answer.values["wait_until"] == edge
    responses, text = said_at(before, ref)
    assert responses[0] == f"utter_transaction_{state}"
    assert f"请等到{edge}（北京时间）" in text and FACTS["transfer_result_within"] in text


@pytest.mark.parametrize("ref, state, before, edge, after", EDGES)
def test_past_the_window_the_escalation_never_wait(ref, state, before, edge, after):
    assert answer_at(after, ref).response == f"utter_transaction_{state}_overdue"
    txn = get_backoffice().find_transaction(ref)
    for now in (after, "2026-12-06 10:00"):  # a minute late, and eleven days late
        responses, text = said_at(now, ref)
        assert responses[0] == f"utter_transaction_{state}_overdue"
        assert "仍在正常" not in text and "请等到" not in text and "维护结束后会自动入账" not in text
        # the issuing bank, with what to bring ...
        assert "发卡行" in text and ref in text and "{:,.2f}".format(txn.amount) in text
        assert txn.time in text and f"卡号后四位{txn.card_tail}" in text and "凭条" in text and "截图" in text
        # ... then a person, offered
        assert "转人工" in text
        assert "不要重复" in text  # and still: do not pay again


def test_the_case_record_says_the_window_is_over(dispatcher):
    with clock.fixed("2026-12-06 10:00"):
        events = run(ActionCheckTransaction(), dispatcher, make_tracker({"reference_number": "202611140008"}))
    assert content.render("utter_step_outcome_processing_overdue") in slot_events(events)["steps_done"][-1]


def test_a_time_that_cannot_be_read_is_escalated_not_waited_for():
    txn = Transaction("200000000009", "processing", get_backoffice().find_transaction("202611250003").amount,
                      "1234", "10000001", "昨天下午", "招商银行")
    assert transaction_answer(txn, txn.reference_number).response == "utter_transaction_processing_overdue"


def test_a_stored_time_with_an_offset_is_read_in_china_time():
    """05:40 UTC is 13:40 in China: the same window as the fixture's naive '2026-11-25 13:40'."""
    txn = Transaction("200000000010", "processing", get_backoffice().find_transaction("202611250003").amount,
                      "1234", "10000001", "2026-11-25T05:40:00+00:00", "招商银行")
    with clock.fixed("2026-11-26 13:40"):
        assert transaction_answer(txn, txn.reference_number).values["wait_until"] == "2026-11-26 13:40"
    with clock.fixed("2026-11-26 13:41"):
        assert transaction_answer(txn, txn.reference_number).response == "utter_transaction_processing_overdue"


# -- 2. never pay twice ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ref, now", [("202611250001", "2026-11-25 14:00"), ("202611250003", "2026-11-25 14:00"),
                                      ("202611250005", "2026-11-25 14:00"), ("202611140008", "2026-12-06 10:00"),
                                      ("202611140009", "2026-12-06 10:00")])
def test_credited_or_on_its_way_says_do_not_send_it_again_and_why(ref, now):
    _, text = said_at(now, ref)
    assert "不要再转一次" in text or "不要重复" in text
    assert "两次" in text  # why: it would be paid twice
    if ref != "202611250001":
        assert "入账或退回" in text  # a transaction on its way arrives or comes back


def test_the_intros_say_do_not_pay_again_and_why():
    for name in ("utter_payee_not_received_intro", "utter_charged_but_failed_intro", "utter_system_delay_intro"):
        said = content.render(name)
        assert ("不要重复" in said or "不要为了" in said) and "付两次" in said, name


def test_a_merchant_hears_the_two_classic_tricks():
    said = content.render("utter_payee_not_received_intro")
    assert "截图" in said and "自己的账户明细或POS结算记录" in said  # the fake "转账成功" screenshot
    assert "延迟到账" in said and "先交货" in said  # "it's delayed, send the goods first"


# -- 3. no promise nobody keeps: the duplicate debit ------------------------------------------------------

# 202611250007: a duplicate debit of 2026-11-25 12:05 (China time).


@pytest.mark.parametrize("now, response, undo", [
    ("2026-11-25 23:59", "utter_transaction_duplicate_debit_same_day", "撤销"),
    ("2026-11-26 00:00", "utter_transaction_duplicate_debit", "退货"),
    ("2026-12-06 10:00", "utter_transaction_duplicate_debit", "退货"),
])
def test_a_duplicate_debit_says_who_undoes_it_and_claims_no_submission(now, response, undo):
    responses, text = said_at(now, "202611250007")
    assert responses[0] == response
    assert undo in text and "商户" in text  # the merchant's void (same day) or refund (later)
    assert "发卡行" in text and "差错处理" in text and FACTS["dispute_time"] in text  # or the issuer's dispute
    assert FACTS["duplicate_refund_max"] in text  # the same time as response code 94's advice
    assert "已提交" not in text and "小安没有、也不能替您提交" in text


def test_the_duplicates_advice_agrees_with_response_code_94():
    import yaml

    from tests.helpers import ROOT

    code_94 = yaml.safe_load((ROOT / "content" / "response_codes.yml").read_text(encoding="utf-8"))["94"]["action"]
    assert "撤销或退货" in code_94 and "{duplicate_refund_max}" in code_94
    for name in ("utter_transaction_duplicate_debit", "utter_transaction_duplicate_debit_same_day"):
        text = content.responses()[name][0]["text"]
        assert "退货" in text and "{duplicate_refund_max}" in text


def test_no_response_claims_a_submission_or_sends_the_ticket_number_to_a_bank():
    for name, variants in content.responses().items():
        for entry in variants:
            text = entry.get("text") or ""
            assert "已提交" not in text, name
            assert "报上工单号" not in text, name
            assert "后续查询时报这个号码" not in text, name


# -- 3. no promise nobody keeps: tickets and hand-overs ----------------------------------------------------


@pytest.fixture
def all_day(monkeypatch):
    monkeypatch.setenv("XIAOAN_STAFF_HOURS", "0:00-24:00")


def sign_in_someone():
    store = get_store()
    store.open_session(store.create_staff("li", "agent", "correct horse battery"))


def hand_over_tracker(**slots):
    tracker = make_tracker(slots, text="转人工", intent="request_human", sender_id="u1")
    tracker.events.append({"event": "user", "input_channel": "rest", "text": "转人工"})
    return tracker


@pytest.fixture
def tickets_down(monkeypatch):
    def broken(*_args, **_kwargs):
        raise ConnectionError("ticket store gone")

    monkeypatch.setattr(get_backoffice(), "create_ticket", broken)


def test_a_hand_over_whose_ticket_could_not_be_written_says_no_ticket_exists(all_day, tickets_down, dispatcher):
    events = run(ActionHandOver(), dispatcher, hand_over_tracker())
    assert responses_of(dispatcher)[:2] == ["utter_nobody_on_duty_no_ticket", STAFF_NOTE]
    said = content.render("utter_nobody_on_duty_no_ticket", when=dispatcher.messages[0]["when"])
    assert "已登记在工单" not in said and "工单号暂时还没有生成" in said and "排进人工客服的队列" in said
    assert "ticket_id" not in slot_events(events)
    entry = get_store().active("u1")
    assert entry is not None and entry.ticket_id is None  # what was said is true: queued, no ticket


def test_a_hand_over_with_a_ticket_names_it_and_not_for_the_bank(all_day, dispatcher):
    run(ActionHandOver(), dispatcher, hand_over_tracker())
    assert responses_of(dispatcher)[:2] == ["utter_nobody_on_duty", STAFF_NOTE]
    ticket_id = dispatcher.messages[0]["ticket_id"]
    said = content.render("utter_nobody_on_duty", ticket_id=ticket_id, when="明天")
    assert ticket_id in said and "银行查不到" in said and "报上工单号" not in said


def test_a_staffed_hand_over_without_a_ticket_claims_none(all_day, tickets_down, dispatcher):
    sign_in_someone()
    run(ActionHandOver(), dispatcher, hand_over_tracker())
    assert responses_of(dispatcher) == ["utter_handover_queued_next", STAFF_NOTE]  # nobody ahead: "您是下一位"
    assert "工单" not in content.render("utter_handover_queued_next") and "0位" not in content.render("utter_handover_queued_next")


def test_a_hand_over_whose_queue_is_down_says_only_busy(all_day, monkeypatch, dispatcher):
    def broken(*_args, **_kwargs):
        raise ConnectionError("queue gone")

    monkeypatch.setattr(get_store(), "enqueue", broken)
    run(ActionHandOver(), dispatcher, hand_over_tracker())
    assert responses_of(dispatcher) == ["utter_system_busy"]


def test_a_ticket_write_that_fails_says_busy_and_nothing_registered(tickets_down, dispatcher):
    events = run(ActionCreateTicket(), dispatcher, make_tracker({"symptom": "POS终端故障"}, intent="affirm"))
    assert responses_of(dispatcher) == ["utter_system_busy"]
    assert "ticket_id" not in slot_events(events) and slot_events(events)["pending_ticket_key"]
    assert "登记" not in content.render("utter_system_busy")


def test_a_ticket_write_that_times_out_says_it_is_not_confirmed(monkeypatch, dispatcher):
    from actions import tickets

    async def slow(*_args, **_kwargs):
        raise asyncio.TimeoutError

    monkeypatch.setattr(tickets, "in_worker_thread", slow)
    events = run(ActionCreateTicket(), dispatcher, make_tracker({"symptom": "POS终端故障"}, intent="affirm"))
    assert responses_of(dispatcher) == ["utter_ticket_being_registered"]
    assert "ticket_id" not in slot_events(events)
    said = content.render("utter_ticket_being_registered")
    assert "还没有确认登记成功" in said and "已登记" not in said and "登记工单" in said


def test_a_ticket_that_lands_late_is_given_with_the_staff_note_once(dispatcher):
    key = "late-key"
    ticket = get_backoffice().create_ticket(case_from_tracker(make_tracker({}), False), key)
    events = asyncio.run(ticket_that_landed(dispatcher, make_tracker({"pending_ticket_key": key})))
    assert responses_of(dispatcher) == ["utter_ticket_registered_late", STAFF_NOTE]
    assert slot_events(events)["ticket_id"] == ticket.ticket_id and slot_events(events)["staff_contact_told"] is True
    again = type(dispatcher)()
    asyncio.run(ticket_that_landed(again, make_tracker({"pending_ticket_key": key, "staff_contact_told": True})))
    assert responses_of(again) == ["utter_ticket_registered_late"]


def test_staff_only_here_is_said_once_across_a_ticket_and_its_hand_over(all_day, dispatcher):
    """The request_human rule runs action_create_ticket, then action_hand_over: the note comes with the first."""
    first = run(ActionCreateTicket(), dispatcher, hand_over_tracker(symptom="POS终端故障"))
    assert responses_of(dispatcher).count(STAFF_NOTE) == 1
    slots = {**slot_events(first), "symptom": "POS终端故障"}
    then = type(dispatcher)()
    run(ActionHandOver(), then, hand_over_tracker(**slots))
    assert STAFF_NOTE not in responses_of(then)
    assert responses_of(then)[0] == "utter_nobody_on_duty"


def test_the_staff_note_says_no_calls():
    said = content.render(STAFF_NOTE)
    assert "只在这个对话里回复" in said and "不会给您打电话" in said and "诈骗" in said

"""The hand-over on the bot's side: who is queued, why, when the conversation pauses, what the user hears.

The store is the test's own SQLite (conftest: XIAOAN_BACKOFFICE_URL per test, which the hand-over
store shares). The console's API is tests/test_console.py; the real servers, tests/live/test_handover.py.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from rasa_sdk import Tracker

from actions import handover
from actions.checks import ActionCheckTerminalStatus
from actions.fraud_warning import ActionFraudWarning
from actions.handover import ActionHandOver, failed_checks, when_text
from actions.tickets import ActionCreateTicket
from channels.rest import staff_messages_for
from tests.helpers import make_tracker, responses_of, run
from xiaoan import clock, content
from xiaoan.handover import duty
from xiaoan.handover.store import get_store

PASSWORD = "correct horse battery"


def sign_in_someone():
    store = get_store()
    member = store.create_staff("li", "agent", PASSWORD)
    store.open_session(member)


@pytest.fixture
def all_day(monkeypatch):
    monkeypatch.setenv("XIAOAN_STAFF_HOURS", "0:00-24:00")


def rest_tracker(intent="request_human", sender="u1", **slots) -> Tracker:
    tracker = make_tracker(slots, text="转人工", intent=intent, sender_id=sender)
    tracker.events.append({"event": "user", "input_channel": "rest", "text": "转人工"})
    return tracker


def test_someone_on_duty_queues_and_pauses(all_day, dispatcher):
    sign_in_someone()
    get_store().enqueue("earlier", "wechat", "fraud_report", None, None, now=1.0)
    events = run(ActionHandOver(), dispatcher, rest_tracker(ticket_id="XA1"))
    assert responses_of(dispatcher) == ["utter_handover_queued", "utter_staff_reply_here_only"]
    assert dispatcher.messages[0]["ahead"] == 1
    assert {"event": "pause", "timestamp": None} in events
    entry = get_store().active("u1")
    assert (entry.reason, entry.channel, entry.ticket_id, entry.status) == ("request_human", "rest", "XA1", "waiting")


def test_nobody_signed_in_says_so_with_the_ticket_and_does_not_pause(all_day, dispatcher):
    events = run(ActionHandOver(), dispatcher, rest_tracker())
    assert responses_of(dispatcher)[0] == "utter_nobody_on_duty"
    ticket_id = dispatcher.messages[0]["ticket_id"]
    assert ticket_id.startswith("XA") and {"event": "slot", "name": "ticket_id", "value": ticket_id,
                                           "timestamp": None} in events
    assert not any(e["event"] == "pause" for e in events)
    assert get_store().active("u1").ticket_id == ticket_id  # waits in the queue
    said = content.render("utter_nobody_on_duty", ticket_id=ticket_id, when=dispatcher.messages[0]["when"])
    assert ticket_id in said and content.facts()["staff_hours"] in said


def test_outside_the_hours_nobody_is_on_duty_even_if_signed_in(monkeypatch, dispatcher):
    monkeypatch.setenv("XIAOAN_STAFF_HOURS", "8:00-22:00")
    sign_in_someone()
    with clock.fixed(datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc)):  # 23:30 in China
        run(ActionHandOver(), dispatcher, rest_tracker())
    assert responses_of(dispatcher)[0] == "utter_nobody_on_duty"
    assert dispatcher.messages[0]["when"] == content.render("utter_when_tomorrow", time="8:00")


def test_the_hours_come_from_the_fact():
    hours = duty.parse_hours(content.facts()["staff_hours"])
    assert hours is not None and hours.start == (8, 0) and hours.end == (22, 0)
    early = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)  # 06:00 in China
    assert hours.next_opening(early) == ("today", "8:00")
    assert not hours.open_at(early) and hours.open_at(datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))
    assert duty.parse_hours("0:00-24:00").open_at(early)


def test_when_text_renders_a_response(monkeypatch):
    monkeypatch.setenv("XIAOAN_STAFF_HOURS", "8:00-22:00")
    noon = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
    assert when_text(noon) == content.render("utter_when_soon")


def test_a_fraud_report_is_queued_without_pausing_or_a_word(all_day, dispatcher):
    from tests.test_fraud_actions import admitted

    sign_in_someone()
    events = run(ActionFraudWarning(), dispatcher, admitted("有人打电话让我把验证码告诉他"))
    assert not any(e["event"] == "pause" for e in events)
    assert get_store().active("tester").reason == "fraud_report"
    assert len(dispatcher.messages) == 1  # the warning only


def test_a_ticket_written_later_joins_the_queue_entry(dispatcher):
    get_store().enqueue("tester", "rest", "fraud_report", None, None)
    events = run(ActionCreateTicket(), dispatcher, make_tracker({"symptom": "可疑电话"}, intent="affirm"))
    ticket_id = next(e["value"] for e in events if e.get("name") == "ticket_id")
    assert get_store().active("tester").ticket_id == ticket_id


def test_a_check_that_fails_twice_goes_to_a_person(all_day, monkeypatch, dispatcher):
    from actions import checks

    def broken(*_):
        raise ConnectionError("back office down")

    monkeypatch.setattr(checks.ActionCheckTerminalStatus, "find", broken)
    first = make_tracker({"terminal_id": "10000002"}, intent="inform")
    run(ActionCheckTerminalStatus(), dispatcher, first)
    assert responses_of(dispatcher) == ["utter_system_busy"] and get_store().active("tester") is None
    second = make_tracker({"terminal_id": "10000002"}, intent="inform")
    second.events.extend([{"event": "action", "name": "action_check_terminal_status"},
                          {"event": "bot", "text": "busy", "metadata": {"utter_action": "utter_system_busy"}}])
    assert failed_checks(second, "action_check_terminal_status") == 1
    again = type(dispatcher)()
    run(ActionCheckTerminalStatus(), again, second)
    assert responses_of(again)[:2] == ["utter_system_busy", "utter_handover_lead_check_failed"]
    assert get_store().active("tester").reason == "check_failed"


def test_rest_takes_each_pending_staff_message_once():
    store = get_store()
    handover_row, _ = store.enqueue("r1", "rest", "request_human", None, None)
    first = store.add_message("r1", handover_row.id, "1001", "staff", "您好，我是人工客服", "rest")
    store.set_status(first, "pending", "next_reply")
    notice = store.add_message("r1", handover_row.id, "1001", "joined", "已接入", "rest")
    store.set_status(notice, "pending", "next_reply")
    taken = asyncio.run(staff_messages_for("r1"))
    assert taken == [{"recipient_id": "r1", "text": "您好，我是人工客服", "custom": {"from": "staff"}},
                     {"recipient_id": "r1", "text": "已接入", "custom": {"from": "staff"}}]
    assert asyncio.run(staff_messages_for("r1")) == []
    assert store.message(first)["status"] == "delivered"


def test_queue_order_and_one_entry_per_conversation():
    store = get_store()
    store.enqueue("b", "rest", "request_human", None, None, now=20.0)
    store.enqueue("a", "socketio", "not_understood", None, None, now=10.0)
    again, ahead = store.enqueue("b", "rest", "fraud_report", "XA9", None, now=30.0)
    assert [h.conversation_id for h in store.waiting()] == ["a", "b"]
    assert (again.reason, again.ticket_id, ahead) == ("request_human", "XA9", 1)


__all__ = ["handover"]

"""Nobody waits for a person forever, and no staff message is left behind (issue 23).

* the waiting rule (xiaoan/handover/waiting.py, run by console/waiting.py) on the fixed China clock: a
  paused, unclaimed conversation is told after the fact's limit, and again when the staff hours end,
  each once however many consoles run it; those told otherwise are left alone;
* a WeChat message blocked by the 48-hour window goes with the user's next message, once, in order;
* with rooms shared by several servers, a reply for a closed page waits for its reconnect (ho_presence).

The real servers: tests/live/test_handover.py; two servers: tests/scale/test_scale.py.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest

from actions.handover import ActionHandOver, queue_quietly
from channels.staff import emit_to_session, wechat_waiting
from channels.staff_notices import wait_notice_text
from console.waiting import WaitingRule
from tests.helpers import make_tracker, run
from xiaoan import clock, content
from xiaoan.handover import duty
from xiaoan.handover.queue import Handover
from xiaoan.handover.store import get_store
from xiaoan.handover.waiting import notice_due, wait_limit

HOURS = duty.parse_hours("8:00-22:00")
LIMIT = timedelta(minutes=10)
QUEUED = "2026-12-07 10:00"


def entry(told: Optional[str] = None, status: str = "waiting", queued: str = QUEUED) -> Handover:
    return Handover(1, "u", "rest", "request_human", "XA1", None, status, clock.to_china(queued).timestamp(),
                    None, None, None, None, told)


def at(moment: str) -> float:
    return clock.to_china(moment).timestamp()


def test_the_limit_is_the_facts_and_a_test_set_up_may_shorten_it(monkeypatch):
    monkeypatch.delenv("XIAOAN_HANDOVER_WAIT_LIMIT", raising=False)
    assert wait_limit() == clock.span(content.facts()["handover_wait_limit"]) == LIMIT
    monkeypatch.setenv("XIAOAN_HANDOVER_WAIT_LIMIT", "0.5分钟")
    assert wait_limit() == timedelta(seconds=30)


def test_a_paused_entry_is_told_once_the_limit_has_passed():
    assert notice_due(entry(), at("2026-12-07 10:09:59"), LIMIT, HOURS) is None
    assert notice_due(entry(), at("2026-12-07 10:10:00"), LIMIT, HOURS) == "waited_long"
    assert notice_due(entry("waited_long"), at("2026-12-07 12:00"), LIMIT, HOURS) is None


def test_asking_for_a_person_again_after_a_notice_starts_a_new_wait(hours, dispatcher):
    store = get_store()
    store.open_session(store.create_staff("qian", "agent", "correct horse battery"))
    with clock.fixed("2026-12-07 10:00"):
        store.enqueue("again", "rest", "request_human", "XA5", None, now=clock.timestamp())
    spoken = Spoken()
    with clock.fixed("2026-12-07 10:10"):
        assert asyncio.run(WaitingRule(store, spoken).check()) == ["again"]
    with clock.fixed("2026-12-07 10:12"):  # the bot is back; the user asks for a person again: paused
        run(ActionHandOver(), dispatcher, rest_tracker("again", ticket_id="XA5"))
    assert store.active("again").told is None
    with clock.fixed("2026-12-07 10:21"):
        assert asyncio.run(WaitingRule(store, spoken).check()) == []  # not told again at once
    with clock.fixed("2026-12-07 10:22"):
        assert asyncio.run(WaitingRule(store, spoken).check()) == ["again"]
    assert "22分钟" in spoken.said[-1]["text"]  # the whole time in the queue


def test_the_end_of_the_staff_hours_tells_whoever_still_waits_even_after_a_long_wait_notice():
    late = "2026-12-07 21:58"
    assert notice_due(entry(queued=late), at("2026-12-07 21:59:59"), LIMIT, HOURS) is None
    assert notice_due(entry(queued=late), at("2026-12-07 22:00"), LIMIT, HOURS) == "hours_over"
    assert notice_due(entry("waited_long"), at("2026-12-07 22:00"), LIMIT, HOURS) == "hours_over"
    assert notice_due(entry("hours_over"), at("2026-12-08 07:00"), LIMIT, HOURS) is None


@pytest.mark.parametrize("told, status", [("nobody_on_duty", "waiting"), ("quiet", "waiting"), (None, "claimed")])
def test_entries_told_otherwise_or_claimed_are_left_alone(told, status):
    for moment in ("2026-12-07 11:00", "2026-12-07 23:00"):
        assert notice_due(entry(told, status), at(moment), LIMIT, HOURS) is None


class Spoken:
    """console/delivery.Delivery's `say`, recorded."""

    def __init__(self) -> None:
        self.said: List[Dict[str, Any]] = []

    async def say(self, handover: Handover, staff_no: Optional[str], kind: str, text: str, pause: bool = False,
                  resume: bool = False, slots: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        self.said.append({"conversation": handover.conversation_id, "kind": kind, "text": text, "resume": resume,
                          "staff_no": staff_no})
        return {"status": "delivered"}


@pytest.fixture
def hours(monkeypatch):
    monkeypatch.setenv("XIAOAN_STAFF_HOURS", "8:00-22:00")
    monkeypatch.delenv("XIAOAN_HANDOVER_WAIT_LIMIT", raising=False)


def test_two_consoles_tell_each_user_once_with_their_place_ticket_and_when(hours):
    store = get_store()
    store.enqueue("first", "rest", "fraud_report", "XA7", None, now=at("2026-12-07 09:58"))
    store.enqueue("second", "socketio", "request_human", None, None, now=at("2026-12-07 10:00"))
    store.enqueue("quiet", "rest", "fraud_report", None, None, now=at("2026-12-07 09:00"), told="quiet")
    one, other = Spoken(), Spoken()
    with clock.fixed("2026-12-07 10:05"):
        assert asyncio.run(WaitingRule(store, one).check()) == []
    with clock.fixed("2026-12-07 10:10"):
        told = asyncio.run(WaitingRule(store, one).check()) + asyncio.run(WaitingRule(store, other).check())
    assert sorted(told) == ["first", "second"] and other.said == []
    first, second = one.said  # the quiet fraud report queued at 9:00 waits before both
    assert first["text"] == content.render("utter_handover_waited_long", waited="12分钟", ahead=1, ticket_id="XA7")
    assert "12分钟" in first["text"] and "XA7" in first["text"]
    assert second["text"] == content.render("utter_handover_waited_long_no_ticket", waited="10分钟", ahead=2)
    assert all(s["resume"] and s["staff_no"] is None and s["kind"] == "waited_long" for s in one.said)
    assert store.active("second").told == "waited_long" and store.active("second").status == "waiting"
    assert store.active("quiet").told == "quiet"
    with clock.fixed("2026-12-07 22:00"):
        asyncio.run(WaitingRule(store, other).check())
        asyncio.run(WaitingRule(store, one).check())
    closing = [s for s in one.said + other.said if s["kind"] == "hours_over"]
    assert sorted(s["conversation"] for s in closing) == ["first", "second"]
    assert "明天8:00起" in closing[0]["text"]
    with clock.fixed("2026-12-08 07:00"):
        assert asyncio.run(WaitingRule(store, one).check()) == []


def test_a_claim_before_the_limit_is_never_interrupted(hours):
    store = get_store()
    store.enqueue("claimed", "rest", "request_human", None, None, now=at("2026-12-07 10:00"))
    member = store.create_staff("wang", "agent", "correct horse battery")
    store.claim("claimed", member.id, now=at("2026-12-07 10:03"))
    spoken = Spoken()
    with clock.fixed("2026-12-07 10:30"):
        assert asyncio.run(WaitingRule(store, spoken).check()) == [] and spoken.said == []


def test_the_hours_over_notice_without_a_ticket_says_none_exists():
    with clock.fixed("2026-12-07 22:00") as now:
        text = wait_notice_text("hours_over", 2, None, 600, now)
    assert text == content.render("utter_handover_hours_over_no_ticket", when=content.render("utter_when_tomorrow", time="8:00"))


# ------------------------------------------------------------------ what the hand-over action records


def rest_tracker(sender: str, **slots: Any):
    tracker = make_tracker(slots, text="转人工", intent="request_human", sender_id=sender)
    tracker.events.append({"event": "user", "input_channel": "rest", "text": "转人工"})
    return tracker


def test_the_action_records_who_the_waiting_rule_watches(monkeypatch, dispatcher):
    monkeypatch.setenv("XIAOAN_STAFF_HOURS", "0:00-24:00")
    run(ActionHandOver(), dispatcher, rest_tracker("nobody-there", ticket_id="XA1"))
    assert get_store().active("nobody-there").told == "nobody_on_duty"  # told so already: left alone
    store = get_store()
    store.open_session(store.create_staff("zhao", "agent", "correct horse battery"))
    asyncio.run(queue_quietly(dispatcher, rest_tracker("scam"), "fraud_report"))
    assert store.active("scam").told == "quiet"
    run(ActionHandOver(), dispatcher, rest_tracker("scam", ticket_id="XA2"))  # then asks for a person: paused
    assert store.active("scam").told is None
    run(ActionHandOver(), dispatcher, rest_tracker("paused", ticket_id="XA3"))
    assert store.active("paused").told is None


# ------------------------------------------------------------------ WeChat: the next message opens the window


def test_a_wechat_message_blocked_by_the_window_goes_with_the_next_message_once_and_in_order():
    store = get_store()
    row, _ = store.enqueue("o-late", "wechat", "request_human", None, None)
    for text in ("第一条", "第二条"):
        message_id = store.add_message("o-late", row.id, "1002", "staff", text, "wechat")
        store.set_status(message_id, "window_closed", "wechat_48h")
    notice = store.add_message("o-late", row.id, "1002", "handed_back", "已交回小安", "wechat")
    store.set_status(notice, "window_closed", "wechat_48h")
    first = asyncio.run(wechat_waiting("o-late"))
    assert first == [content.render("utter_staff_message", staff_id="1002", text="第一条"),
                     content.render("utter_staff_message", staff_id="1002", text="第二条"), "已交回小安"]
    assert asyncio.run(wechat_waiting("o-late")) == []
    assert {m["status"] for m in store.messages_of("o-late")} == {"delivered"}


def test_the_wechat_channel_puts_them_before_its_answer_in_the_passive_reply():
    from tests.test_wechat_channel import StubRasa, reply_content, text_xml, wechat, OPENID

    store = get_store()
    row, _ = store.enqueue(OPENID, "wechat", "request_human", None, None)
    message_id = store.add_message(OPENID, row.id, "1003", "staff", "您的款项已退回", "wechat")
    store.set_status(message_id, "window_closed", "wechat_48h")

    async def scenario() -> List[str]:
        async with wechat(StubRasa()) as wx:
            status, body = await wx.post(text_xml("在吗", 901))
            again_status, again = await wx.post(text_xml("好的", 902))
        assert status == again_status == 200
        return [reply_content(body), reply_content(again)]

    first, second = asyncio.run(scenario())
    staff = content.render("utter_staff_message", staff_id="1003", text="您的款项已退回")
    assert first.index(staff) < first.index("收到：在吗")
    assert staff not in second and second == "收到：好的"


# ------------------------------------------------------------------ socket.io over several servers


class SharedRooms:
    """A message-queue manager as socket.io has it with Redis: this server cannot list the others' rooms."""

    rooms: Dict[str, Any] = {}


class FakeSio:
    def __init__(self) -> None:
        self.manager = SharedRooms()
        self.emitted: List[Any] = []

    async def emit(self, event: str, payload: Dict[str, Any], room: str, namespace: Optional[str]) -> None:
        self.emitted.append((room, payload["text"]))


def test_with_shared_rooms_a_reply_for_a_closed_page_waits_for_its_reconnect():
    store = get_store()
    channel = SimpleNamespace(sio=FakeSio(), namespace=None, bot_message_evt="bot_uttered")
    message = {"id": "m1", "text": "您好", "from": "staff", "staff_id": "1001"}
    assert asyncio.run(emit_to_session(channel, "page-1", message)) == ("pending", "next_connect")
    store.arrive("sid-on-the-other-server", "page-1")
    assert asyncio.run(emit_to_session(channel, "page-1", message)) == ("delivered", "socketio_queue")
    assert channel.sio.emitted == [("page-1", "您好")]
    store.leave("sid-on-the-other-server")
    assert not store.present("page-1")

"""A slow back office: lookups leave the action server's event loop free, and a
lookup past the time limit gets the "busy, details kept" answer."""
from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions import backoffice
from actions.backoffice.delayed import DelayedBackOffice
from actions.checks import ActionCheckTerminalStatus
from actions.tickets import ActionCreateTicket
from tests.helpers import make_tracker, texts_of
from xiaoan.names import BUSY_RESPONSE as BUSY


def slow(monkeypatch, delay: str, timeout: str = "") -> None:
    monkeypatch.setenv("XIAOAN_BACKOFFICE_DELAY_S", delay)
    if timeout:
        monkeypatch.setenv("XIAOAN_BACKOFFICE_TIMEOUT_S", timeout)
    backoffice._backoffice_for.cache_clear()


def test_delay_setting_wraps_the_store(monkeypatch):
    slow(monkeypatch, "0.2")
    assert isinstance(backoffice.get_backoffice().uninstrumented, DelayedBackOffice)  # behind the metrics' timing
    slow(monkeypatch, "not a number")
    assert not isinstance(backoffice.get_backoffice().uninstrumented, DelayedBackOffice)


def test_a_slow_lookup_does_not_block_other_conversations(monkeypatch):
    slow(monkeypatch, "0.5")

    async def scenario() -> tuple[int, list[str]]:
        dispatcher = CollectingDispatcher()
        check = asyncio.ensure_future(
            ActionCheckTerminalStatus().run(dispatcher, make_tracker({"terminal_id": "10000002"}), {})
        )
        ticks = 0
        while not check.done():  # another conversation's work, on the same loop
            ticks += 1
            await asyncio.sleep(0.01)
        await check
        return ticks, texts_of(dispatcher)

    ticks, said = asyncio.run(scenario())
    assert ticks >= 10, "the event loop stalled while the back office was slow"
    assert "10000002" in said[0] and BUSY not in said


def test_a_lookup_past_the_limit_answers_busy_and_keeps_the_case(monkeypatch):
    slow(monkeypatch, "2", timeout="0.1")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionCheckTerminalStatus().run(dispatcher, make_tracker({"terminal_id": "10000002"}), {})
    )
    assert texts_of(dispatcher) == [BUSY]
    steps = [e["value"] for e in events if e.get("name") == "steps_done"][0]
    assert "10000002" in steps[-1] and "查询失败" in steps[-1]


def test_a_ticket_write_past_the_limit_makes_one_ticket_and_its_number_follows(monkeypatch, backoffice_db):
    """The write is not cancelled by the time limit: the user hears "being registered", a retry of the
    same message and a new request both land on the same ticket, and the next message gives its number."""
    import time

    from actions.backoffice.simulated import SimulatedBackOffice
    from actions.tickets import BEING_REGISTERED, PENDING_KEY_SLOT, REGISTERED_LATE, ticket_that_landed

    slow(monkeypatch, "0.6", timeout="0.1")
    tracker = make_tracker({"terminal_id": "10000002"}, intent="request_human", message_id="m-41")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionCreateTicket().run(dispatcher, tracker, {}))
    assert [m.get("response") for m in dispatcher.messages] == [BEING_REGISTERED]
    pending = [e["value"] for e in events if e.get("name") == PENDING_KEY_SLOT]
    assert pending == ["tester:m-41"]

    # the same message again (a client retry that reached the action again), while the first write is running
    asyncio.run(ActionCreateTicket().run(CollectingDispatcher(), tracker, {}))
    time.sleep(1.5)  # both writes finish in their threads

    # the next message: the number follows, and asking again with the pending key finds the same ticket
    slow(monkeypatch, "0")
    later = make_tracker({"terminal_id": "10000002", PENDING_KEY_SLOT: pending[0]}, message_id="m-42")
    told = CollectingDispatcher()
    landed = asyncio.run(ticket_that_landed(told, later))
    assert told.messages[0]["response"] == REGISTERED_LATE and told.messages[0]["ticket_id"].startswith("XA")
    assert {"event": "slot", "name": PENDING_KEY_SLOT, "value": None, "timestamp": None} in landed
    again = CollectingDispatcher()
    asyncio.run(ActionCreateTicket().run(again, later, {}))
    assert told.messages[0]["ticket_id"] in again.messages[0]["text"]

    store = SimulatedBackOffice(backoffice_db)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM bo_tickets").scalar() == 1

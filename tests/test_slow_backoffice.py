"""A slow back office: lookups leave the action server's event loop free, and a
lookup past the time limit gets the "busy, details kept" answer."""
from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions import backoffice
from actions.backoffice.delayed import DelayedBackOffice
from actions.checks import BUSY, ActionCheckTerminalStatus
from actions.tickets import ActionCreateTicket
from tests.conftest import make_tracker, texts_of


def slow(monkeypatch, delay: str, timeout: str = "") -> None:
    monkeypatch.setenv("XIAOAN_BACKOFFICE_DELAY_S", delay)
    if timeout:
        monkeypatch.setenv("XIAOAN_BACKOFFICE_TIMEOUT_S", timeout)
    backoffice._backoffice_for.cache_clear()


def test_delay_setting_wraps_the_store(monkeypatch):
    slow(monkeypatch, "0.2")
    assert isinstance(backoffice.get_backoffice(), DelayedBackOffice)
    slow(monkeypatch, "not a number")
    assert not isinstance(backoffice.get_backoffice(), DelayedBackOffice)


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


def test_ticket_past_the_limit_is_not_lost_silently(monkeypatch):
    slow(monkeypatch, "2", timeout="0.1")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionCreateTicket().run(dispatcher, make_tracker({"terminal_id": "10000002"}, intent="request_ticket"), {})
    )
    assert events == [] and "繁忙" in texts_of(dispatcher)[0] and "保留" in texts_of(dispatcher)[0]

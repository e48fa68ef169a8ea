"""The console's days are China days, whatever zone the server or the browser is in.

A clean clone once failed from 00:00 to 08:00 China time: the page asked for the
browser's "today", a day behind China's, and today's conversations were missing.
Now the server picks the default range and names its dates; these tests pin the
clock at the edges of a China day (23:59, 00:01: still the previous day in UTC)
and run the server side under several process time zones.
"""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Dict

import pytest
from aiohttp.test_utils import TestClient, TestServer

from console.server import Console, RasaLink
from console.transcripts import Transcripts
from tests.test_console import PASSWORD, cheap_hashes, seed_tracker  # noqa: F401 - an autouse fixture
from xiaoan import clock
from xiaoan.handover.store import HandoverStore



def china(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=clock.CHINA).timestamp()



def ask(tmp_path, seeded_at: float, now: str, path: str) -> Dict[str, Any]:
    """GET `path` as a supervisor, the clock pinned at `now` (China time), one conversation in the store
    (tests/test_console.py's: it starts 60 s before `seeded_at`, its first user message 50 s before)."""
    store = HandoverStore(f"sqlite:///{tmp_path}/handover.db")
    store.create_staff("zhao", "supervisor", PASSWORD)
    tracker_url = f"sqlite:///{tmp_path}/tracker.db"
    seed_tracker(tracker_url, "user-1", seeded_at)

    async def go() -> Dict[str, Any]:
        client = TestClient(TestServer(Console(store, Transcripts(tracker_url), RasaLink("http://127.0.0.1:9", None)).app()))
        await client.start_server()
        try:
            assert (await client.post("/api/login", json={"username": "zhao", "password": PASSWORD})).status == 200
            answer = await client.get(path)
            assert answer.status == 200
            return await answer.json()
        finally:
            await client.close()

    try:
        with clock.fixed(now):
            return asyncio.run(go())
    finally:
        store.dispose()


def test_just_after_midnight_today_is_the_china_day(tmp_path, process_zone):
    """00:01 China time is still yesterday in UTC: the default range ends on the China day."""
    review = ask(tmp_path, china("2026-12-07T00:01:10"), "2026-12-07T00:01:30", "/api/review")
    assert review["range"] == {"from": "2026-12-01", "to": "2026-12-07", "today": "2026-12-07"}
    [item] = review["conversations"]
    assert item["conversation_id"] == "user-1"
    assert item["started_text"] == "2026-12-07 00:00"


def test_just_before_midnight_the_day_has_not_turned(tmp_path, process_zone):
    dash = ask(tmp_path, china("2026-12-06T23:59:20"), "2026-12-06T23:59:30", "/api/dashboard")
    assert dash["range"]["to"] == "2026-12-06"
    assert dash["per_day"][-1] == {"day": "2026-12-06", "conversations": 1}
    assert [d["day"] for d in dash["per_day"]][0] == "2026-11-30" and len(dash["per_day"]) == 7


@pytest.mark.parametrize("day, found", [("2026-12-06", 0), ("2026-12-07", 1)])
def test_a_chosen_day_is_a_china_day(tmp_path, process_zone, day, found):
    review = ask(tmp_path, china("2026-12-07T00:01:10"), "2026-12-07T09:00:00", f"/api/review?from={day}&to={day}")
    assert len(review["conversations"]) == found


def test_transcript_times_are_written_by_the_server_in_china_time(tmp_path, process_zone):
    view = ask(tmp_path, china("2026-12-07T00:00:40"), "2026-12-07T00:05:00", "/api/conversations/user-1")
    assert view["messages"][0]["clock"] == "2026-12-06 23:59:50"


def test_the_page_never_reads_the_browser_clock():
    """The console page shows the dates and times the server wrote; the browser's zone never enters."""
    from console.server import STATIC

    script = (STATIC / "console.js").read_text(encoding="utf-8")
    for reading in ("new Date", "Date.now", "getTimezoneOffset", "toLocale", "toISOString"):
        assert reading not in script, reading

"""MaskingSQLTrackerStore on SQLite: masked text, write-ahead log, trackers read back whole."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from xiaoan.runtime.tracker_store import MaskingSQLTrackerStore


def test_sqlite_file_is_in_wal_mode_and_trackers_round_trip(tmp_path):
    path = tmp_path / "sub" / "tracker.db"
    store = MaskingSQLTrackerStore(db=str(path), dialect="sqlite")
    tracker = DialogueStateTracker.from_events("u1", [
        ActionExecuted("action_listen"),
        UserUttered("卡号6222021234567890123转账失败", {"name": "transfer_failed", "confidence": 0.9}),
        SlotSet("terminal_id", "10000003"),
    ])
    asyncio.run(store.save(tracker))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = " ".join(row[0] for row in raw.execute("SELECT data FROM events"))
    assert "6222021234567890123" not in stored
    domain = Domain.load(str(Path(__file__).resolve().parents[1] / "domain.yml"))
    again = asyncio.run(MaskingSQLTrackerStore(domain=domain, db=str(path), dialect="sqlite").retrieve("u1"))
    assert again.get_slot("terminal_id") == "10000003"
    assert [e.type_name for e in again.events][-2:] == ["user", "slot"]


def test_later_saves_append_only_the_new_events_in_order(tmp_path):
    domain = Domain.load(str(Path(__file__).resolve().parents[1] / "domain.yml"))
    store = MaskingSQLTrackerStore(domain=domain, db=str(tmp_path / "t.db"), dialect="sqlite")
    tracker = DialogueStateTracker.from_events("u2", [ActionExecuted("action_listen")], slots=domain.slots)
    for turn, text in enumerate(["你好", "终端号10000003死机了", "谢谢"]):
        tracker.update(UserUttered(text, {"name": "inform", "confidence": 1.0}))
        tracker.update(SlotSet("terminal_id", f"1000000{turn}"))
        asyncio.run(store.save(tracker))
    with sqlite3.connect(tmp_path / "t.db") as raw:
        stored = [row[0] for row in raw.execute("SELECT type_name FROM events WHERE sender_id = 'u2' ORDER BY id")]
    assert stored == ["action", "user", "slot", "user", "slot", "user", "slot"]
    again = asyncio.run(store.retrieve("u2"))
    assert again.get_slot("terminal_id") == "10000002"
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["你好", "终端号10000003死机了", "谢谢"]

"""The tracker cache in front of SQL: a cached tracker is used only when the store holds nothing newer."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from xiaoan.runtime.tracker_cache import TrackerCache
from xiaoan.runtime.tracker_store import MaskingSQLTrackerStore

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[1] / "domain.yml"))


def _store(path: Path, size: int = 16) -> MaskingSQLTrackerStore:
    store = MaskingSQLTrackerStore(domain=DOMAIN, db=str(path), dialect="sqlite")
    store.cache = TrackerCache(size)
    return store


def _turn(tracker: DialogueStateTracker, text: str, terminal: str) -> None:
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 1.0}))
    tracker.update(SlotSet("terminal_id", terminal))
    tracker.update(ActionExecuted("action_listen"))


def _fresh(path: Path, sender: str) -> DialogueStateTracker:
    """What SQL alone says (a store without a cache)."""
    return asyncio.run(_store(path, size=0).retrieve(sender))


def test_a_saved_tracker_comes_back_from_memory_equal_to_what_sql_holds(tmp_path):
    store = _store(tmp_path / "t.db")
    tracker = asyncio.run(store.get_or_create_tracker("u1"))
    _turn(tracker, "你好", "10000001")
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("u1"))
    assert again is tracker and store.cache.hits == 1
    assert again == _fresh(tmp_path / "t.db", "u1")
    _turn(again, "终端号10000003", "10000003")
    asyncio.run(store.save(again))  # only the new events are written, counted from memory
    assert _fresh(tmp_path / "t.db", "u1").events == again.events


def test_another_server_writing_the_conversation_makes_this_one_read_sql(tmp_path):
    path = tmp_path / "t.db"
    first, second = _store(path), _store(path)
    tracker = asyncio.run(first.get_or_create_tracker("u2"))
    _turn(tracker, "你好", "10000001")
    asyncio.run(first.save(tracker))
    other = asyncio.run(second.retrieve("u2"))  # the next message went to the other server
    _turn(other, "终端号10000002", "10000002")
    asyncio.run(second.save(other))
    back = asyncio.run(first.retrieve("u2"))
    assert back is not tracker and back.get_slot("terminal_id") == "10000002"
    assert back.events == _fresh(path, "u2").events


def test_a_tracker_changed_after_its_save_is_not_handed_out_again(tmp_path):
    store = _store(tmp_path / "t.db")
    tracker = asyncio.run(store.get_or_create_tracker("u3"))
    _turn(tracker, "你好", "10000001")
    asyncio.run(store.save(tracker))
    tracker.update(SlotSet("terminal_id", "99999999"))  # a handler failed before saving
    back = asyncio.run(store.retrieve("u3"))
    assert back is not tracker and back.get_slot("terminal_id") == "10000001"


def test_a_tracker_is_handed_out_once(tmp_path):
    store = _store(tmp_path / "t.db")
    tracker = asyncio.run(store.get_or_create_tracker("u4"))
    _turn(tracker, "你好", "10000001")
    asyncio.run(store.save(tracker))
    assert asyncio.run(store.retrieve("u4")) is tracker
    reader = asyncio.run(store.retrieve("u4"))  # a second caller while the first holds it: its own copy from SQL
    assert reader is not tracker and reader == tracker


def test_a_new_session_is_read_back_the_way_sql_reads_it(tmp_path):
    store = _store(tmp_path / "t.db")
    tracker = asyncio.run(store.get_or_create_tracker("u5"))
    _turn(tracker, "你好", "10000001")
    asyncio.run(store.save(tracker))
    tracker = asyncio.run(store.retrieve("u5"))
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    _turn(tracker, "又来了", "10000004")
    asyncio.run(store.save(tracker))
    back = asyncio.run(store.retrieve("u5"))
    assert back is not tracker
    assert back.events == _fresh(tmp_path / "t.db", "u5").events


@pytest.mark.parametrize("size", [0, 1])
def test_a_small_or_no_cache_still_round_trips(tmp_path, size):
    store = _store(tmp_path / "t.db", size=size)
    for sender in ("a", "b"):
        tracker = asyncio.run(store.get_or_create_tracker(sender))
        _turn(tracker, "你好", "10000001")
        asyncio.run(store.save(tracker))
    for sender in ("a", "b"):
        assert asyncio.run(store.retrieve(sender)).events == _fresh(tmp_path / "t.db", sender).events

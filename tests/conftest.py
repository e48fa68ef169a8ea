"""Shared fixtures: a fresh simulated back office per test, a tracker builder."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions import backoffice  # noqa: E402


@pytest.fixture(autouse=True)
def backoffice_db(tmp_path, monkeypatch):
    """Every test gets its own SQLite back office, created on first use."""
    url = f"sqlite:///{tmp_path}/backoffice.db"
    monkeypatch.setenv("XIAOAN_BACKOFFICE_URL", url)
    backoffice._backoffice_for.cache_clear()
    yield url
    backoffice._backoffice_for.cache_clear()


def make_tracker(
    slots: Optional[dict[str, Any]] = None,
    text: str = "",
    intent: str = "inform",
    entities: Optional[list[dict[str, Any]]] = None,
    message_id: str = "m1",
    sender_id: str = "tester",
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "message_id": message_id,
    }
    return Tracker(sender_id, slots or {}, latest, [], False, None, {}, "action_listen")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def texts_of(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("text") or m.get("response") or "" for m in dispatcher.messages]


def pytest_addoption(parser):
    parser.addoption("--live", action="store_true", default=False,
                     help="run tests/live against running servers (make test-live starts them)")

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


OWNER = "owner"  # make_tracker's default: verified as whoever owns the record the slots name


def owner_of(slots: dict[str, Any]) -> str:
    """The fixture owner of the card, terminal or transaction in `slots` (C0001 when none is named)."""
    from actions.backoffice.simulated import load_fixtures

    data = load_fixtures()
    for slot, table in (("reference_number", "transactions"), ("terminal_id", "terminals"), ("card_tail", "cards")):
        for row in data[table] if slots.get(slot) else []:
            if str(row[slot]) == str(slots[slot]):
                return row["owner"]
    return "C0001"


def identity_record(subject: Optional[str], **extra: Any) -> dict[str, Any]:
    """What the ingress records for a message verified as `subject` (None: nobody verified)."""
    if subject is None:
        return {"verified": False, **extra}
    return {"verified": True, "subject": subject, "via": "token", **extra}


def make_tracker(
    slots: Optional[dict[str, Any]] = None,
    text: str = "",
    intent: str = "inform",
    entities: Optional[list[dict[str, Any]]] = None,
    message_id: str = "m1",
    sender_id: str = "tester",
    identity: Optional[str] = OWNER,
) -> Tracker:
    """A tracker whose latest message passed the ingress as `identity` (a customer or merchant id; OWNER: the
    owner of the record the slots name, as a verified user asks about their own; None: an unverified visitor)."""
    slots = slots or {}
    subject = owner_of(slots) if identity == OWNER else identity
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "message_id": message_id,
        "metadata": {"xiaoan": {"identity": identity_record(subject)}},
    }
    return Tracker(sender_id, slots, latest, [], False, None, {}, "action_listen")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def texts_of(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("text") or m.get("response") or "" for m in dispatcher.messages]


def pytest_addoption(parser):
    parser.addoption("--live", action="store_true", default=False,
                     help="run tests/live against running servers (make test-live starts them)")

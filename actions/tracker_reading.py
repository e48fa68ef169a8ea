"""Reading the case from the tracker, the same way in every action."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import texts
from xiaoan.text.amounts import parse_amount
from xiaoan.text.identifiers import clean_identifier


def slot_identifier(tracker: Tracker, name: str) -> Optional[str]:
    return clean_identifier(name, tracker.get_slot(name))


def slot_amount(tracker: Tracker) -> Optional[Decimal]:
    value = tracker.get_slot("amount")
    return parse_amount(str(value)) if value else None


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def record_step(tracker: Tracker, step: str) -> SlotSet:
    """Append one step to the case's `steps_done` list."""
    steps: list[Any] = list(tracker.get_slot("steps_done") or [])
    if step not in steps:
        steps.append(step)
    return SlotSet("steps_done", steps[-20:])


def fraud_reminder_once(tracker: Tracker) -> tuple[Optional[str], list[SlotSet]]:
    """The anti-fraud reminder, the first time a failure conversation needs it."""
    if tracker.get_slot("fraud_reminded"):
        return None, []
    return texts.FRAUD_REMINDER, [SlotSet("fraud_reminded", True)]

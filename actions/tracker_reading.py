"""Reading the case from the tracker, the same way in every action.

What the runtime's ingress (`xiaoan.runtime.ingress`) found in the latest
message (the kinds of secret it masked, the fraud signals it saw, the
client's message id) is read here from the message's metadata, never worked
out again from the text.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from xiaoan.text.amounts import parse_amount
from xiaoan.text.identifiers import clean_identifier

INGRESS_KEY = "xiaoan"  # the ingress's record in a message's metadata
FRAUD_REMINDER = "utter_fraud_reminder"
STAFF_NOTE = "utter_staff_reply_here_only"


def slot_identifier(tracker: Tracker, name: str) -> Optional[str]:
    return clean_identifier(name, tracker.get_slot(name))


def slot_amount(tracker: Tracker) -> Optional[Decimal]:
    value = tracker.get_slot("amount")
    return parse_amount(str(value)) if value else None


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def ingress_record(tracker: Tracker) -> Dict[str, Any]:
    """The ingress's record of the latest message ({} if it never passed the ingress)."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    record = metadata.get(INGRESS_KEY) if isinstance(metadata, dict) else None
    return record if isinstance(record, dict) else {}


def secrets_masked(tracker: Tracker) -> List[str]:
    """The kinds of secret (card_number, pin, cvv, verification_code) the ingress hid in the latest message."""
    return [str(kind) for kind in ingress_record(tracker).get("secrets_masked") or []]


def fraud_signals_seen(tracker: Tracker) -> List[str]:
    """The scam patterns the ingress saw in the latest message (the NLU copies the same list into the parse data)."""
    record = ingress_record(tracker)
    if "fraud_signals" in record:
        return [str(kind) for kind in record.get("fraud_signals") or []]
    return [str(kind) for kind in (tracker.latest_message or {}).get("fraud_signals") or []]


def request_key(tracker: Tracker) -> str:
    """Conversation + message id: the same message, retried, writes nothing twice.

    The client's id for the message when it sent one (REST ``message_id``,
    WeChat ``MsgId``, the chat page's id), else Rasa's id of the message.
    """
    latest = tracker.latest_message or {}
    message_id = ingress_record(tracker).get("message_id") or latest.get("message_id") or ""
    return f"{tracker.sender_id}:{message_id}"


def record_step(tracker: Tracker, step: str) -> SlotSet:
    """Append one step to the case's `steps_done` list."""
    steps: list[Any] = list(tracker.get_slot("steps_done") or [])
    if step not in steps:
        steps.append(step)
    return SlotSet("steps_done", steps[-20:])


def fraud_reminder_once(tracker: Tracker) -> tuple[Optional[str], list[SlotSet]]:
    """The anti-fraud reminder's response, the first time a failure conversation needs it."""
    if tracker.get_slot("fraud_reminded"):
        return None, []
    return FRAUD_REMINDER, [SlotSet("fraud_reminded", True)]


def staff_note_once(tracker: Tracker) -> tuple[Optional[str], list[SlotSet]]:
    """"Staff answer only here, never by phone": the first time a ticket is written or a hand-over happens."""
    if tracker.get_slot("staff_contact_told"):
        return None, []
    return STAFF_NOTE, [SlotSet("staff_contact_told", True)]

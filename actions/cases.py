"""The case on record: what a ticket holds, how it reads, and the ticket of a hand-over.

Both ways a ticket is written use this module: the user asks for one (action_create_ticket,
actions/tickets.py), or a hand-over needs one (actions/handover.py); neither imports the other.

* `case_from_tracker`: the case from the conversation's slots (never a full card number, PIN or code);
* `summary_parts`, `summary_values`: the responses that read a ticket back to the user, and their values;
* `ticket_for_handover`: the case's ticket number, written silently if it has none;
* `attach_ticket`: a ticket written while the conversation waits for staff joins its queue entry.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.backoffice import get_backoffice, in_worker_thread
from actions.backoffice.records import CaseDetails
from actions.record_access import caller
from actions.tracker_reading import request_key, slot_amount, slot_identifier
from xiaoan.handover.store import get_store
from xiaoan.text.amounts import format_amount

logger = logging.getLogger(__name__)

TICKET_SLOT = "ticket_id"
STEPS_JOINER = "；"


def case_from_tracker(tracker: Tracker, handoff: bool) -> CaseDetails:
    amount = slot_amount(tracker)
    return CaseDetails(
        sender_id=tracker.sender_id,
        symptom=tracker.get_slot("symptom") or "",
        amount=format_amount(amount) if amount is not None else None,
        card_tail=slot_identifier(tracker, "card_tail"),
        terminal_id=slot_identifier(tracker, "terminal_id"),
        reference_number=slot_identifier(tracker, "reference_number"),
        bank=tracker.get_slot("bank"),
        steps_done=list(tracker.get_slot("steps_done") or []),
        handoff=handoff,
        verified_as=caller(tracker).subject,
    )


def summary_parts(case: CaseDetails) -> List[str]:
    """utter_ticket_created, then a line for each detail the case has."""
    details = (
        ("utter_ticket_symptom", case.symptom),
        ("utter_ticket_amount", case.amount),
        ("utter_ticket_card_tail", case.card_tail),
        ("utter_ticket_terminal_id", case.terminal_id),
        ("utter_ticket_reference_number", case.reference_number),
        ("utter_ticket_bank", case.bank),
        ("utter_ticket_steps", case.steps_done),
    )
    return ["utter_ticket_created", *(name for name, value in details if value)]


def summary_values(case: CaseDetails) -> Dict[str, Any]:
    """The values `summary_parts`' responses fill in (the ticket's number and time come from the ticket)."""
    return {"symptom": case.symptom, "amount": case.amount, "card_tail": case.card_tail, "terminal_id": case.terminal_id,
            "reference_number": case.reference_number, "bank": case.bank, "steps": STEPS_JOINER.join(case.steps_done)}


async def ticket_for_handover(tracker: Tracker) -> Tuple[Optional[str], List[EventType]]:
    """The case's ticket number, written now if it has none (a failure leaves it without one)."""
    existing = tracker.get_slot(TICKET_SLOT)
    if existing:
        return existing, []
    try:
        ticket = await in_worker_thread(get_backoffice().create_ticket, case_from_tracker(tracker, True),
                                        request_key(tracker))
    except Exception:  # noqa: BLE001 - the queue entry still stands; staff see the conversation
        logger.exception("hand-over: no ticket could be written")
        return None, []
    return ticket.ticket_id, [SlotSet(TICKET_SLOT, ticket.ticket_id)]


async def attach_ticket(tracker: Tracker, ticket_id: str) -> None:
    """A ticket written while the conversation waits in the queue joins its entry."""
    try:
        await in_worker_thread(get_store().attach_ticket, tracker.sender_id, ticket_id)
    except Exception:  # noqa: BLE001 - the ticket stands; the queue shows it once the store answers
        logger.exception("hand-over: the ticket could not be attached to the queue entry")

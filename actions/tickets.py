"""action_create_ticket: the case on record (built and read back by actions/cases.py), and its number once it lands.

The case is read back (its details, the lookups' results in its steps) only to the subject the
conversation was verified for (actions/record_access.py, `case_readable`); anyone else writing in
the conversation hears the ticket's number and time only, and staff see the whole case.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backoffice import get_backoffice, in_worker_thread
from actions.cases import TICKET_SLOT, attach_ticket, case_from_tracker, summary_parts, summary_values
from actions.record_access import caller, case_readable
from actions.speech import say
from actions.tracker_reading import fraud_reminder_once, latest_intent, request_key, staff_note_once
from xiaoan import clock
from xiaoan.names import BUSY_RESPONSE

logger = logging.getLogger(__name__)

PENDING_KEY_SLOT = "pending_ticket_key"
BEING_REGISTERED = "utter_ticket_being_registered"
REGISTERED_LATE = "utter_ticket_registered_late"
LATE_LOOKUP_TIMEOUT_S = 2.0


class ActionCreateTicket(Action):
    """Records the case in the back office (once per message) and returns its ticket number."""

    def name(self) -> Text:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        handoff = latest_intent(tracker) == "request_human"
        case = case_from_tracker(tracker, handoff)
        # A write that timed out may still land: asking again writes under its key, so one ticket.
        key = tracker.get_slot(PENDING_KEY_SLOT) or request_key(tracker)
        try:
            ticket = await in_worker_thread(get_backoffice().create_ticket, case, key)
        except asyncio.TimeoutError:
            logger.warning("ticket write past the time limit; it goes on, its number follows")
            dispatcher.utter_message(response=BEING_REGISTERED)
            return [SlotSet(PENDING_KEY_SLOT, key)]
        except Exception:
            logger.exception("ticket store unavailable")
            dispatcher.utter_message(response=BUSY_RESPONSE)
            return [SlotSet(PENDING_KEY_SLOT, key)]
        parts = summary_parts(case)
        if not case_readable(tracker, caller(tracker)):
            parts = parts[:1]  # utter_ticket_created: the number and the time, none of the case
        say(
            dispatcher, tracker, *parts, sep="\n",
            ticket_id=ticket.ticket_id, created_at=clock.for_people(ticket.created_at), **summary_values(case),
        )
        note, noted = staff_note_once(tracker)
        if note:
            dispatcher.utter_message(response=note)
        reminder, events = fraud_reminder_once(tracker)
        if reminder:
            dispatcher.utter_message(response=reminder)
        await attach_ticket(tracker, ticket.ticket_id)  # a conversation waiting for staff shows its ticket
        return [SlotSet(TICKET_SLOT, ticket.ticket_id), SlotSet(PENDING_KEY_SLOT, None), *noted, *events]


async def ticket_that_landed(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The number of a ticket whose write timed out, once it exists (checked with every message).

    A short look only: while the back office is still slow, nothing is said and
    the next message looks again.
    """
    key = tracker.get_slot(PENDING_KEY_SLOT)
    if not key:
        return []
    try:
        ticket = await in_worker_thread(get_backoffice().find_ticket_by_key, key, timeout=LATE_LOOKUP_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - slow or down: ask again with the next message
        return []
    if ticket is None:
        return []
    dispatcher.utter_message(response=REGISTERED_LATE, ticket_id=ticket.ticket_id,
                             created_at=clock.for_people(ticket.created_at))
    note, noted = staff_note_once(tracker)
    if note:
        dispatcher.utter_message(response=note)
    return [SlotSet(TICKET_SLOT, ticket.ticket_id), SlotSet(PENDING_KEY_SLOT, None), *noted]

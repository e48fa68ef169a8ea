"""action_hand_over, and the one function every hand-over goes through: the conversation joins the staff queue.

Four ways in, each recorded as the queue entry's reason:

* ``request_human``: the user asks for a person (rule: action_create_ticket, action_hand_over);
* ``fraud_report``: after the fraud warning (actions/fraud_warning.py calls `queue_quietly`);
  nothing more is said, the bot keeps answering, a person joins when they claim it;
* ``not_understood``: a second unclear message in a row (actions/fallback.py);
* ``check_failed``: a back-office check that failed before fails again (actions/checks.py).

With someone on duty (inside the staff hours and a console signed in) the
conversation is paused: Rasa then stores the user's messages without
predicting anything (``ConversationPaused``), so the bot is silent until staff
hand it back or close it in the console. Nobody on duty: the user hears so,
with the ticket number and when a person will look, the conversation waits in
the queue, and the bot goes on helping meanwhile. The queue entry records which (``told``): a
paused conversation left unclaimed too long, or at the end of the staff hours, is told so and handed
back to the bot by the console's waiting rule (xiaoan/handover/waiting.py). Every hand-over asks for a
ticket: one is written (silently, under the message's request key) if the case
has none (actions/cases.py, which the ticket action uses too); when that write
fails the user hears that no ticket number exists yet, and the queue entry (the
conversation itself) is what staff see. The first hand-over or ticket of a
conversation also says that staff answer only here and never phone.
The queue lives in the shared store (xiaoan/handover), never in this process.
A conversation joins it at most XIAOAN_HANDOVERS_PER_SENDER times an hour, the conversations of one
client address at most XIAOAN_HANDOVERS_PER_ADDRESS (xiaoan/runtime/limits.py); over that the user
hears ``utter_handover_limited`` (a fraud report is just not queued), asking again while queued counts nothing.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.backoffice import in_worker_thread
from actions.cases import TICKET_SLOT, ticket_for_handover
from actions.speech import render
from actions.tracker_reading import fraud_reminder_once, ingress_record, staff_note_once
from xiaoan import clock
from xiaoan.handover import duty
from xiaoan.handover.store import get_store
import xiaoan.runtime.limits as limits
from xiaoan.names import BUSY_RESPONSE, CHECK_FAILED, NOT_UNDERSTOOD, REQUEST_HUMAN, RESPONSE_KEY

logger = logging.getLogger(__name__)

LEADS = {NOT_UNDERSTOOD: "utter_handover_lead_not_understood", CHECK_FAILED: "utter_handover_lead_check_failed"}


def _channel(tracker: Tracker) -> Optional[str]:
    return tracker.get_latest_input_channel()


def when_text(moment=None) -> str:
    """When a person will look: the next start of the staff hours, or "once someone signs in"."""
    hours = duty.staff_hours()
    day, start = hours.next_opening(moment or clock.now())
    if day == "today":
        return render("utter_when_today", time=start)
    if day == "tomorrow":
        return render("utter_when_tomorrow", time=start)
    return render("utter_when_soon")


def on_duty() -> bool:
    return duty.within_hours() and get_store().someone_signed_in()


class QueueLimited(Exception):
    """The conversation, or its client's address, put too many entries in the queue this hour."""


async def _may_join(tracker: Tracker) -> bool:
    """Asking again while queued keeps the place and counts nothing; a new entry counts against the
    conversation's and the address's hourly limits (xiaoan/runtime/limits.py), so one sender, or many
    sender ids from one address, cannot flood the staff queue."""
    if await in_worker_thread(get_store().active, tracker.sender_id) is not None:
        return True
    client = ingress_record(tracker).get("client")
    limited = await limits.handover_refusal(tracker.sender_id, client if isinstance(client, str) else None)
    if limited:
        logger.warning("hand-over: %s not queued, over the hourly limit", tracker.sender_id)
    return not limited


async def _enqueue(tracker: Tracker, reason: str, ticket_id: Optional[str],
                   told: Optional[str] = None) -> Tuple[int, int, bool]:
    """(the hand-over's id, how many wait before it, someone on duty); QueueLimited over the hourly limits.
    `told`: what a new entry's user has heard (``quiet``: nothing; the waiting rule leaves it alone)."""
    if not await _may_join(tracker):
        raise QueueLimited()
    entry, ahead = await in_worker_thread(get_store().enqueue, tracker.sender_id, _channel(tracker), reason,
                                          ticket_id, tracker.get_slot("symptom"), None, told)
    return entry.id, ahead, await in_worker_thread(on_duty)


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[EventType]:
    """Queue the conversation with its reason and tell the user who and when; pause it if someone is on duty."""
    ticket_id, events = await ticket_for_handover(tracker)
    try:
        entry_id, ahead, staffed = await _enqueue(tracker, reason, ticket_id)
        # paused for a person: the waiting rule watches it (told None); nobody on duty: told so just now
        await in_worker_thread(get_store().set_told, entry_id, None if staffed else "nobody_on_duty")
    except QueueLimited:
        dispatcher.utter_message(response=limits.HANDOVER_LIMITED)
        return events
    except Exception:
        logger.exception("hand-over: the staff queue is unavailable")
        dispatcher.utter_message(response=BUSY_RESPONSE)
        return events
    if reason in LEADS:
        dispatcher.utter_message(response=LEADS[reason])
    note, noted = staff_note_once(tracker)
    if not staffed:
        if ticket_id:
            dispatcher.utter_message(response="utter_nobody_on_duty", ticket_id=ticket_id, when=when_text())
        else:  # no ticket could be written: say so, never a ticket that does not exist
            dispatcher.utter_message(response="utter_nobody_on_duty_no_ticket", when=when_text())
        if note:
            dispatcher.utter_message(response=note)
        reminder, reminded = fraud_reminder_once(tracker)
        if reminder:
            dispatcher.utter_message(response=reminder)
        return [*events, *noted, *reminded]
    # "您前面还有0位" reads oddly: nobody ahead is "您是下一位"
    dispatcher.utter_message(response="utter_handover_queued" if ahead else "utter_handover_queued_next", ahead=ahead)
    if note:
        dispatcher.utter_message(response=note)
    return [*events, *noted, ConversationPaused()]


async def queue_quietly(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[EventType]:
    """Queue without pausing, without a word and without a ticket of its own: after a fraud warning the
    bot's advice stands, it keeps answering and offers a ticket (one written later joins the queue
    entry); the user hears from a person when one claims the conversation."""
    try:
        await _enqueue(tracker, reason, tracker.get_slot(TICKET_SLOT), told="quiet")
    except QueueLimited:  # the warning has been given; a flood of reports stays out of the queue
        pass
    except Exception:  # noqa: BLE001 - the warning has been given; the queue is the extra
        logger.exception("hand-over: the staff queue is unavailable")
    return []


class ActionHandOver(Action):
    """The user asked for a person: queue (reason request_human), say who and when, pause if someone is on duty."""

    def name(self) -> Text:
        return "action_hand_over"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return await hand_over(dispatcher, tracker, REQUEST_HUMAN)


def failed_checks(tracker: Tracker, action_name: str) -> int:
    """How many times `action_name` answered with the busy response in this conversation."""
    count, last_action = 0, None
    for event in tracker.events:
        kind = event.get("event")
        if kind == "action":
            last_action = event.get("name")
        elif kind == "bot" and last_action == action_name:
            if (event.get("metadata") or {}).get(RESPONSE_KEY) == BUSY_RESPONSE:
                count += 1
    return count

"""The three back-office checks: account, terminal and transaction, for the verified owner only.

An unverified visitor is told once how to sign in, and gets the steps that need no lookup; a
verified user gets their own records, and someone else's number is answered like an unknown one
(actions/record_access.py). Lookups that keep finding nothing wait a while, and the case says so.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import card_answer, terminal_answer, transaction_answer
from actions.backoffice import get_backoffice, in_worker_thread
from actions.handover import failed_checks, hand_over
from actions.record_access import Caller, caller, lookups_paused, record_failed_lookup, visible
from actions.speech import Answer, render, say
from actions.tracker_reading import fraud_reminder_once, record_step, slot_amount, slot_identifier
from xiaoan.names import BUSY_RESPONSE, CHECK_FAILED

logger = logging.getLogger(__name__)


class _CheckAction(Action, ABC):
    """Look one identifier up for its owner, answer with the response for what was found, remind about fraud once."""

    slot: str = ""
    kind: str = ""  # account | terminal | transaction: utter_no_lookup_steps_<kind>
    step_response: str = ""  # the case record's line: utter_step_<record>_checked

    @abstractmethod
    def find(self, key: str) -> Any:
        """The back office's record of `key`, or None."""

    @abstractmethod
    def answer(self, tracker: Tracker, record: Any, key: str) -> Answer:
        """The response that answers what was found (None: nothing the caller may see)."""

    def step(self, tracker: Tracker, key: str, outcome: str):
        return record_step(tracker, render(self.step_response, outcome=outcome, **{self.slot: key}))

    def _look_up(self, tracker: Tracker, key: str, who: Caller) -> Tuple[bool, Optional[Any]]:
        """(lookups paused, the record `who` may see): one trip to the worker thread for all three queries."""
        if lookups_paused(tracker, who):
            return True, None
        record = visible(self.find(key), who)
        if record is None:
            record_failed_lookup(tracker, who)
        return False, record

    def not_signed_in(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """No lookup: how to sign in (once a conversation), then what can be done without one."""
        told = bool(tracker.get_slot("sign_in_told"))
        say(dispatcher, tracker, "utter_sign_in_needed_again" if told else "utter_sign_in_needed",
            f"utter_no_lookup_steps_{self.kind}", sep="\n")
        events: List[EventType] = [SlotSet("sign_in_told", True),
                                   record_step(tracker, render("utter_step_not_signed_in"))]
        reminder, reminded = fraud_reminder_once(tracker)
        if reminder:
            dispatcher.utter_message(response=reminder)
        return events + reminded

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        who = caller(tracker)
        if not who.verified:
            return self.not_signed_in(dispatcher, tracker)
        key = slot_identifier(tracker, self.slot)
        if key is None:
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
            return []
        try:
            paused, record = await in_worker_thread(self._look_up, tracker, key, who)
            if paused:
                dispatcher.utter_message(response="utter_lookups_paused")
                return [self.step(tracker, key, render("utter_step_outcome_paused"))]
            answer = self.answer(tracker, record, key)
        except Exception:  # the back office is down or slow: keep the case, say so
            logger.exception("back-office lookup failed for %s", self.name())
            dispatcher.utter_message(response=BUSY_RESPONSE)
            step = self.step(tracker, key, render("utter_step_outcome_busy"))
            if failed_checks(tracker, self.name()):  # failed before too: a person follows it up
                return [step, *await hand_over(dispatcher, tracker, CHECK_FAILED)]
            return [step]
        say(dispatcher, tracker, answer.response, **answer.values)
        reminder, events = fraud_reminder_once(tracker)
        if reminder:
            dispatcher.utter_message(response=reminder)
        return [self.step(tracker, key, answer.outcome), *events]


class ActionCheckAccountStatus(_CheckAction):
    slot = "card_tail"
    kind = "account"
    step_response = "utter_step_card_checked"

    def name(self) -> Text:
        return "action_check_account_status"

    def find(self, key: str) -> Any:
        return get_backoffice().find_card(key)

    def answer(self, tracker: Tracker, record: Any, key: str) -> Answer:
        return card_answer(record, key, slot_amount(tracker), slot_identifier(tracker, "error_code"))


class ActionCheckTerminalStatus(_CheckAction):
    slot = "terminal_id"
    kind = "terminal"
    step_response = "utter_step_terminal_checked"

    def name(self) -> Text:
        return "action_check_terminal_status"

    def find(self, key: str) -> Any:
        return get_backoffice().find_terminal(key)

    def answer(self, tracker: Tracker, record: Any, key: str) -> Answer:
        return terminal_answer(record, key)


class ActionCheckTransaction(_CheckAction):
    slot = "reference_number"
    kind = "transaction"
    step_response = "utter_step_transaction_checked"

    def name(self) -> Text:
        return "action_check_transaction"

    def find(self, key: str) -> Any:
        return get_backoffice().find_transaction(key)

    def answer(self, tracker: Tracker, record: Any, key: str) -> Answer:
        return transaction_answer(record, key)

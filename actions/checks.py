"""The three back-office checks: account, terminal and transaction."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import card_answer, terminal_answer, transaction_answer
from actions.backoffice import get_backoffice, in_worker_thread
from actions.speech import Answer, render, say
from actions.tracker_reading import fraud_reminder_once, record_step, slot_amount, slot_identifier

logger = logging.getLogger(__name__)

BUSY = "utter_system_busy"  # the one busy answer, wherever something fails


class _CheckAction(Action, ABC):
    """Look one identifier up, answer with the response for what was found, remind about fraud once."""

    slot: str = ""
    step_response: str = ""  # the case record's line: utter_step_<record>_checked

    @abstractmethod
    def lookup(self, tracker: Tracker, key: str) -> Answer:
        """The back office's record of `key`, as the response that answers it."""

    def step(self, tracker: Tracker, key: str, outcome: str):
        return record_step(tracker, render(self.step_response, outcome=outcome, **{self.slot: key}))

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        key = slot_identifier(tracker, self.slot)
        if key is None:
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
            return []
        try:
            answer = await in_worker_thread(self.lookup, tracker, key)
        except Exception:  # the back office is down or slow: keep the case, say so
            logger.exception("back-office lookup failed for %s", self.name())
            dispatcher.utter_message(response=BUSY)
            step = self.step(tracker, key, render("utter_step_outcome_busy"))
            from actions.handover import CHECK_FAILED, failed_checks, hand_over

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
    step_response = "utter_step_card_checked"

    def name(self) -> Text:
        return "action_check_account_status"

    def lookup(self, tracker: Tracker, key: str) -> Answer:
        return card_answer(get_backoffice().find_card(key), key, slot_amount(tracker))


class ActionCheckTerminalStatus(_CheckAction):
    slot = "terminal_id"
    step_response = "utter_step_terminal_checked"

    def name(self) -> Text:
        return "action_check_terminal_status"

    def lookup(self, tracker: Tracker, key: str) -> Answer:
        return terminal_answer(get_backoffice().find_terminal(key), key)


class ActionCheckTransaction(_CheckAction):
    slot = "reference_number"
    step_response = "utter_step_transaction_checked"

    def name(self) -> Text:
        return "action_check_transaction"

    def lookup(self, tracker: Tracker, key: str) -> Answer:
        return transaction_answer(get_backoffice().find_transaction(key), key)

"""The three back-office checks: account, terminal and transaction."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.asks import QUESTIONS
from actions.backoffice import get_backoffice, in_worker_thread
from actions.tracker_reading import fraud_reminder_once, record_step, slot_amount, slot_identifier

logger = logging.getLogger(__name__)

BUSY = "系统繁忙，暂时查不到结果。您提供的信息已保留，请稍后再问我一次，或直接联系发卡行客服。"


class _CheckAction(Action, ABC):
    """Look one identifier up, explain the result, remind about fraud once."""

    slot: str = ""
    step_label: str = ""

    @abstractmethod
    def lookup_and_explain(self, tracker: Tracker, key: str) -> tuple[str, str]:
        """(explanation, short state for the case record)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        key = slot_identifier(tracker, self.slot)
        if key is None:
            dispatcher.utter_message(text=QUESTIONS[self.slot])
            return []
        try:
            message, state = await in_worker_thread(self.lookup_and_explain, tracker, key)
        except Exception:  # the back office is down or slow: keep the case, say so
            logger.exception("back-office lookup failed for %s", self.name())
            dispatcher.utter_message(text=BUSY)
            return [record_step(tracker, f"{self.step_label}{key}：查询失败（系统繁忙）")]
        dispatcher.utter_message(text=message)
        reminder, events = fraud_reminder_once(tracker)
        if reminder:
            dispatcher.utter_message(text=reminder)
        return [record_step(tracker, f"{self.step_label}{key}：{state}"), *events]


class ActionCheckAccountStatus(_CheckAction):
    slot = "card_tail"
    step_label = "查询卡片尾号"

    def name(self) -> Text:
        return "action_check_account_status"

    def lookup_and_explain(self, tracker: Tracker, key: str) -> tuple[str, str]:
        card = get_backoffice().find_card(key)
        return texts.explain_card(card, key, slot_amount(tracker)), card.state if card else "未找到"


class ActionCheckTerminalStatus(_CheckAction):
    slot = "terminal_id"
    step_label = "查询终端"

    def name(self) -> Text:
        return "action_check_terminal_status"

    def lookup_and_explain(self, tracker: Tracker, key: str) -> tuple[str, str]:
        terminal = get_backoffice().find_terminal(key)
        if terminal is None:
            state = "未找到"
        elif not terminal.online:
            state = "离线"
        elif not terminal.signed_in:
            state = "未签到"
        else:
            state = terminal.hardware
        return texts.explain_terminal(terminal, key), state


class ActionCheckTransaction(_CheckAction):
    slot = "reference_number"
    step_label = "查询交易参考号"

    def name(self) -> Text:
        return "action_check_transaction"

    def lookup_and_explain(self, tracker: Tracker, key: str) -> tuple[str, str]:
        txn = get_backoffice().find_transaction(key)
        return texts.explain_transaction(txn, key), txn.state if txn else "未找到"

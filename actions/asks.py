"""How the diagnosis form asks for each identifier.

Custom `action_ask_<slot>` actions rather than responses, so the question can
say where to find the number and repeat that we never want secrets.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

QUESTIONS = {
    "card_tail": "请告诉我银行卡的卡号后四位（只要后四位，不要发完整卡号、密码或验证码）。",
    "terminal_id": "请告诉我POS机的8位终端号，一般在签购单（小票）上“终端号”一栏，或机身背面的标签上。",
    "reference_number": "请告诉我这笔交易的12位参考号（小票上的“参考号/检索参考号”，也可在手机银行交易明细里找到）。",
}
HINT_NO_NUMBER = "找不到的话回复“没有”，我告诉您其他办法。"


class _Ask(Action, ABC):
    slot = ""

    @abstractmethod
    def name(self) -> Text:
        """action_ask_<slot>, spelled out so each action is greppable."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(text=f"{QUESTIONS[self.slot]}{HINT_NO_NUMBER}")
        return []


class ActionAskCardTail(_Ask):
    slot = "card_tail"

    def name(self) -> Text:
        return "action_ask_card_tail"


class ActionAskTerminalId(_Ask):
    slot = "terminal_id"

    def name(self) -> Text:
        return "action_ask_terminal_id"


class ActionAskReferenceNumber(_Ask):
    slot = "reference_number"

    def name(self) -> Text:
        return "action_ask_reference_number"

"""How the diagnosis form asks for each identifier.

Custom `action_ask_<slot>` actions rather than the form's plain question: the
question (``utter_ask_<slot>``, which says where to find the number and that
we never want secrets) is followed by the hint for a user who cannot find it
(``utter_ask_no_number_hint``), in one message.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.speech import say

NO_NUMBER_HINT = "utter_ask_no_number_hint"


class _Ask(Action, ABC):
    slot = ""

    @abstractmethod
    def name(self) -> Text:
        """action_ask_<slot>, spelled out so each action is greppable."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        say(dispatcher, tracker, f"utter_ask_{self.slot}", NO_NUMBER_HINT)
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

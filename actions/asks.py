"""How 小安 asks for a number: each identifier of the diagnosis form, and the response code.

Custom `action_ask_<slot>` actions rather than the form's plain question: the
question (``utter_ask_<slot>``, which says where to find the number and that
we never want secrets) is followed by the hint for a user who cannot find it
(``utter_ask_no_number_hint``), in one message.

No question is asked a third time in a row: after two answers it could not
use, the ask changes tack (``utter_ask_number_change_tack``: the no-number
advice or a person, as buttons). The response code is asked once; asked again
(the user said there is none, or reported the code without giving it), the
likely causes are offered instead (``utter_no_error_code``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.speech import say

NO_NUMBER_HINT = "utter_ask_no_number_hint"
CHANGE_TACK = "utter_ask_number_change_tack"
FORM = "diagnosis_form"


def asks_since_form_started(tracker: Tracker, action_name: str) -> int:
    """How often `action_name` ran since the diagnosis form last started, with the slot still empty."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM:
            break
        if event.get("event") == "action" and event.get("name") == action_name:
            count += 1
    return count


def code_asks(tracker: Tracker) -> int:
    """How often the response code was asked for this case and not given."""
    if tracker.get_slot("error_code"):
        return 0
    return int(tracker.get_slot("error_code_asks") or 0)


class _Ask(Action, ABC):
    slot = ""

    @abstractmethod
    def name(self) -> Text:
        """action_ask_<slot>, spelled out so each action is greppable."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if asks_since_form_started(tracker, self.name()) >= 2:
            dispatcher.utter_message(response=CHANGE_TACK)
        else:
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


class ActionAskErrorCode(Action):
    """The response-code question once; then the likely causes as buttons; then the way without a code.

    The third answer ends with the ticket offer (a yes registers the case: data/rules.yml); after that, a
    further "no" closes the topic instead of starting over.
    """

    ANSWERS = (("utter_ask_error_code",), ("utter_no_error_code",), ("utter_no_error_code_again", "utter_offer_ticket"))
    DONE = ("utter_anything_else",)

    def name(self) -> Text:
        return "action_ask_error_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        asked = code_asks(tracker)
        for response in self.ANSWERS[asked] if asked < len(self.ANSWERS) else self.DONE:
            dispatcher.utter_message(response=response)
        return [SlotSet("error_code_asks", float(asked + 1))]

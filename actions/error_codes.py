"""action_explain_error_code: a UnionPay response code in plain Chinese."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.lookup_tables import lookup_code
from actions.tracker_reading import record_step, slot_identifier


class ActionExplainErrorCode(Action):
    """Explains the code and sets `check_kind` to the check that code calls for."""

    def name(self) -> Text:
        return "action_explain_error_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        code = slot_identifier(tracker, "error_code")
        if code is None:
            dispatcher.utter_message(response="utter_ask_error_code")
            return [SlotSet("check_kind", "none")]
        entry = lookup_code(code)
        dispatcher.utter_message(text=texts.explain_code(code, entry))
        check = entry.check if entry else "none"
        meaning = entry.meaning if entry else "未知应答码"
        return [
            SlotSet("error_code", code),
            SlotSet("check_kind", check),
            record_step(tracker, f"解释应答码{code}：{meaning}"),
        ]

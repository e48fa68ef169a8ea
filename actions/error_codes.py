"""action_explain_error_code: a UnionPay response code in plain Chinese."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.lookup_tables import code_texts, lookup_code
from actions.speech import render, say
from actions.tracker_reading import record_step, slot_identifier

# The check a code calls for, offered on the line after the explanation.
CHECK_INVITES = {
    "account": "utter_code_check_account",
    "terminal": "utter_code_check_terminal",
    "transaction": "utter_code_check_transaction",
}


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
        if entry is None:
            dispatcher.utter_message(response="utter_code_unknown", error_code=code)
            meaning = render("utter_step_outcome_unknown_code")
        else:
            texts = code_texts(entry)
            invite = [CHECK_INVITES[entry.check]] if entry.check in CHECK_INVITES else []
            say(dispatcher, tracker, "utter_code_explained", *invite, sep="\n", error_code=code, **texts)
            meaning = texts["code_meaning"]
        return [
            SlotSet("error_code", code),
            SlotSet("check_kind", entry.check if entry else "none"),
            record_step(tracker, render("utter_step_code_explained", error_code=code, code_meaning=meaning)),
        ]

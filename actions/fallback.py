"""action_offer_readings: when the NLU is unsure, offer its likeliest readings instead of "didn't understand".

Rasa's two-stage fallback idea, in one step: the intents the classifier
ranked highest become buttons (their titles are responses,
``utter_reading_<intent>``), with a person as the last choice. Identifiers in
the message are kept: slot mappings have already stored them, so the reading
the user picks goes straight to its check. A second fallback in a row offers
no more guesses: the conversation goes to a person (queue reason
``not_understood``, actions/handover.py).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.handover import hand_over
from actions.speech import render
from xiaoan import content
from xiaoan.names import NOT_UNDERSTOOD

FALLBACK = "nlu_fallback"
MAX_READINGS = 3
MIN_CONFIDENCE = 0.05  # a reading the classifier gives less than this is no reading


def readings(tracker: Tracker) -> List[str]:
    """The likeliest intents of the latest message that have a button title, best first."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    chosen: List[str] = []
    for entry in ranking:
        name = entry.get("name")
        if not name or name == FALLBACK or (entry.get("confidence") or 0.0) < MIN_CONFIDENCE:
            continue
        if f"utter_reading_{name}" in content.responses() and name not in chosen:
            chosen.append(name)
        if len(chosen) == MAX_READINGS:
            break
    return chosen


# Entities a chosen reading carries in its button, so a number in the unclear message is not asked for again.
KEPT_ENTITIES = ("error_code", "card_tail", "terminal_id", "reference_number", "amount", "bank")


def payload(intent: str, tracker: Tracker) -> str:
    """`/intent{"entity": "value"}`: the reading with the message's own identifiers (Rasa's button syntax)."""
    entities: Dict[str, str] = {}
    for entity in (tracker.latest_message or {}).get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if name in KEPT_ENTITIES and isinstance(value, str) and name not in entities:
            entities[name] = value
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def fell_back_before(tracker: Tracker) -> bool:
    """Whether the user message before the latest one also fell back."""
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if not seen_latest:
            seen_latest = True
            continue
        return ((event.get("parse_data") or {}).get("intent") or {}).get("name") == FALLBACK
    return False


class ActionOfferReadings(Action):
    def name(self) -> Text:
        return "action_offer_readings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if fell_back_before(tracker):  # two in a row: a person takes over (queue reason not_understood)
            return await hand_over(dispatcher, tracker, NOT_UNDERSTOOD)
        found = readings(tracker)
        if not found:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": render(f"utter_reading_{name}"), "payload": payload(name, tracker)} for name in found]
        buttons.append({"title": render("utter_reading_request_human"), "payload": "/request_human"})
        dispatcher.utter_message(text=render("utter_default_readings"), buttons=buttons)
        return []

"""The anti-fraud warning and the privacy notice.

A scam pattern anywhere makes the message a `fraud_report` in NLU
(`FraudPatternIntent`), so rules run `action_fraud_warning` first. A leaked
secret is answered by `privacy_notice`, which `action_validate_slot_mappings`
calls on every message: Rasa sends what that action utters before any policy
predicts (messages from custom slot-mapping actions are dropped in 3.6).

Both read what the runtime's ingress recorded when the message came in (the
scam patterns it saw, the kinds of secret it masked); neither reads the text
again.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handover import queue_quietly
from actions.speech import render, say
from actions.tracker_reading import fraud_signals_seen, latest_intent, secrets_masked
from xiaoan import content
from xiaoan.text.fraud import is_urgent

PRIVACY_WARNING = "utter_privacy_warning"
SECRETS_JOINER = "、"


def fraud_warning_parts(signals: List[str]) -> List[str]:
    """The warning's responses: the head, one line of advice per pattern seen (or the general one), the tail."""
    advice = [f"utter_fraud_advice_{kind}" for kind in dict.fromkeys(signals)]
    advice = [name for name in advice if name in content.responses()] or ["utter_fraud_advice_general"]
    return ["utter_fraud_warning_head", *advice, "utter_fraud_warning_tail"]


class ActionFraudWarning(Action):
    """Warns against fraud: for fraud_report, and for any message with a scam pattern (rules run it once)."""

    def name(self) -> Text:
        return "action_fraud_warning"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        signals = fraud_signals_seen(tracker)
        reported = latest_intent(tracker) == "fraud_report"
        if not (reported or is_urgent(signals)):
            return []
        say(dispatcher, tracker, *fraud_warning_parts(signals), sep="\n")
        # the case also goes to a person (queue reason fraud_report; actions/handover.py)
        return [SlotSet("fraud_reminded", True), *await queue_quietly(dispatcher, tracker, "fraud_report")]


def privacy_notice(tracker: Tracker) -> Optional[str]:
    """For a message that carried a card number, PIN, CVV or SMS code: the names of what was hidden, else None.

    The value of ``{secrets}`` in `utter_privacy_warning` (utter_secret_<kind>, joined).
    """
    found = sorted(set(secrets_masked(tracker)))
    if not found:
        return None
    names = [render(f"utter_secret_{kind}") for kind in found if f"utter_secret_{kind}" in content.responses()]
    return SECRETS_JOINER.join(names) or render("utter_secret_other")

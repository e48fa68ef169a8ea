"""The anti-fraud warning, the once-per-conversation reminder, and the notices said before an answer.

A scam report is a `fraud_report` in NLU (`FraudPatternIntent`: an urgent
scam pattern the ingress recorded, or the classifier), so rules run
`action_fraud_warning` first. The warning is fitted to what the user
described: its first line names who the caller pretended to be (police or a
court, a courier, a bank or customer service), then one line of advice per
signal; a question asked in the same message ("…钱多久能退回来") is answered
after it, with that question's own response.

`action_fraud_reminder` says the reminder where a failure conversation would
otherwise end without one (the triage question, no number at hand, nothing to
check, a hand-over); checks and tickets say it too, and `fraud_reminded`
keeps it to once (a warning counts as the reminder).

Two notices are said by `action_validate_slot_mappings` on every message,
before any policy predicts (Rasa sends what that action utters first):
`privacy_notice` for a message that carried a secret, and `question_notices`
for the user's own question about fees or a scam's usual demands ("退款要手续费吗",
"银行会找我要验证码吗"): the plain fact, never a scam alert.

All of them read what the runtime's ingress recorded when the message came
in (the signals, the kinds of secret masked) and the NLU's ranking; none
reads the text again.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handover import queue_quietly
from actions.speech import render, say
from actions.tracker_reading import (
    FRAUD_REMINDER,
    fraud_reminder_once,
    fraud_signals_seen,
    latest_intent,
    secrets_masked,
)
from xiaoan import content
from xiaoan.names import FRAUD_REPORT
from xiaoan.text.fraud import (
    SCAM_QUESTION,
    URGENT_KINDS,
    fee_questions,
    impersonated,
    is_urgent,
)

PRIVACY_WARNING = "utter_privacy_warning"
SECRETS_JOINER = "、"
FRAUD_INTENT = "fraud_report"
# Questions answered inside a scam report, when the classifier saw one beside the report.
QUESTION_INTENTS = (
    "ask_arrival_time", "ask_contact_bank", "ask_retry", "ask_verify_payee", "ask_alternatives", "ask_prevention",
    "ask_apply_pos",
)
QUESTION_MIN_CONFIDENCE = 0.1
# A line of advice another line already says: an SMS read out is a code given away (code_request's line).
ADVICE_COVERED_BY = {"sms_forward": "code_request"}
# What to do now: its own paragraph (a bubble of its own on the chat page) after the lines of advice.
WARNING_TAIL = "utter_fraud_warning_tail"


def fraud_warning_parts(signals: List[str]) -> List[str]:
    """The warning's responses: the head (who was impersonated), one line of advice per signal (or the general one), the tail."""
    responses = content.responses()
    who = impersonated(signals)
    head = f"utter_fraud_warning_head_{who}" if who and f"utter_fraud_warning_head_{who}" in responses \
        else "utter_fraud_warning_head"
    # One line per scam pattern, then one for who was impersonated (the party the first line names; the
    # general "an impersonator" line only when nobody is named).
    kinds = [kind for kind in dict.fromkeys(signals) if kind in URGENT_KINDS and not (who and kind == "impersonator")]
    kinds = [kind for kind in kinds if not (kind in ADVICE_COVERED_BY and ADVICE_COVERED_BY[kind] in kinds)]
    kinds += [who] if who else []
    advice = [f"utter_fraud_advice_{kind}" for kind in kinds if f"utter_fraud_advice_{kind}" in responses]
    return [head, *(advice or ["utter_fraud_advice_general"]), WARNING_TAIL]


def question_beside_report(tracker: Tracker) -> Optional[str]:
    """The response answering a question asked in the same message as a scam report, if the NLU saw one.

    The best-ranked question intent after fraud_report, if confident enough
    (`QUESTION_MIN_CONFIDENCE`), and only if it is the classifier's first
    choice among everything but fraud_report.
    """
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    others = [entry for entry in ranking if entry.get("name") not in (FRAUD_INTENT, "nlu_fallback")]
    if not others:
        return None
    best = others[0]
    name = best.get("name")
    if name in QUESTION_INTENTS and float(best.get("confidence") or 0.0) >= QUESTION_MIN_CONFIDENCE:
        response = f"utter_{name}"
        return response if response in content.responses() else None
    return None


class ActionFraudWarning(Action):
    """Warns against fraud (fraud_report, or a message with an urgent scam pattern); then answers the question asked."""

    def name(self) -> Text:
        return "action_fraud_warning"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        signals = fraud_signals_seen(tracker)
        reported = latest_intent(tracker) == FRAUD_INTENT
        if not (reported or is_urgent(signals)):
            return []
        say(dispatcher, tracker, *fraud_warning_parts(signals), sep="\n", paragraph_before=(WARNING_TAIL,))
        question = question_beside_report(tracker)
        if question:
            dispatcher.utter_message(response=question)
        # the case also goes to a person (queue reason fraud_report; actions/handover.py)
        return [SlotSet("fraud_reminded", True), *await queue_quietly(dispatcher, tracker, FRAUD_REPORT)]


class ActionFraudReminder(Action):
    """The anti-fraud reminder, if this conversation has not had it (or a warning) yet."""

    def name(self) -> Text:
        return "action_fraud_reminder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        reminder, events = fraud_reminder_once(tracker)
        if reminder:
            dispatcher.utter_message(response=reminder)
        return list(events)


def privacy_notice(tracker: Tracker) -> Optional[str]:
    """For a message that carried a card number, PIN, CVV or SMS code: the names of what was hidden, else None.

    The value of ``{secrets}`` in `utter_privacy_warning` (utter_secret_<kind>, joined).
    """
    found = sorted(set(secrets_masked(tracker)))
    if not found:
        return None
    names = [render(f"utter_secret_{kind}") for kind in found if f"utter_secret_{kind}" in content.responses()]
    return SECRETS_JOINER.join(names) or render("utter_secret_other")


def question_notices(tracker: Tracker) -> Tuple[List[str], List[EventType]]:
    """The plain facts for the user's own question about fees or a scam's usual demands, and their slot events.

    A fee question gets utter_fee_answer_<refund|unfreeze|pos>; a question
    whether someone would ask for a code, a "safe account" or a fee gets the
    reminder itself (that is its answer), once per conversation. Nothing for a
    scam report: the warning answers it.
    """
    signals = fraud_signals_seen(tracker)
    if is_urgent(signals) or latest_intent(tracker) == FRAUD_INTENT:
        return [], []
    responses = [f"utter_fee_answer_{kind.removeprefix('fee_question_')}" for kind in fee_questions(signals)]
    responses = [name for name in responses if name in content.responses()]
    events: List[EventType] = []
    if SCAM_QUESTION in signals and not tracker.get_slot("fraud_reminded"):
        responses.append(FRAUD_REMINDER)
        events.append(SlotSet("fraud_reminded", True))
    return responses, events

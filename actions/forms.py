"""Slot validation: the diagnosis form and the global slot checks."""
from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction, ValidationAction
from rasa_sdk.types import DomainDict

from actions.fraud_warning import PRIVACY_WARNING, privacy_notice, question_notices
from actions.record_access import caller
from actions.tickets import ticket_that_landed
from actions.tracker_reading import latest_intent, latest_text
from xiaoan import slot_validation
from xiaoan.text.identifiers import clean_identifier, find_identifiers
from xiaoan.text.mistakes import PIN, mistake_kind
from xiaoan.text.normalize import normalize_text

# The scenarios that open a case of their own (the intents that set `check_kind` in domain.yml).
NEW_CASE_INTENTS = slot_validation.NEW_CASE_INTENTS  # one list: the Rasa server skips the call by it too
SLOT_FOR_CHECK = {"account": "card_tail", "terminal": "terminal_id", "transaction": "reference_number"}
CHECK_FOR_SLOT = {slot: kind for kind, slot in SLOT_FOR_CHECK.items()}


def _clean(slot: str, value: Any, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """The identifier, well formed; else None and the form says what a good one looks like (utter_invalid_<slot>)."""
    cleaned = clean_identifier(slot, value)
    if cleaned is None and value is not None:
        dispatcher.utter_message(response=f"utter_invalid_{slot}")
    return {slot: cleaned}


def kind_from_entities(tracker: Tracker) -> Optional[str]:
    """The check that the identifier in the latest message calls for, if any."""
    for entity in reversed((tracker.latest_message or {}).get("entities") or []):
        name = entity.get("entity")
        if name in CHECK_FOR_SLOT:
            return CHECK_FOR_SLOT[name]
        if name == "card_number":
            return "account"
    return None


def infer_check_kind(tracker: Tracker) -> Optional[str]:
    """The case's check: the slot when a scenario set it, else the identifier given."""
    return tracker.get_slot("check_kind") or kind_from_entities(tracker)


def mistake_from_text(tracker: Tracker) -> List[EventType]:
    """An operating mistake: which one (`mistake`, for the answer's wording) and whether anything can be looked up.

    A wrong PIN is declined by the issuer and debits nothing: no transaction to look up (`check_kind` none).
    """
    intent = latest_intent(tracker)
    if intent != "input_error":  # another scenario is another case: its answers take no mistake's wording
        return [SlotSet("mistake", None)] if intent in NEW_CASE_INTENTS and tracker.get_slot("mistake") else []
    kind = mistake_kind(latest_text(tracker))
    events: List[EventType] = [SlotSet("mistake", kind)]
    if kind == PIN:
        events.append(SlotSet("check_kind", "none"))
    return events


def terminal_from_page(tracker: Tracker) -> List[EventType]:
    """A merchant portal passes its terminal id in the page's customData: use it, never ask."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    given = clean_identifier("terminal_id", metadata.get("terminal_id"))
    if given and not tracker.get_slot("terminal_id"):
        tracker.slots["terminal_id"] = given
        return [SlotSet("terminal_id", given)]
    return []


class ValidateDiagnosisForm(FormValidationAction):
    """Asks only for the identifier that the case's check needs, and only a verified user (nothing else is looked up)."""

    def name(self) -> Text:
        return "validate_diagnosis_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if not caller(tracker).verified:  # nothing will be looked up: do not ask for a number
            return []
        slot = SLOT_FOR_CHECK.get(infer_check_kind(tracker) or "")
        return [slot] if slot else []

    def _from_text(self, slot: str, tracker: Tracker) -> Dict[Text, Any]:
        """The requested identifier typed without the words NLU keys on (a bare number)."""
        if tracker.get_slot("requested_slot") != slot or tracker.get_slot(slot):
            return {}
        text = normalize_text(latest_text(tracker))
        for found in find_identifiers(text):
            if found.entity == slot:
                return {slot: found.value}
        return {}

    async def extract_card_tail(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._from_text("card_tail", tracker)

    async def extract_terminal_id(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._from_text("terminal_id", tracker)

    async def extract_reference_number(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._from_text("reference_number", tracker)

    def validate_card_tail(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return _clean("card_tail", value, dispatcher)

    def validate_terminal_id(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return _clean("terminal_id", value, dispatcher)

    def validate_reference_number(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return _clean("reference_number", value, dispatcher)


# Why a token was refused → the answer that says so (domain.yml).
REFUSAL_RESPONSES = {"expired": "utter_identity_refused_expired", "forged": "utter_identity_refused_invalid",
                     "malformed": "utter_identity_refused_invalid", "not_configured": "utter_identity_refused_unavailable"}


def identity_refusal(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """A refused sign-in token: say why, once per reason in a conversation; the user goes on unverified."""
    problem = caller(tracker).problem
    if problem not in REFUSAL_RESPONSES or tracker.get_slot("identity_refusal_told") == problem:
        return []
    dispatcher.utter_message(response=REFUSAL_RESPONSES[problem])
    return [SlotSet("identity_refusal_told", problem)]


@functools.lru_cache(maxsize=None)
def _validated_slots(cls: type) -> tuple:
    """Slot names with a `validate_<slot>` method on `cls`, found once per class (this runs every message)."""
    return tuple(name[len("validate_"):] for name in dir(cls)
                 if name.startswith("validate_") and callable(getattr(cls, name)))


class ValidateSlotMappings(ValidationAction):
    """Every turn: keep identifiers well formed and a card only as its tail.

    Also warns when the message carried a secret, and decides `check_kind` from a bare identifier when no scenario has, so
    the dialogue policies see it before they predict.

    It needs no domain: Rasa runs it on every message, and with `enable_selective_domain` in the endpoints it no
    longer sends the whole domain (~26 KB of JSON each way) with it.
    """

    def domain_slots(self, domain: DomainDict) -> List[Text]:
        """The slots this action validates: one `validate_<slot>` method each (all global slots in domain.yml)."""
        return list(_validated_slots(type(self)))

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        events += terminal_from_page(tracker)
        events += await ticket_that_landed(dispatcher, tracker)
        events += identity_refusal(dispatcher, tracker)
        secrets = privacy_notice(tracker)
        if secrets:
            dispatcher.utter_message(response=PRIVACY_WARNING, secrets=secrets)
            events.append(SlotSet("secrets_warned", True))
        notices, notice_events = question_notices(tracker)  # "退款要手续费吗": the fact, before the answer
        for notice in notices:
            dispatcher.utter_message(response=notice)
        events += notice_events
        current = tracker.get_slot("check_kind")
        given = kind_from_entities(tracker)
        # A bare detail ("参考号2026...") redirects the check; a scenario's own kind stands.
        if given and (current is None or latest_intent(tracker) == "inform") and given != current:
            events.append(SlotSet("check_kind", given))
        events += mistake_from_text(tracker)
        if latest_intent(tracker) in NEW_CASE_INTENTS - {"error_code"} and tracker.get_slot("error_code_asks"):
            events.append(SlotSet("error_code_asks", None))  # a new case: its code not asked yet
        return events

    def validate_card_tail(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"card_tail": clean_identifier("card_tail", value)}

    def validate_terminal_id(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"terminal_id": clean_identifier("terminal_id", value)}

    def validate_reference_number(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"reference_number": clean_identifier("reference_number", value)}

    def validate_error_code(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        code = clean_identifier("error_code", value)
        return {"error_code": code, "error_code_asks": None} if code else {"error_code": None}

"""Whether `action_validate_slot_mappings` has anything to do with a message: one answer for both servers.

Why: Rasa calls that action on the action server for every message (the
domain's custom slot mappings), and the round trip, with the whole tracker
as JSON each way, was a fifth of the CPU a message cost on both servers
together (docs/benchmarks.md, "Lean path"). Most messages (a greeting, a
question, a yes) give it nothing to do. The Rasa server asks `needs_validation`
first and makes the call only when it says yes (xiaoan/runtime/processor.py);
the action (actions/forms.py ValidateSlotMappings) takes its list of new-case
intents from here, and tests/test_slot_validation.py runs it on every kind of
message and state and checks that whenever this says no, it says nothing and
sets nothing.

What the action does, and what it reads to do it: cleans the identifiers of
the entities the message carried and redirects the check by them (entities);
takes a terminal id the page passed (metadata `terminal_id`); says a ticket
that landed late (slot `pending_ticket_key`); says why a sign-in token was
refused (the ingress's identity record: a problem, or expiry close by); warns
about a secret (`secrets_masked`); answers a fee or scam question with the
plain fact (`fraud_signals`); reads an operating mistake (intent
`input_error`) and clears a previous case's mistake and code questions (a new
case's intent while `mistake` or `error_code_asks` is set).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

INGRESS_KEY = "xiaoan"  # the ingress's record in a message's metadata (xiaoan.runtime.ingress)
NEW_CASE_INTENTS = frozenset({
    "transfer_failed", "terminal_fault", "network_issue", "account_problem", "input_error", "system_delay",
    "charged_but_failed", "payee_not_received", "recipient_bank_issue", "funds_returned", "error_code",
})
CASE_SLOTS = ("mistake", "error_code_asks")  # cleared by a new case's intent
EXPIRY_MARGIN_S = 300.0  # a token this close to its expiry may be refused by the time the action reads it


def needs_validation(latest: Mapping[str, Any], slot: Callable[[str], Any], now: Optional[float] = None) -> bool:
    """Whether the validation action may say or set anything for the latest message (`latest`: its parse,
    `intent`, `entities`, `metadata`, `fraud_signals`; `slot`: the conversation's slot values)."""
    if latest.get("entities"):
        return True
    metadata = latest.get("metadata") if isinstance(latest.get("metadata"), Mapping) else {}
    if metadata.get("terminal_id") or slot("pending_ticket_key"):
        return True
    record = metadata.get(INGRESS_KEY) if isinstance(metadata.get(INGRESS_KEY), Mapping) else {}
    if record.get("secrets_masked") or record.get("fraud_signals") or latest.get("fraud_signals"):
        return True
    identity = record.get("identity") if isinstance(record.get("identity"), Mapping) else {}
    if identity.get("problem"):
        return True
    expires = identity.get("expires")
    if isinstance(expires, (int, float)) and expires <= (time.time() if now is None else now) + EXPIRY_MARGIN_S:
        return True
    intent = (latest.get("intent") or {}).get("name")
    if intent == "input_error":
        return True
    return intent in NEW_CASE_INTENTS and any(slot(name) for name in CASE_SLOTS)

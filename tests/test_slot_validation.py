"""The Rasa server skips `action_validate_slot_mappings` only where the action would do nothing.

xiaoan/slot_validation.py says, from the latest message and the slots, whether the action may say or set
anything; the Rasa server makes the call only then. Here the action runs on every held-out, dev and fraud-set
message (through the ingress, with its labelled intent) in several conversation states: wherever the predicate
says no, the action must say nothing and set nothing.
"""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateSlotMappings
from tests.helpers import admitted
from xiaoan.slot_validation import needs_validation

ROOT = Path(__file__).resolve().parents[1]
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
STATES = [{}, {"mistake": "pin"}, {"error_code_asks": 1.0}, {"check_kind": "terminal", "terminal_id": "10000002"}]


def messages() -> list:
    """(intent, text) of the held-out file, the dev set and the fraud set (its harmless part as `ask_*`-like)."""
    found = []
    for path in [*sorted((ROOT / "tests" / "nlu").glob("*.yml")), *sorted((ROOT / "tests" / "nlu_dev").glob("*.yml")),
                 *sorted((ROOT / "tests" / "fraud").glob("*.yml"))]:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
            intent = block.get("intent")
            if not intent:
                continue
            intent = "out_of_scope" if intent == "not_fraud" else intent
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    found.append((intent, _ANNOTATION.sub(r"\1", line.strip()[2:])))
    return found


def acted(tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    return events, dispatcher.messages


def test_wherever_the_predicate_says_no_the_action_does_nothing():
    skipped = called = 0
    for index, (intent, text) in enumerate(messages()):
        for slots in STATES[index % 2::2]:  # every message in two of the states, alternating: ~20 s
            tracker = admitted(text, intent, **slots)
            if needs_validation(tracker.latest_message, tracker.get_slot):
                called += 1
                continue
            skipped += 1
            assert acted(tracker) == ([], []), (intent, text, slots)
    assert skipped > 600 and called > 150  # most messages are skipped; the rest keep their call


@pytest.mark.parametrize("text, intent, slots", [
    ("我的卡号6222021234567890123刷不了", "account_problem", {}),  # a secret: the privacy notice
    ("退款要手续费吗", "ask_retry", {}),  # a fee question: the plain fact first
    ("金额输错了", "input_error", {}),  # the mistake is read
    ("pos机死机了", "terminal_fault", {"mistake": "pin"}),  # a new case clears the old mistake
    ("好的", "affirm", {"pending_ticket_key": "k1"}),  # a late ticket is looked for
])
def test_where_the_action_has_work_the_predicate_says_yes(text, intent, slots):
    tracker = admitted(text, intent, **slots)
    assert needs_validation(tracker.latest_message, tracker.get_slot)


def test_a_refused_token_or_a_page_terminal_or_an_entity_keeps_the_call():
    def latest(**extra):
        return {"intent": {"name": "greet"}, "entities": [], "metadata": {}, **extra}

    no_slots = {}.get
    assert not needs_validation(latest(), no_slots)
    assert needs_validation(latest(entities=[{"entity": "card_tail", "value": "1234"}]), no_slots)
    assert needs_validation(latest(metadata={"terminal_id": "10000001"}), no_slots)
    assert needs_validation(latest(metadata={"xiaoan": {"identity": {"verified": False, "problem": "forged"}}}), no_slots)
    assert needs_validation(latest(metadata={"xiaoan": {"identity": {"verified": True, "expires": 100.0}}}), no_slots,
                            now=50.0)
    assert not needs_validation(latest(metadata={"xiaoan": {"identity": {"verified": True, "expires": 10_000.0}}}),
                                no_slots, now=50.0)

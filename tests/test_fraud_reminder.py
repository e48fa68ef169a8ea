"""The anti-fraud reminder, exactly once in every failure conversation of the test stories.

`make test-stories` checks that the trained policies take each story's path
(every action of tests/test_stories.yml predicted). A story cannot show what a
custom action says, so this test walks the same stories through the actions
themselves, in-process, against the simulated back office: every user turn
through the runtime's ingress and the slot action's notices, every custom
action that can speak the reminder run with the slots so far, and counts what
the user would read.

A failure conversation (one that reports a failure or asks for a person) must
read `utter_fraud_reminder` exactly once, or, when a scam was reported before
it was due, the strong warning in its place (the warning sets the same flag);
any other conversation reads it at most once.
"""
import re
from pathlib import Path

import pytest
import yaml
from rasa.core.channels.channel import UserMessage

from actions.checks import ActionCheckAccountStatus, ActionCheckTerminalStatus, ActionCheckTransaction
from actions.fraud_warning import ActionFraudReminder, ActionFraudWarning, question_notices
from actions.tickets import ActionCreateTicket
from tests.helpers import heard, make_tracker, slot_events
from xiaoan.runtime.ingress import admit

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT / "tests" / "test_stories.yml"
REMINDER = "utter_fraud_reminder"
FAILURE_INTENTS = {
    "transfer_failed", "terminal_fault", "network_issue", "account_problem", "input_error", "system_delay",
    "charged_but_failed", "payee_not_received", "recipient_bank_issue", "funds_returned", "error_code",
    "request_human",
}
SPEAKERS = {
    action.name(): action
    for action in (ActionFraudReminder(), ActionFraudWarning(), ActionCheckAccountStatus(), ActionCheckTerminalStatus(),
                   ActionCheckTransaction(), ActionCreateTicket())
}
ENTITY_SLOTS = {"card_tail", "terminal_id", "reference_number", "error_code", "amount", "bank"}
_ROUND = re.compile(r"\[([^\]]+)\]\(([a-z_]+)(?::([^)]*))?\)")
_CURLY = re.compile(r"\[([^\]]+)\](\{[^}]*\})")


def stories():
    doc = yaml.safe_load(STORIES.read_text(encoding="utf-8")) or {}
    return [pytest.param(story, id=story["story"]) for story in doc.get("stories") or []]


def read_user_turn(text: str) -> tuple[str, dict]:
    """The plain text of a story's user turn and the slots its annotated entities fill."""
    slots: dict = {}

    def curly(match):
        import json

        spec = json.loads(match.group(2))
        slots[spec["entity"]] = spec.get("value", match.group(1))
        return match.group(1)

    def rounded(match):
        slots[match.group(2)] = match.group(3) or match.group(1)
        return match.group(1)

    plain = _ROUND.sub(rounded, _CURLY.sub(curly, text.strip()))
    if "card_number" in slots:
        slots["card_tail"] = re.sub(r"\D", "", slots.pop("card_number"))[-4:]
    return plain, {name: value for name, value in slots.items() if name in ENTITY_SLOTS}


def walk(story: dict) -> tuple[int, int, bool]:
    """(reminders read, warnings read, whether it is a failure conversation)."""
    slots: dict = {}
    latest: dict = {}
    reminders = warnings = 0
    failure = False
    for step in story["steps"]:
        if "user" in step:
            text, filled = read_user_turn(step["user"])
            slots.update(filled)
            intent = step.get("intent", "")
            failure = failure or intent in FAILURE_INTENTS
            message = admit(UserMessage(text, sender_id="story"))
            latest = {"text": message.text, "intent": intent, "metadata": message.metadata}
            said, events = question_notices(tracker(slots, latest))
            reminders += said.count(REMINDER)
            slots.update(slot_events(events))
        elif "slot_was_set" in step:
            for entry in step["slot_was_set"]:
                if isinstance(entry, dict):
                    slots.update({k: v for k, v in entry.items() if k != "fraud_reminded"})  # only actions set it
        elif step.get("action") == REMINDER:
            reminders += 1
        elif step.get("action") in SPEAKERS:
            dispatcher, events = heard(SPEAKERS[step["action"]], tracker(slots, latest))
            reminders += sum(m.get("response") == REMINDER for m in dispatcher.messages)
            warnings += sum(any(part.startswith("utter_fraud_warning_head") for part in m.get("composed_of") or [])
                            for m in dispatcher.messages)
            slots.update(slot_events(events))
    return reminders, warnings, failure


def tracker(slots: dict, latest: dict):
    made = make_tracker(dict(slots), text=latest.get("text", ""), intent=latest.get("intent", ""))
    made.latest_message["metadata"] = latest.get("metadata") or {}
    return made


@pytest.mark.parametrize("story", stories())
def test_the_reminder_is_read_exactly_once(story):
    reminders, warnings, failure = walk(story)
    assert reminders <= 1, f"reminded {reminders} times"
    if failure:
        assert reminders == 1 or warnings >= 1, "a failure conversation without the anti-fraud reminder"


def test_every_path_of_the_issue_has_a_story():
    """No number given, a code with no check, the triage question only, a hand-over: each has its story."""
    names = {story.values[0]["story"] for story in stories()}
    for name in ("防骗提醒：只回答了分诊问题", "防骗提醒：找不到终端号", "防骗提醒：应答码没有可查的（91）", "转人工"):
        assert name in names

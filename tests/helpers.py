"""What the tests share, in one place: a tracker as the ingress leaves it, running an action, reading what it
said and set, and the trained model. Fixtures (a back office per test, `dispatcher`, `trained_model`) and
the `live` marker's switch are in tests/conftest.py."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"

OWNER = "owner"  # make_tracker's default: verified as whoever owns the record the slots name


def newest_model() -> Optional[Path]:
    """The newest models/*.tar.gz, the one `make train` made last and the servers load; None when there is none."""
    models = sorted(MODELS.glob("*.tar.gz"), key=os.path.getmtime)
    return models[-1] if models else None


# -- trackers -------------------------------------------------------------------------------------------


def owner_of(slots: dict[str, Any]) -> str:
    """The fixture owner of the card, terminal or transaction in `slots` (C0001 when none is named)."""
    from actions.backoffice.simulated import load_fixtures

    data = load_fixtures()
    for slot, table in (("reference_number", "transactions"), ("terminal_id", "terminals"), ("card_tail", "cards")):
        for row in data[table] if slots.get(slot) else []:
            if str(row[slot]) == str(slots[slot]):
                return row["owner"]
    return "C0001"


def identity_record(subject: Optional[str], sender_id: str = "tester", **extra: Any) -> dict[str, Any]:
    """What the ingress records for a message of conversation `sender_id` verified as `subject` (None: nobody
    verified), sealed with the test's ingress key as the ingress seals it."""
    from xiaoan.identity.seal import sealed

    if subject is None:
        return sealed({"verified": False, "channel": "rest", **extra}, sender_id)
    return sealed({"verified": True, "subject": subject, "via": "token", "channel": "rest", **extra}, sender_id)


def make_tracker(
    slots: Optional[dict[str, Any]] = None,
    text: str = "",
    intent: str = "inform",
    entities: Optional[list[dict[str, Any]]] = None,
    message_id: str = "m1",
    sender_id: str = "tester",
    identity: Optional[str] = OWNER,
    *,
    confidence: float = 1.0,
    ranking: Optional[list[dict[str, Any]]] = None,
    events: Optional[list[dict[str, Any]]] = None,
    active_loop: Optional[str] = None,
) -> Tracker:
    """A tracker whose latest message passed the ingress as `identity` (a customer or merchant id; OWNER: the
    owner of the record the slots name, as a verified user asks about their own; None: an unverified visitor),
    with the NLU's `ranking` when given, the conversation's `events` so far and the form in `active_loop`."""
    slots = slots or {}
    subject = owner_of(slots) if identity == OWNER else identity
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "message_id": message_id,
        "metadata": {"xiaoan": {"identity": identity_record(subject, sender_id)}},
    }
    if ranking is not None:
        latest["intent_ranking"] = ranking
    loop = {"name": active_loop} if active_loop else {}
    return Tracker(sender_id, slots, latest, list(events or []), False, None, loop, "action_listen")


def admitted(text: str, intent: str = "inform", ranking: Optional[list[dict[str, Any]]] = None,
             **slots: Any) -> Tracker:
    """A tracker whose latest message came in through the runtime's ingress, as every live message does,
    with the NLU's intent and ranking (the intent alone when no ranking is given)."""
    from rasa.core.channels.channel import UserMessage

    from xiaoan.runtime.ingress import admit

    message = admit(UserMessage(text, sender_id="tester"))
    tracker = make_tracker(slots, text=message.text, intent=intent,
                           ranking=ranking or [{"name": intent, "confidence": 1.0}])
    tracker.latest_message["metadata"] = message.metadata
    return tracker


# -- running an action, reading what it did ------------------------------------------------------------


def run(action: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The action's events, with an empty domain (the actions read none)."""
    return asyncio.run(action.run(dispatcher, tracker, {}))


def heard(action: Any, tracker: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    """`run` on a fresh dispatcher: what the action said, and its events (to compare two runs)."""
    dispatcher = CollectingDispatcher()
    return dispatcher, run(action, dispatcher, tracker)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots the events set, by name."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def chosen(message: dict[str, Any]) -> list[str]:
    """The responses a message was made of: Rasa's (`response`) or the action's own rendering (`composed_of`)."""
    return message.get("composed_of") or [message.get("response")]


def responses_of(dispatcher: CollectingDispatcher) -> list[str]:
    """The responses every message was made of, in order."""
    return [part for message in dispatcher.messages for part in chosen(message)]


def texts_of(dispatcher: CollectingDispatcher) -> list[str]:
    """Each message's text (the response's name for one left to Rasa to render)."""
    return [m.get("text") or m.get("response") or "" for m in dispatcher.messages]


def text_of(dispatcher: CollectingDispatcher) -> str:
    """Everything the messages said, one string."""
    return "\n".join(texts_of(dispatcher))


def forged_action_call(action: str = "action_check_transaction", subject: str = "C0001") -> Dict[str, Any]:
    """An action-server call as an attacker would write it: a made-up tracker claiming a verified owner."""
    return {"next_action": action, "sender_id": "attacker", "version": "3.6.2", "domain": {},
            "tracker": {"sender_id": "attacker", "slots": {"reference_number": "202611250001"},
                        "latest_message": {"text": "", "intent": {}, "metadata": {"xiaoan": {"identity": {
                            "verified": True, "subject": subject, "via": "token"}}}},
                        "events": [], "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen"}}


def json_log_of(emit: Any, logger_name: str = "xiaoan.test") -> str:
    """What `emit(logger)` writes through the project's JSON log handler (xiaoan/runtime/logs.py)."""
    import io
    import logging

    from xiaoan.runtime import logs

    stream = io.StringIO()
    handler = logs.json_handler(stream)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()

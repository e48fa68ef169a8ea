"""Conversations as the tracker store holds them, read-only: the transcript, the slots, review summaries, exports.

The console reads Rasa's SQL tracker store directly (the ``events`` table of
`rasa.core.tracker_store.SQLTrackerStore`: SQLite under `make run`, PostgreSQL
in scale-out), so a transcript is exactly what was stored: masked by the
ingress, nothing re-rendered. Writing goes through a Rasa server
(channels/staff.py), never here.

What staff read and export is masked once more on the way out
(`xiaoan.text.masking.mask_text`, the ingress's own function): rows written
before the masking learnt a way of writing a secret (issue 19), or by a Rasa
started without the runtime, show no card number, PIN or code either.
Masking keeps the text's length, so entity offsets still hold.
"""
from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, and_, create_engine, func, select
from sqlalchemy.engine import URL, Engine

from xiaoan import clock
from xiaoan.names import BUSY_RESPONSE, RESPONSE_KEY
from xiaoan.text.masking import mask_text

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = (
    "transfer_failed", "terminal_fault", "network_issue", "account_problem", "input_error", "system_delay",
    "charged_but_failed", "payee_not_received", "recipient_bank_issue", "funds_returned", "error_code",
)
FALLBACK = "nlu_fallback"
LOW_CONFIDENCE = 0.5
SKIPPED_ACTIONS = {"action_listen", "action_session_start", "action_extract_slots", "action_validate_slot_mappings"}
MAX_CONVERSATIONS = 2000

_metadata = MetaData()
events = Table(
    "events", _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def tracker_store_url(endpoints: Optional[Path] = None) -> str:
    """The SQLAlchemy URL of the tracker store named in the endpoints file (XIAOAN_ENDPOINTS, else endpoints.yml)."""
    path = endpoints or Path(os.environ.get("XIAOAN_ENDPOINTS") or ROOT / "endpoints.yml")
    config = yaml.safe_load(os.path.expandvars(path.read_text(encoding="utf-8"))) or {}
    store = config.get("tracker_store") or {}
    dialect = store.get("dialect") or "sqlite"
    if dialect == "sqlite":
        db = Path(store.get("db") or "rasa.db")
        return f"sqlite:///{db if db.is_absolute() else ROOT / db}"
    driver = "postgresql+psycopg2" if dialect == "postgresql" else dialect
    return str(URL.create(driver, username=store.get("username"), password=store.get("password"),
                          host=store.get("url") or "localhost", port=store.get("port"),
                          database=store.get("db") or "rasa").render_as_string(hide_password=False))


@dataclass
class Message:
    sender: str  # user | bot | staff
    text: str
    time: float
    intent: Optional[str] = None
    confidence: Optional[float] = None
    staff_id: Optional[str] = None

    def as_json(self) -> Dict[str, Any]:
        item: Dict[str, Any] = {"from": self.sender, "text": self.text, "time": self.time,
                                "clock": clock.for_people_seconds(self.time)}
        if self.sender == "user":
            item.update(intent=self.intent, confidence=self.confidence)
        if self.staff_id:
            item["staff_id"] = self.staff_id
        return item


@dataclass
class Conversation:
    conversation_id: str
    rows: List[Dict[str, Any]]
    messages: List[Message] = field(default_factory=list)
    slots: Dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    channel: Optional[str] = None
    # who wrote the latest user message, as the ingress verified it (xiaoan.identity): verified, subject, via, problem
    identity: Dict[str, Any] = field(default_factory=lambda: {"verified": False})

    @classmethod
    def from_rows(cls, conversation_id: str, rows: List[Dict[str, Any]]) -> "Conversation":
        conversation = cls(conversation_id, rows)
        for row in rows:
            event = row["event"]
            kind = event.get("event")
            if kind == "user":
                intent = event.get("parse_data", {}).get("intent") or {}
                conversation.channel = event.get("input_channel") or conversation.channel
                found = ((event.get("metadata") or {}).get("xiaoan") or {}).get("identity")
                if isinstance(found, dict):
                    conversation.identity = {k: found[k] for k in ("verified", "subject", "via", "problem") if k in found}
                conversation.messages.append(Message("user", mask_text(event.get("text") or ""), event.get("timestamp") or 0.0,
                                                     intent.get("name"), intent.get("confidence")))
            elif kind == "bot":
                meta = event.get("metadata") or {}
                sender = "staff" if meta.get("from") == "staff" else "bot"
                conversation.messages.append(Message(sender, mask_text(event.get("text") or ""), event.get("timestamp") or 0.0,
                                                     staff_id=meta.get("staff_id") if sender == "staff" else None))
            elif kind == "slot":
                conversation.slots[event.get("name")] = event.get("value")
            elif kind in ("restart", "reset_slots"):
                conversation.slots = {}
            elif kind == "pause":
                conversation.paused = True
            elif kind == "resume":
                conversation.paused = False
        return conversation

    @property
    def started(self) -> float:
        return self.rows[0]["event"].get("timestamp") or 0.0 if self.rows else 0.0

    def user_messages(self) -> List[Message]:
        return [m for m in self.messages if m.sender == "user"]

    def intents(self) -> List[str]:
        return [m.intent for m in self.user_messages() if m.intent]

    def scenario(self) -> Optional[str]:
        return next((i for i in self.intents() if i in SCENARIOS), None)

    def flags(self) -> Dict[str, bool]:
        users = self.user_messages()
        busy = any((r["event"].get("metadata") or {}).get(RESPONSE_KEY) == BUSY_RESPONSE
                   for r in self.rows if r["event"].get("event") == "bot")
        return {
            "fallback": any(m.intent == FALLBACK for m in users),
            "low_confidence": any(m.confidence is not None and m.confidence < LOW_CONFIDENCE for m in users),
            "fraud_report": any(m.intent == "fraud_report" for m in users),
            "failed_check": busy,
        }

    def story(self, name: str, labels: Dict[float, str]) -> Dict[str, Any]:
        """The conversation as a test story (tests/test_stories.yml's form); stretches a person held are left out."""
        steps: List[Dict[str, Any]] = []
        paused = False
        for row in self.rows:
            event = row["event"]
            kind = event.get("event")
            if kind == "pause":
                paused = True
            elif kind == "resume":
                paused = False
            elif paused:
                continue
            elif kind == "user":
                intent = labels.get(event.get("timestamp")) or (event.get("parse_data", {}).get("intent") or {}).get("name")
                steps.append({"user": annotated(event) + "\n", "intent": intent})
            elif kind == "action" and event.get("name") not in SKIPPED_ACTIONS:
                steps.append({"action": event.get("name")})
            elif kind == "slot" and steps:
                steps.append({"slot_was_set": [{event.get("name"): event.get("value")}]})
            elif kind == "active_loop":
                steps.append({"active_loop": event.get("name")})
        return {"story": name, "steps": steps}


def annotated(event: Dict[str, Any]) -> str:
    """The user's text with its entities marked as test stories write them: 终端号[10000002](terminal_id).
    Only where the stored text holds the entity's value at its offsets (the text is stored as typed); masked."""
    text = mask_text(event.get("text") or "")
    spans = []
    for entity in (event.get("parse_data") or {}).get("entities") or []:
        start, end, value = entity.get("start"), entity.get("end"), entity.get("value")
        if isinstance(start, int) and isinstance(end, int) and text[start:end] == str(value):
            if all(end <= s or start >= e for s, e, _ in spans):
                spans.append((start, end, entity.get("entity")))
    for start, end, name in sorted(spans, reverse=True):
        text = f"{text[:start]}[{text[start:end]}]({name}){text[end:]}"
    return text


class _Literal(str):
    pass


def _literal(dumper: yaml.Dumper, value: _Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.add_representer(_Literal, _literal, Dumper=yaml.SafeDumper)


def stories_yaml(stories: Sequence[Dict[str, Any]]) -> str:
    for story in stories:
        for step in story["steps"]:
            if "user" in step:
                step["user"] = _Literal(step["user"])
    return yaml.safe_dump({"version": "3.1", "stories": list(stories)}, allow_unicode=True, sort_keys=False,
                          width=1000)


def nlu_yaml(marked: Iterable[Dict[str, Any]]) -> str:
    """Marked messages as NLU training data (data/nlu/'s form), one block per intent."""
    by_intent: Dict[str, List[str]] = {}
    for label in marked:
        text = " ".join(mask_text(str(label["text"])).split())
        if text and text not in by_intent.setdefault(label["intent"], []):
            by_intent[label["intent"]].append(text)
    blocks = [{"intent": intent, "examples": _Literal("".join(f"- {t}\n" for t in texts))}
              for intent, texts in sorted(by_intent.items())]
    return yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False, width=1000)


class Transcripts:
    """Reads the tracker store's events table."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Optional[Engine] = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url, future=True, pool_pre_ping=True)
        return self._engine

    def _rows(self, conversation_ids: Sequence[str]) -> Dict[str, List[Dict[str, Any]]]:
        found: Dict[str, List[Dict[str, Any]]] = {}
        if not conversation_ids:
            return found
        with self.engine.connect() as conn:
            for chunk in range(0, len(conversation_ids), 200):
                part = list(conversation_ids[chunk:chunk + 200])
                for row in conn.execute(select(events.c.sender_id, events.c.data)
                                        .where(events.c.sender_id.in_(part)).order_by(events.c.id)):
                    try:
                        event = json.loads(row.data or "{}")
                    except ValueError:
                        continue
                    found.setdefault(row.sender_id, []).append({"event": event})
        return found

    def conversation(self, conversation_id: str) -> Optional[Conversation]:
        rows = self._rows([conversation_id]).get(conversation_id)
        return Conversation.from_rows(conversation_id, rows) if rows else None

    def conversations_between(self, start: float, end: float) -> List[Conversation]:
        """Conversations with a user message in [start, end), newest first."""
        with self.engine.connect() as conn:
            ids = [r.sender_id for r in conn.execute(
                select(events.c.sender_id, func.max(events.c.timestamp).label("last"))
                .where(and_(events.c.type_name == "user", events.c.timestamp >= start, events.c.timestamp < end))
                .group_by(events.c.sender_id).order_by(func.max(events.c.timestamp).desc()).limit(MAX_CONVERSATIONS))]
        rows = self._rows(ids)
        return [Conversation.from_rows(cid, rows[cid]) for cid in ids if cid in rows]


def dashboard(conversations: List[Conversation], handovers: List[Any], start: float, end: float) -> Dict[str, Any]:
    """The supervisor's figures for a date range, from the stores."""
    handed = {h.conversation_id for h in handovers}
    per_day: Counter = Counter(clock.day_of(c.started) for c in conversations)
    days = []
    day = clock.to_china(start).date()
    while clock.start_of(day).timestamp() < end and len(days) < 370:
        key = day.isoformat()
        days.append({"day": key, "conversations": per_day.get(key, 0)})
        day += timedelta(days=1)
    users = [m for c in conversations for m in c.user_messages()]
    fallbacks = sum(1 for m in users if m.intent == FALLBACK)
    scenarios = Counter(s for s in (c.scenario() for c in conversations) if s)
    waits = [h.claimed_at - h.queued_at for h in handovers if h.claimed_at]
    total = len(conversations)
    with_person = sum(1 for c in conversations if c.conversation_id in handed)
    return {
        "conversations": total,
        "per_day": days,
        "resolved_without_person": round((total - with_person) / total, 3) if total else None,
        "handover_rate": round(with_person / total, 3) if total else None,
        "handover_reasons": dict(Counter(h.reason for h in handovers)),
        "fallback_rate": round(fallbacks / len(users), 3) if users else None,
        "top_scenarios": [{"scenario": s, "count": n} for s, n in scenarios.most_common(8)],
        "median_wait_s": round(statistics.median(waits), 1) if waits else None,
        "handovers": len(handovers),
    }

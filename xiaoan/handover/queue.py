"""The queue of conversations waiting for a person: one ``ho_handovers`` row per hand-over,
waiting → claimed → handed_back | closed. A claim is one conditional UPDATE: one agent wins.

``told`` is what the user last heard about the wait: ``nobody_on_duty`` (said when queued, the bot kept
helping), ``quiet`` (a fraud report queued without a word), or the waiting rule's ``waited_long`` and
``hours_over`` (xiaoan/handover/waiting.py). Telling is a conditional UPDATE too: however many consoles
run the rule, the user hears each notice once."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, func, insert, or_, select, update

from xiaoan import clock
from xiaoan.handover.tables import HandoverTables, handovers
from xiaoan.names import FRAUD_REPORT, HANDOVER_REASONS

ACTIVE = ("waiting", "claimed")
# what may be told after what: the waiting rule speaks only where the user was told to wait for a person
TELL_AFTER = {"waited_long": (None,), "hours_over": (None, "waited_long")}


@dataclass(frozen=True)
class Handover:
    id: int
    conversation_id: str
    channel: Optional[str]
    reason: str
    ticket_id: Optional[str]
    scenario: Optional[str]
    status: str
    queued_at: float
    claimed_by: Optional[int]
    claimed_at: Optional[float]
    ended_at: Optional[float]
    note: Optional[str]
    told: Optional[str] = None
    told_at: Optional[float] = None

    def as_json(self) -> Dict[str, Any]:
        return dict(self.__dict__)


URGENT_REASONS = (FRAUD_REPORT,)  # a scam report may be money leaving right now: it goes first


def staff_order(entries: Sequence[Handover]) -> List[Handover]:
    """The order staff take conversations in: scam reports first, then by how long each has waited."""
    return sorted(entries, key=lambda e: (e.reason not in URGENT_REASONS, e.queued_at, e.id))


class HandoverQueue(HandoverTables):
    """``ho_handovers``."""

    def enqueue(self, conversation_id: str, channel: Optional[str], reason: str, ticket_id: Optional[str],
                scenario: Optional[str], now: Optional[float] = None,
                told: Optional[str] = None) -> Tuple[Handover, int]:
        """(the conversation's active hand-over, how many wait before it). Queued once: asking again
        keeps its place (and fills in a ticket it lacked); `told` is written for a new entry only."""
        if reason not in HANDOVER_REASONS:
            raise ValueError(f"reason must be one of {HANDOVER_REASONS}")
        now = time.time() if now is None else now
        existing = self.active(conversation_id)
        if existing is None:
            with self.engine.begin() as conn:
                conn.execute(insert(handovers).values(
                    conversation_id=conversation_id, channel=channel, reason=reason, ticket_id=ticket_id,
                    scenario=scenario, status="waiting", queued_at=now, told=told, told_at=now if told else None))
        elif ticket_id and not existing.ticket_id:
            with self.engine.begin() as conn:
                conn.execute(update(handovers).where(handovers.c.id == existing.id).values(ticket_id=ticket_id))
        current = self.active(conversation_id)
        assert current is not None
        return current, self.ahead_of(current)

    def ahead_of(self, handover: Handover) -> int:
        """How many conversations wait before this one (queued earlier, not yet claimed)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(handovers).where(and_(
                handovers.c.status == "waiting", handovers.c.queued_at < handover.queued_at))).scalar_one())

    def set_told(self, handover_id: int, told: Optional[str], now: Optional[float] = None) -> None:
        """What the hand-over action just told the user, and when: None when it paused the conversation for a
        person (the waiting rule then counts the wait from now: asking again after a notice starts a new
        wait), ``nobody_on_duty`` when the bot kept helping."""
        with self.engine.begin() as conn:
            conn.execute(update(handovers).where(handovers.c.id == handover_id).values(
                told=told, told_at=clock.timestamp() if now is None else now))

    def tell(self, handover_id: int, kind: str, now: Optional[float] = None) -> bool:
        """Win the right to tell the user `kind` (waited_long | hours_over): True for exactly one caller, and
        only while the conversation still waits unclaimed and has not heard it (TELL_AFTER)."""
        before = TELL_AFTER[kind]
        allowed = [handovers.c.told.is_(None)] + [handovers.c.told == t for t in before if t is not None]
        with self.engine.begin() as conn:
            return conn.execute(update(handovers).where(and_(
                handovers.c.id == handover_id, handovers.c.status == "waiting", or_(*allowed)))
                .values(told=kind, told_at=clock.timestamp() if now is None else now)).rowcount == 1

    def attach_ticket(self, conversation_id: str, ticket_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(handovers).where(and_(handovers.c.conversation_id == conversation_id,
                                                      handovers.c.status.in_(ACTIVE),
                                                      handovers.c.ticket_id.is_(None))).values(ticket_id=ticket_id))

    @staticmethod
    def _handover(row: Any) -> Handover:
        return Handover(**{c.name: row[c.name] for c in handovers.columns})

    def active(self, conversation_id: str) -> Optional[Handover]:
        with self.engine.connect() as conn:
            row = conn.execute(select(handovers).where(and_(
                handovers.c.conversation_id == conversation_id, handovers.c.status.in_(ACTIVE)))
                .order_by(handovers.c.id.desc())).mappings().first()
        return self._handover(row) if row else None

    def latest(self, conversation_id: str) -> Optional[Handover]:
        with self.engine.connect() as conn:
            row = conn.execute(select(handovers).where(handovers.c.conversation_id == conversation_id)
                               .order_by(handovers.c.id.desc())).mappings().first()
        return self._handover(row) if row else None

    def waiting(self) -> List[Handover]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(handovers).where(handovers.c.status == "waiting")
                                .order_by(handovers.c.queued_at, handovers.c.id)).mappings().all()
        return [self._handover(r) for r in rows]

    def held_by(self, staff_id: int) -> List[Handover]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(handovers).where(and_(handovers.c.status == "claimed",
                                                             handovers.c.claimed_by == staff_id))
                                .order_by(handovers.c.claimed_at)).mappings().all()
        return [self._handover(r) for r in rows]

    def claim(self, conversation_id: str, staff_id: int, now: Optional[float] = None) -> Tuple[str, Optional[Handover]]:
        """("claimed" | "already_yours" | "taken" | "not_queued", the hand-over)."""
        now = time.time() if now is None else now
        current = self.active(conversation_id)
        if current is None:
            return "not_queued", None
        with self.engine.begin() as conn:
            won = conn.execute(update(handovers).where(and_(handovers.c.id == current.id,
                                                            handovers.c.status == "waiting"))
                               .values(status="claimed", claimed_by=staff_id, claimed_at=now)).rowcount
        after = self.active(conversation_id)
        if won == 1:
            return "claimed", after
        if after is not None and after.claimed_by == staff_id:
            return "already_yours", after
        return "taken", after

    def finish(self, handover_id: int, staff_id: int, status: str, note: Optional[str] = None,
               now: Optional[float] = None) -> bool:
        """Hand back or close a claimed hand-over held by `staff_id`; False if it is not theirs (any more)."""
        assert status in ("handed_back", "closed")
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            return conn.execute(update(handovers).where(and_(
                handovers.c.id == handover_id, handovers.c.status == "claimed", handovers.c.claimed_by == staff_id))
                .values(status=status, ended_at=now, note=note)).rowcount == 1

    def handovers_between(self, start: float, end: float) -> List[Handover]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(handovers).where(and_(handovers.c.queued_at >= start,
                                                             handovers.c.queued_at < end))).mappings().all()
        return [self._handover(r) for r in rows]

    def handovers_of(self, conversation_ids: Sequence[str]) -> Dict[str, List[Handover]]:
        found: Dict[str, List[Handover]] = {}
        if not conversation_ids:
            return found
        with self.engine.connect() as conn:
            rows = conn.execute(select(handovers).where(handovers.c.conversation_id.in_(list(conversation_ids)))
                                .order_by(handovers.c.id)).mappings().all()
        for row in rows:
            found.setdefault(row["conversation_id"], []).append(self._handover(row))
        return found

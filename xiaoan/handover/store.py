"""The hand-over tables, in SQL beside the back office (SQLite by default, PostgreSQL in scale-out).

* ``ho_staff``: accounts (user name, 工号, role, scrypt hash), with the failed sign-ins
  that lock an account (``ho_login_failures``, also for names that do not exist);
* ``ho_sessions``: console sessions (only a hash of the cookie is stored), with their
  CSRF token, an absolute and an idle expiry;
* ``ho_handovers``: one row per hand-over: conversation, channel, reason, ticket,
  scenario, waiting → claimed → handed_back | closed, who, when, the closing note;
* ``ho_messages``: what staff (or the console's notices) said to a user and what
  became of it: sending → delivered | pending (the user's next message or
  reconnection takes it) | window_closed (WeChat's 48 hours) | not_delivered;
* ``ho_labels``: review marks, a user message's right intent.

Every state change is one conditional UPDATE, so two agents, two consoles or
two Rasa servers never both win: a claim succeeds for one of them only.
Times are UNIX seconds (UTC).
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)

from xiaoan.handover import passwords
from xiaoan.sql_store import LazySQLStore

ROLES = ("agent", "supervisor")
REASONS = ("request_human", "fraud_report", "not_understood", "check_failed")
ACTIVE = ("waiting", "claimed")
FIRST_STAFF_NUMBER = 1001

SESSION_ABSOLUTE_S = 8 * 3600
SESSION_IDLE_S = 30 * 60
ON_DUTY_SEEN_S = 10 * 60  # a signed-in console seen this recently counts as someone on duty
LOCK_AFTER_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCK_S = 15 * 60

metadata = MetaData()
staff = Table(
    "ho_staff", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), unique=True, nullable=False),
    Column("staff_no", String(16), unique=True, nullable=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)
login_failures = Table(
    "ho_login_failures", metadata,
    Column("username", String(64), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("first_at", Float, nullable=False),
    Column("locked_until", Float, nullable=False, default=0.0),
)
sessions = Table(
    "ho_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", Integer, nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("ended", Boolean, nullable=False, default=False),
)
handovers = Table(
    "ho_handovers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("channel", String(32), nullable=True),
    Column("reason", String(32), nullable=False),
    Column("ticket_id", String(32), nullable=True),
    Column("scenario", String(64), nullable=True),
    Column("status", String(16), nullable=False, index=True),
    Column("queued_at", Float, nullable=False),
    Column("claimed_by", Integer, nullable=True),
    Column("claimed_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("note", Text, nullable=True),
)
messages = Table(
    "ho_messages", metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("handover_id", Integer, nullable=True),
    Column("staff_no", String(16), nullable=True),
    Column("kind", String(16), nullable=False),  # staff | joined | handed_back | closed
    Column("text", Text, nullable=False),
    Column("channel", String(32), nullable=True),
    Column("status", String(20), nullable=False, index=True),
    Column("detail", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
)
labels = Table(
    "ho_labels", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("event_time", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("intent", String(64), nullable=False),
    Column("staff_id", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    staff_no: str
    role: str


@dataclass(frozen=True)
class Session:
    staff: Staff
    csrf: str
    token_hash: str


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

    def as_json(self) -> Dict[str, Any]:
        return dict(self.__dict__)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class HandoverStore(LazySQLStore):
    """The hand-over tables; the engine and tables are made on first use, never at import."""

    tables = metadata

    # ------------------------------------------------------------------ staff accounts

    def create_staff(self, username: str, role: str, password: str) -> Staff:
        """A new account (or a new password and role for an existing name); its 工号 is kept."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        username = username.strip()
        if not username or len(username) > 64:
            raise ValueError("a user name of 1-64 characters")
        weak = passwords.weak_reason(password)
        if weak:
            raise ValueError(f"password too weak: {weak}")
        hashed = passwords.hash_password(password)
        with self.engine.begin() as conn:
            row = conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
            if row is None:
                row_id = conn.execute(insert(staff).values(
                    username=username, role=role, password_hash=hashed, created_at=time.time(), active=True,
                )).inserted_primary_key[0]
                conn.execute(update(staff).where(staff.c.id == row_id)
                             .values(staff_no=str(FIRST_STAFF_NUMBER + row_id - 1)))
            else:
                row_id = row["id"]
                conn.execute(update(staff).where(staff.c.id == row_id)
                             .values(role=role, password_hash=hashed, active=True))
                conn.execute(update(sessions).where(sessions.c.staff_id == row_id).values(ended=True))
            conn.execute(login_failures.delete().where(login_failures.c.username == username))
        found = self.staff_by_id(row_id)
        assert found is not None
        return found

    def staff_by_id(self, staff_id: int) -> Optional[Staff]:
        with self.engine.connect() as conn:
            row = conn.execute(select(staff).where(staff.c.id == staff_id)).mappings().first()
        return Staff(row["id"], row["username"], row["staff_no"], row["role"]) if row else None

    def staff_numbers(self) -> Dict[int, str]:
        with self.engine.connect() as conn:
            return {r.id: r.staff_no for r in conn.execute(select(staff.c.id, staff.c.staff_no))}

    def sign_in(self, username: str, password: str, now: Optional[float] = None) -> Tuple[str, Optional[Staff]]:
        """("ok", staff) | ("wrong", None) | ("locked", None). Locked accounts are refused even with
        the right password; unknown names count failures too, so they cannot be told apart."""
        now = time.time() if now is None else now
        username = (username or "").strip()[:64]
        with self.engine.connect() as conn:
            failure = conn.execute(select(login_failures).where(login_failures.c.username == username)).mappings().first()
            row = conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
        if failure is not None and failure["locked_until"] > now:
            return "locked", None
        stored = row["password_hash"] if row is not None and row["active"] else passwords.DUMMY_HASH
        if row is not None and row["active"] and passwords.verify_password(password or "", stored):
            with self.engine.begin() as conn:
                conn.execute(login_failures.delete().where(login_failures.c.username == username))
            return "ok", Staff(row["id"], row["username"], row["staff_no"], row["role"])
        if row is None or not row["active"]:
            passwords.verify_password(password or "", stored)
        return ("locked" if self._count_failure(username, now) else "wrong"), None

    def _count_failure(self, username: str, now: float) -> bool:
        """Counts a failed sign-in; True if it locked the account."""
        with self.engine.begin() as conn:
            row = conn.execute(select(login_failures).where(login_failures.c.username == username)).mappings().first()
            if row is None or now - row["first_at"] > FAILURE_WINDOW_S:
                conn.execute(login_failures.delete().where(login_failures.c.username == username))
                conn.execute(insert(login_failures).values(username=username, failures=1, first_at=now, locked_until=0.0))
                return False
            failures = row["failures"] + 1
            locked_until = now + LOCK_S if failures >= LOCK_AFTER_FAILURES else 0.0
            conn.execute(update(login_failures).where(login_failures.c.username == username)
                         .values(failures=failures, locked_until=locked_until))
            return bool(locked_until)

    def open_session(self, member: Staff, now: Optional[float] = None) -> Tuple[str, str]:
        """(cookie token, CSRF token). Only the token's hash is stored."""
        now = time.time() if now is None else now
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(sessions).values(token_hash=_token_hash(token), staff_id=member.id, csrf=csrf,
                                                 created_at=now, last_seen=now, ended=False))
        return token, csrf

    def session(self, token: Optional[str], now: Optional[float] = None) -> Optional[Session]:
        """The live session of a cookie token (its idle clock restarted), or None."""
        if not token:
            return None
        now = time.time() if now is None else now
        hashed = _token_hash(token)
        with self.engine.begin() as conn:
            row = conn.execute(select(sessions).where(sessions.c.token_hash == hashed)).mappings().first()
            if row is None or row["ended"] or now - row["created_at"] > SESSION_ABSOLUTE_S \
                    or now - row["last_seen"] > SESSION_IDLE_S:
                return None
            member = conn.execute(select(staff).where(staff.c.id == row["staff_id"])).mappings().first()
            if member is None or not member["active"]:
                return None
            conn.execute(update(sessions).where(sessions.c.token_hash == hashed).values(last_seen=now))
        return Session(Staff(member["id"], member["username"], member["staff_no"], member["role"]), row["csrf"], hashed)

    def end_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(ended=True))

    def someone_signed_in(self, now: Optional[float] = None) -> bool:
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(sessions).where(and_(
                sessions.c.ended.is_(False), sessions.c.last_seen > now - min(ON_DUTY_SEEN_S, SESSION_IDLE_S),
                sessions.c.created_at > now - SESSION_ABSOLUTE_S))).scalar_one()
        return count > 0

    # ------------------------------------------------------------------ the queue

    def enqueue(self, conversation_id: str, channel: Optional[str], reason: str, ticket_id: Optional[str],
                scenario: Optional[str], now: Optional[float] = None) -> Tuple[Handover, int]:
        """(the conversation's active hand-over, how many wait before it). Queued once: asking again
        keeps its place (and fills in a ticket it lacked)."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}")
        now = time.time() if now is None else now
        existing = self.active(conversation_id)
        if existing is None:
            with self.engine.begin() as conn:
                conn.execute(insert(handovers).values(
                    conversation_id=conversation_id, channel=channel, reason=reason, ticket_id=ticket_id,
                    scenario=scenario, status="waiting", queued_at=now))
        elif ticket_id and not existing.ticket_id:
            with self.engine.begin() as conn:
                conn.execute(update(handovers).where(handovers.c.id == existing.id).values(ticket_id=ticket_id))
        current = self.active(conversation_id)
        assert current is not None
        with self.engine.connect() as conn:
            ahead = conn.execute(select(func.count()).select_from(handovers).where(and_(
                handovers.c.status == "waiting", handovers.c.queued_at < current.queued_at))).scalar_one()
        return current, int(ahead)

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

    # ------------------------------------------------------------------ staff messages

    def add_message(self, conversation_id: str, handover_id: Optional[int], staff_no: Optional[str], kind: str,
                    text: str, channel: Optional[str], now: Optional[float] = None) -> str:
        message_id = f"staff-{secrets.token_hex(8)}"
        with self.engine.begin() as conn:
            conn.execute(insert(messages).values(
                id=message_id, conversation_id=conversation_id, handover_id=handover_id, staff_no=staff_no,
                kind=kind, text=text, channel=channel, status="sending", created_at=time.time() if now is None else now))
        return message_id

    def message(self, message_id: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).mappings().first()
        return dict(row) if row else None

    def set_status(self, message_id: str, status: str, detail: Optional[str] = None) -> None:
        values: Dict[str, Any] = {"status": status, "detail": detail}
        if status == "delivered":
            values["delivered_at"] = time.time()
        with self.engine.begin() as conn:
            conn.execute(update(messages).where(and_(messages.c.id == message_id,
                                                     messages.c.status != "delivered")).values(**values))

    def messages_of(self, conversation_id: str) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(messages.c.conversation_id == conversation_id)
                                .order_by(messages.c.created_at)).mappings().all()
        return [dict(r) for r in rows]

    def undelivered(self, older_than: float = 0.0, statuses: Sequence[str] = ("not_delivered",),
                    since: float = 0.0) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(and_(
                messages.c.status.in_(list(statuses)), messages.c.created_at <= time.time() - older_than,
                messages.c.created_at >= since)).order_by(messages.c.created_at)).mappings().all()
        return [dict(r) for r in rows]

    def take_pending(self, conversation_id: str) -> List[Dict[str, Any]]:
        """The messages waiting for this user, each taken by exactly one caller (marked delivered)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(and_(messages.c.conversation_id == conversation_id,
                                                            messages.c.status == "pending"))
                                .order_by(messages.c.created_at)).mappings().all()
        taken = []
        for row in rows:
            with self.engine.begin() as conn:
                won = conn.execute(update(messages).where(and_(messages.c.id == row["id"],
                                                               messages.c.status == "pending"))
                                   .values(status="delivered", delivered_at=time.time(), detail="next_reply")).rowcount
            if won == 1:
                taken.append(dict(row))
        return taken

    # ------------------------------------------------------------------ review marks

    def add_label(self, conversation_id: str, event_time: float, text: str, intent: str, staff_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(labels.delete().where(and_(labels.c.conversation_id == conversation_id,
                                                    labels.c.event_time == event_time)))
            conn.execute(insert(labels).values(conversation_id=conversation_id, event_time=event_time, text=text,
                                               intent=intent, staff_id=staff_id, created_at=time.time()))

    def labels(self, conversation_id: Optional[str] = None) -> List[Dict[str, Any]]:
        query = select(labels).order_by(labels.c.intent, labels.c.id)
        if conversation_id is not None:
            query = query.where(labels.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]


__all__ = ["HandoverStore", "Handover", "Staff", "Session", "ROLES", "REASONS", "or_"]

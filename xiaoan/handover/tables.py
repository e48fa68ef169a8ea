"""The hand-over tables, in SQL beside the back office (SQLite by default, PostgreSQL in scale-out).

* ``ho_staff``: accounts (user name, 工号, role, scrypt hash), with the sign-in attempts
  that lock an account (``ho_login_failures``, also for names that do not exist) and those
  that throttle an address (``ho_login_addresses``: many names tried from one place);
* ``ho_sessions``: console sessions (only a hash of the cookie is stored), with their
  CSRF token, an absolute and an idle expiry;
* ``ho_handovers``: one row per hand-over: conversation, channel, reason, ticket,
  scenario, waiting → claimed → handed_back | closed, who, when, the closing note, and what the
  user was last told about the wait (``told``: nobody_on_duty | quiet | waited_long | hours_over,
  the waiting rule of xiaoan/handover/waiting.py, and ``told_at``);
* ``ho_messages``: what staff (or the console's notices) said to a user and what
  became of it: sending → delivered | pending (the user's next message or
  reconnection takes it) | window_closed (WeChat's 48 hours; the user's next message takes it) |
  not_delivered; looked up on every user message by (conversation, status), one indexed query;
* ``ho_presence``: the chat page's sockets with a session, on any Rasa server (socket.io rooms
  shared through Redis cannot be listed across servers), so a staff message for a closed page
  waits for its reconnect instead of being emitted to nobody;
* ``ho_labels``: review marks, a user message's right intent.

The tables are one schema on one engine (`HandoverTables`); what each room does
with them is its own module: staff.py, sessions.py, queue.py, messages.py,
labels.py. Every state change is one conditional UPDATE, so two agents, two
consoles or two Rasa servers never both win: a claim succeeds for one of them
only. Times are UNIX seconds (UTC).
"""
from __future__ import annotations

import logging

from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text, inspect
from sqlalchemy.engine import Engine

from xiaoan.sql_store import LazySQLStore

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
login_addresses = Table(
    "ho_login_addresses", metadata,
    Column("address", String(64), primary_key=True),
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
    Column("told", String(20), nullable=True),
    Column("told_at", Float, nullable=True),
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
    Index("ix_ho_messages_waiting", "conversation_id", "status"),
)
presence = Table(
    "ho_presence", metadata,
    Column("sid", String(64), primary_key=True),
    Column("session_id", String(255), nullable=False, index=True),
    Column("since", Float, nullable=False),
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


logger = logging.getLogger(__name__)
ADDED_COLUMNS = {"ho_handovers": (("told", "VARCHAR(20)"), ("told_at", "FLOAT"))}


class HandoverTables(LazySQLStore):
    """The hand-over tables on one engine, made on first use, never at import; each room adds its methods."""

    tables = metadata

    def prepare(self, engine: Engine) -> None:
        """A store made before a column or an index existed gets it (create_all only makes missing tables)."""
        for table, columns in ADDED_COLUMNS.items():
            for name, kind in columns:
                if name in {c["name"] for c in inspect(engine).get_columns(table)}:
                    continue
                try:
                    with engine.begin() as conn:
                        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                except Exception:  # noqa: BLE001 - another process added it at the same moment
                    if name not in {c["name"] for c in inspect(engine).get_columns(table)}:
                        raise
        for index in messages.indexes:
            try:
                index.create(engine, checkfirst=True)
            except Exception:  # noqa: BLE001 - made by another process at the same moment
                logger.debug("index %s exists", index.name)

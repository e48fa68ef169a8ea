"""A simulated core-banking, terminal-management and ledger system in SQL.

SQLite by default, any SQLAlchemy URL through `XIAOAN_BACKOFFICE_URL`
(PostgreSQL in the scale-out set-up). The engine and the tables are made on
first use, never at import, and seeded once from `fixtures.yml`. The ticket table is
defined in xiaoan/ticket_table.py, where the staff console reads it too; this store is the one
that creates, migrates and writes it.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import yaml
from sqlalchemy import (
    Boolean,
    inspect,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from actions.backoffice.records import Card, CaseDetails, Terminal, Ticket, Transaction, record_time
from xiaoan import clock, ticket_table
from xiaoan.sql_store import LazySQLStore

FIXTURES = Path(__file__).with_name("fixtures.yml")

metadata = MetaData()
cards = Table(
    "bo_cards", metadata,
    Column("card_tail", String(4), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("balance", String(24), nullable=False),
    Column("daily_limit", String(24), nullable=False),
    Column("bank", String(64), nullable=False),
    Column("note", String(128), default=""),
    Column("owner", String(16), nullable=True),
)
terminals = Table(
    "bo_terminals", metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("online", Boolean, nullable=False),
    Column("signed_in", Boolean, nullable=False),
    Column("hardware", String(32), nullable=False),
    Column("merchant", String(64), nullable=False),
    Column("offline_minutes", Integer, default=0),
    Column("owner", String(16), nullable=True),
)
transactions = Table(
    "bo_transactions", metadata,
    Column("reference_number", String(12), primary_key=True),
    Column("state", String(40), nullable=False),
    Column("amount", String(24), nullable=False),
    Column("card_tail", String(4), nullable=False),
    Column("terminal_id", String(8), nullable=False),
    Column("time", String(20), nullable=False),
    Column("payee_bank", String(64), nullable=False),
    Column("owner", String(16), nullable=True),
)
tickets = ticket_table.tickets.to_metadata(metadata)  # one definition, made with the other tables


def load_fixtures(path: Path = FIXTURES) -> dict[str, list[dict[str, Any]]]:
    """The one fixtures file, used by the store and the tests alike."""
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


class SimulatedBackOffice(LazySQLStore):
    """The BackOffice interface over SQL tables seeded from fixtures (opened on first use)."""

    tables = metadata

    def prepare(self, engine: Engine) -> None:
        self._add_request_key(engine)
        self._add_owner(engine)
        self._seed(engine)

    @staticmethod
    def _add_request_key(engine: Engine) -> None:
        """A store written before keyed writes existed gets the column (and its unique index)."""
        if "request_key" in {c["name"] for c in inspect(engine).get_columns("bo_tickets")}:
            return
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE bo_tickets ADD COLUMN request_key VARCHAR(200)")
            conn.exec_driver_sql(
                "CREATE UNIQUE INDEX IF NOT EXISTS ix_bo_tickets_request_key ON bo_tickets (request_key)"
            )

    @staticmethod
    def _add_owner(engine: Engine) -> None:
        """A store written before records had owners gets the column; `_seed` fills it for the fixtures."""
        for table in (cards, terminals, transactions):
            if "owner" not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN owner VARCHAR(16)")

    @staticmethod
    def _seed(engine: Engine) -> None:
        data = load_fixtures()
        with engine.begin() as conn:
            for table, key, rows in (
                (cards, "card_tail", data["cards"]),
                (terminals, "terminal_id", data["terminals"]),
                (transactions, "reference_number", data["transactions"]),
            ):
                present = {r[0] for r in conn.execute(select(table.c[key]))}
                # every row with every column: an insert of many rows takes its columns from the first
                fresh = [{c.name: row.get(c.name, c.default.arg if c.default is not None else None)
                          for c in table.columns}
                         for row in rows if str(row[key]) not in present]
                if fresh:
                    conn.execute(insert(table), fresh)
                for row in rows:  # a fixture row stored before it had an owner
                    if row.get("owner"):
                        conn.execute(table.update().where(table.c[key] == str(row[key]), table.c.owner.is_(None))
                                     .values(owner=row["owner"]))
            for row in data["transactions"]:  # a demo time the fixtures changed (a fixed time became an age)
                conn.execute(transactions.update()
                             .where(transactions.c.reference_number == str(row["reference_number"]),
                                    transactions.c.time != str(row["time"]))
                             .values(time=str(row["time"])))

    def _one(self, table: Table, key: str, value: str) -> Optional[dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c[key] == value)).mappings().first()
        return dict(row) if row else None

    def find_card(self, card_tail: str) -> Optional[Card]:
        row = self._one(cards, "card_tail", card_tail)
        if row is None:
            return None
        return Card(
            card_tail=row["card_tail"], state=row["state"], balance=Decimal(row["balance"]),
            daily_limit=Decimal(row["daily_limit"]), bank=row["bank"], note=row["note"] or "", owner=row["owner"],
        )

    def find_terminal(self, terminal_id: str) -> Optional[Terminal]:
        row = self._one(terminals, "terminal_id", terminal_id)
        return Terminal(**row) if row else None

    def find_transaction(self, reference_number: str) -> Optional[Transaction]:
        row = self._one(transactions, "reference_number", reference_number)
        if row is None:
            return None
        return Transaction(**{**row, "amount": Decimal(row["amount"]), "time": record_time(row["time"])})

    def create_ticket(self, details: CaseDetails, request_key: str) -> Ticket:
        """Writes the ticket once per `request_key`; the same key again returns the first ticket.

        A retried message, or a write that timed out on the caller's side and
        finished here anyway, never makes a second ticket.
        """
        existing = self.find_ticket_by_key(request_key)
        if existing is not None:
            return existing
        created_at = clock.stored()
        payload = json.dumps(details.__dict__, ensure_ascii=False)
        try:
            with self.engine.begin() as conn:
                row_id = conn.execute(
                    insert(tickets).values(created_at=created_at, details=payload, request_key=request_key)
                ).inserted_primary_key[0]
                ticket_id = f"XA{clock.to_china(created_at):%Y%m%d}{row_id:06d}"
                conn.execute(tickets.update().where(tickets.c.id == row_id).values(ticket_id=ticket_id))
        except IntegrityError:  # the same key written at the same moment by another worker
            existing = self.find_ticket_by_key(request_key)
            if existing is None:
                raise
            return existing
        return Ticket(ticket_id=ticket_id, created_at=created_at, details=details)

    def find_ticket(self, ticket_id: str) -> Optional[Ticket]:
        return self._ticket("ticket_id", ticket_id)

    def find_ticket_by_key(self, request_key: str) -> Optional[Ticket]:
        return self._ticket("request_key", request_key)

    def _ticket(self, column: str, value: str) -> Optional[Ticket]:
        with self.engine.connect() as conn:
            found = ticket_table.ticket_row(conn, column, value)
        return Ticket(found["ticket_id"], found["created_at"], CaseDetails(**found["details"])) if found else None


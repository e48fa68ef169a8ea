"""The ticket table (``bo_tickets``): its one definition, and the read of one ticket.

One owner writes it: the back office (actions/backoffice/simulated.py) creates it beside its other
tables, migrates it and writes every ticket, once per request key. Two readers show tickets: the
back office (`find_ticket`, for the actions) and the staff console (a ticket's details beside the
conversation). So the table's definition and the read of a row live here, a layer below both:
the console reads without importing the action server (xiaoan/ and console/ never import
actions/; tests/test_import_contract.py) and without a second copy of the columns to drift apart.
`TicketReader` only reads: it creates no table and writes nothing. A real bank back office that
kept tickets in its own system would give the console its reader here, beside this one.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict, Optional

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Connection

from xiaoan.sql_store import LazyEngine

metadata = MetaData()
tickets = Table(
    "bo_tickets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(24), unique=True),
    Column("created_at", String(32), nullable=False),
    Column("details", Text, nullable=False),  # the case (CaseDetails' fields) as JSON
    # conversation + message id of the request that wrote it: a repeated write returns this row
    Column("request_key", String(200), unique=True, nullable=True),
)


def ticket_row(conn: Connection, column: str, value: str) -> Optional[Dict[str, Any]]:
    """The ticket whose `column` (``ticket_id`` or ``request_key``) is `value`: ticket_id, created_at and
    the case's fields as a dict (``details``); None if there is none, or its number is not written yet."""
    row = conn.execute(select(tickets).where(tickets.c[column] == value)).mappings().first()
    if row is None or not row["ticket_id"]:
        return None
    return {"ticket_id": row["ticket_id"], "created_at": row["created_at"], "details": json.loads(row["details"])}


class TicketReader(LazyEngine):
    """Reads tickets from the back office's database (opened on first use); never creates or writes."""

    def details(self, ticket_id: str) -> Optional[Dict[str, Any]]:
        """``created_at`` and the case's fields of ticket `ticket_id`, None if there is none."""
        with self.engine.connect() as conn:
            found = ticket_row(conn, "ticket_id", ticket_id)
        return {"created_at": found["created_at"], **found["details"]} if found else None


@lru_cache(maxsize=None)
def reader_for(url: str) -> TicketReader:
    return TicketReader(url)

"""The records a back office returns, whatever system stands behind it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Optional

from xiaoan import clock

# A demo record's time written as an age ("-40m", "-3h", "-2d"): the record is always that old, so a
# transaction the contract calls "still processing, inside the normal window" stays inside it on any day.
_AGE = re.compile(r"^-(\d{1,4})([mhd])$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days"}


def record_time(stored: str) -> str:
    """A record's time as the answers show it: a fixed time as stored, an age as now minus the age (China time)."""
    match = _AGE.match(stored or "")
    if not match:
        return stored
    moment = clock.now() - timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
    return clock.for_people(moment)


@dataclass(frozen=True)
class Card:
    card_tail: str
    state: str  # normal | frozen | insufficient | limit_reached | expired | reported_lost
    balance: Decimal
    daily_limit: Decimal
    bank: str
    note: str = ""
    owner: Optional[str] = None  # the customer id (C0001)


@dataclass(frozen=True)
class Terminal:
    terminal_id: str
    online: bool
    signed_in: bool
    hardware: str  # ok | printer_fault | card_reader_fault
    merchant: str
    offline_minutes: int = 0
    owner: Optional[str] = None  # the merchant id (M0001)


@dataclass(frozen=True)
class Transaction:
    reference_number: str
    # credited | reversed | processing | returned_name_mismatch | pending_bank_maintenance
    # | declined_no_debit | duplicate_debit
    state: str
    amount: Decimal
    card_tail: str
    terminal_id: str
    time: str
    payee_bank: str
    owner: Optional[str] = None  # the paying customer's id


@dataclass(frozen=True)
class CaseDetails:
    """What a ticket records. Never a full card number, PIN or code."""

    sender_id: str
    symptom: str = ""
    amount: Optional[str] = None
    card_tail: Optional[str] = None
    terminal_id: Optional[str] = None
    reference_number: Optional[str] = None
    bank: Optional[str] = None
    steps_done: list[str] = field(default_factory=list)
    handoff: bool = False
    verified_as: Optional[str] = None  # the customer or merchant id the conversation was verified as, if any


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    created_at: str
    details: CaseDetails

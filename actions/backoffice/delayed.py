"""A back office that answers late: the simulator's stand-in for a slow bank system.

`XIAOAN_BACKOFFICE_DELAY_S=10` makes every lookup and ticket wait that long
first, which is how the fault tests check that a 10-second check loses no
conversation and that WeChat's 5-second limit still holds.
"""
from __future__ import annotations

import time
from typing import Optional

from actions.backoffice.interface import BackOffice
from actions.backoffice.records import Card, CaseDetails, Terminal, Ticket, Transaction


class DelayedBackOffice:
    """Waits `delay` seconds, then asks the real back office."""

    def __init__(self, inner: BackOffice, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def _wait(self) -> None:
        time.sleep(self.delay)

    def find_card(self, card_tail: str) -> Optional[Card]:
        self._wait()
        return self.inner.find_card(card_tail)

    def find_terminal(self, terminal_id: str) -> Optional[Terminal]:
        self._wait()
        return self.inner.find_terminal(terminal_id)

    def find_transaction(self, reference_number: str) -> Optional[Transaction]:
        self._wait()
        return self.inner.find_transaction(reference_number)

    def create_ticket(self, details: CaseDetails, request_key: str) -> Ticket:
        self._wait()
        return self.inner.create_ticket(details, request_key)

    def find_ticket(self, ticket_id: str) -> Optional[Ticket]:
        self._wait()
        return self.inner.find_ticket(ticket_id)

    def find_ticket_by_key(self, request_key: str) -> Optional[Ticket]:
        self._wait()
        return self.inner.find_ticket_by_key(request_key)

"""The back office as the actions see it.

Actions talk to this interface only; `get_backoffice()` decides whether a
simulated store or a real bank adapter stands behind it (helpdesk-assistant's
`localmode` idea), so actions never know which.
"""
from __future__ import annotations

from typing import Optional, Protocol, runtime_checkable

from actions.backoffice.records import Card, CaseDetails, Terminal, Ticket, Transaction


@runtime_checkable  # isinstance() asks: does it answer every method below?
class BackOffice(Protocol):
    def find_card(self, card_tail: str) -> Optional[Card]: ...

    def find_terminal(self, terminal_id: str) -> Optional[Terminal]: ...

    def find_transaction(self, reference_number: str) -> Optional[Transaction]: ...

    def create_ticket(self, details: CaseDetails, request_key: str) -> Ticket:
        """Idempotent: the same `request_key` (conversation + message id) returns the same ticket."""

    def find_ticket(self, ticket_id: str) -> Optional[Ticket]: ...

    def find_ticket_by_key(self, request_key: str) -> Optional[Ticket]: ...

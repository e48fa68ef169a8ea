"""The ticket table read from below the action server: the console shows what the back office wrote."""
from __future__ import annotations

from sqlalchemy import inspect

from actions.backoffice.records import CaseDetails
from actions.backoffice.simulated import SimulatedBackOffice
from console.server import _ticket_details
from xiaoan import clock
from xiaoan.names import BACKOFFICE_URL_ENV
from xiaoan.ticket_table import TicketReader


def test_the_console_reads_the_ticket_the_back_office_wrote(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bo.db'}"
    office = SimulatedBackOffice(url)
    case = CaseDetails(sender_id="u1", symptom="网络/通讯故障", amount="3500.00", card_tail="1234",
                       steps_done=["查了终端"], handoff=True, verified_as="C0001")
    ticket = office.create_ticket(case, "u1:m1")
    expected = {"created_at": ticket.created_at, **case.__dict__}  # what the console showed through the back office
    assert office.find_ticket(ticket.ticket_id) == ticket
    assert TicketReader(url).details(ticket.ticket_id) == expected
    assert TicketReader(url).details("XA00000000000000") is None
    monkeypatch.setenv(BACKOFFICE_URL_ENV, url)
    # the console's panel: the same case, its time written for people in China time (xiaoan/clock.py)
    assert _ticket_details(ticket.ticket_id) == {**expected, "created_at": clock.for_people(ticket.created_at)}


def test_the_reader_creates_nothing(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv(BACKOFFICE_URL_ENV, url)
    assert _ticket_details("XA20261201000001") is None  # no table yet: no details, no error for the page
    reader = TicketReader(url)
    assert inspect(reader.engine).get_table_names() == []

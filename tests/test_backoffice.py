"""The simulated back office: contract records, unknown numbers, ticket persistence."""
from decimal import Decimal

from actions.backoffice import get_backoffice
from actions.backoffice.records import CaseDetails
from actions.backoffice.simulated import SimulatedBackOffice, load_fixtures


def test_contract_cards():
    bo = get_backoffice()
    assert bo.find_card("1234").state == "normal" and bo.find_card("1234").balance == Decimal("50000.00")
    assert bo.find_card("5678").state == "frozen"
    assert bo.find_card("9012").state == "insufficient" and bo.find_card("9012").balance == Decimal("120.00")
    assert bo.find_card("3456").state == "limit_reached"
    assert bo.find_card("7890").state == "expired"
    assert bo.find_card("0000") is None


def test_contract_terminals():
    bo = get_backoffice()
    t1, t2, t3, t4 = (bo.find_terminal(f"1000000{i}") for i in range(1, 5))
    assert t1.online and t1.signed_in and t1.hardware == "ok"
    assert not t2.online and t2.offline_minutes == 120
    assert t3.online and not t3.signed_in
    assert t4.hardware == "printer_fault"
    assert bo.find_terminal("99999999") is None


def test_contract_transactions():
    bo = get_backoffice()
    states = {ref: bo.find_transaction(ref).state for ref in (f"20261125000{i}" for i in range(1, 6))}
    assert states == {
        "202611250001": "credited",
        "202611250002": "reversed",
        "202611250003": "processing",
        "202611250004": "returned_name_mismatch",
        "202611250005": "pending_bank_maintenance",
    }
    assert bo.find_transaction("999999999999") is None


def test_store_is_created_on_first_use_not_at_import(tmp_path):
    url = f"sqlite:///{tmp_path}/lazy/bo.db"
    store = SimulatedBackOffice(url)
    assert not (tmp_path / "lazy").exists()
    assert store.find_card("1234") is not None
    assert (tmp_path / "lazy" / "bo.db").exists()


def test_ticket_survives_a_restart_of_the_store(tmp_path):
    url = f"sqlite:///{tmp_path}/tickets.db"
    first = SimulatedBackOffice(url)
    case = CaseDetails(sender_id="u1", symptom="网络/通讯故障", amount="3500.00", card_tail="1234",
                       terminal_id="10000002", steps_done=["查询终端10000002：离线"])
    ticket = first.create_ticket(case, "u1:m1")
    first.dispose()

    second = SimulatedBackOffice(url)
    again = second.find_ticket(ticket.ticket_id)
    assert again is not None
    assert again.details == case
    assert second.create_ticket(case, "u1:m1").ticket_id == ticket.ticket_id  # the same request
    assert second.create_ticket(case, "u1:m2").ticket_id != ticket.ticket_id  # a new one
    # seeding twice does not duplicate the fixtures
    assert second.find_card("1234") is not None


def test_fixtures_hold_the_contract_records():
    data = load_fixtures()
    assert {c["card_tail"] for c in data["cards"]} >= {"1234", "5678", "9012", "3456", "7890"}
    assert {t["terminal_id"] for t in data["terminals"]} >= {f"1000000{i}" for i in range(1, 5)}
    assert {t["reference_number"] for t in data["transactions"]} >= {f"20261125000{i}" for i in range(1, 6)}


def test_a_repeated_write_returns_the_first_ticket_even_under_concurrency(tmp_path):
    """Eight workers write the same request at once: one ticket, and all eight see it."""
    from concurrent.futures import ThreadPoolExecutor

    store = SimulatedBackOffice(f"sqlite:///{tmp_path}/race.db")
    case = CaseDetails(sender_id="u2", symptom="POS终端故障")
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: store.create_ticket(case, "u2:m9").ticket_id, range(8)))
    assert len(ids) == 1
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM bo_tickets").scalar() == 1
    assert store.find_ticket_by_key("u2:m9").ticket_id in ids and store.find_ticket_by_key("u2:other") is None


def test_a_store_from_before_keyed_writes_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE bo_tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id VARCHAR(24) UNIQUE,"
                     " created_at VARCHAR(32) NOT NULL, details TEXT NOT NULL)")
    store = SimulatedBackOffice(f"sqlite:///{path}")
    case = CaseDetails(sender_id="u3")
    assert store.create_ticket(case, "k").ticket_id == store.create_ticket(case, "k").ticket_id

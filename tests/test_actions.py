"""Every action against every fixture state, unknown numbers and bad input.

The actions write no words: these tests check which response of domain.yml an
action chose (``response`` for what Rasa renders, ``composed_of`` for what the
action rendered itself) and which values it filled in, not copies of the words.
"""
import asyncio
from decimal import Decimal

import pytest

from actions.answers import card_answer, terminal_answer, transaction_answer
from actions.backoffice import get_backoffice
from actions.backoffice.records import Card, Terminal, Transaction
from actions.checks import ActionCheckAccountStatus, ActionCheckTerminalStatus, ActionCheckTransaction
from actions.error_codes import ActionExplainErrorCode
from actions.forms import ValidateDiagnosisForm, ValidateSlotMappings
from actions.lookup_tables import response_codes
from actions.tickets import ActionCreateTicket
from tests.helpers import ROOT, admitted, chosen, make_tracker, run, slot_events
from xiaoan import clock, content

FACTS = content.facts()


@pytest.fixture(autouse=True)
def every_text_is_filled(dispatcher):
    """Whatever an action rendered itself has every {placeholder} filled, and a response it leaves to
    Rasa gets every value it names from the action (or from the facts)."""
    yield
    for message in dispatcher.messages:
        assert not content.placeholders(message.get("text") or ""), message
        if message.get("response"):
            given = {k: v for k, v in message.items() if k not in ("text", "response", "template")}
            assert not content.placeholders(content.render(message["response"], **given)), message


# -- action_check_account_status ----------------------------------------------


@pytest.mark.parametrize(
    "tail, response, outcome",
    [
        ("1234", "utter_card_normal", content.render("utter_step_outcome_normal")),
        ("5678", "utter_card_frozen", content.render("utter_step_outcome_frozen")),
        ("9012", "utter_card_insufficient", content.render("utter_step_outcome_insufficient")),
        ("3456", "utter_card_limit_reached", content.render("utter_step_outcome_limit_reached")),
        ("7890", "utter_card_expired", content.render("utter_step_outcome_expired")),
        ("2468", "utter_card_reported_lost", content.render("utter_step_outcome_reported_lost")),
        ("0000", "utter_card_not_found", content.render("utter_step_outcome_not_found")),
    ],
)
def test_check_account_status(tail, response, outcome, dispatcher):
    events = run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": tail}))
    answer, reminder = dispatcher.messages
    assert chosen(answer) == [response] and tail in answer["text"]
    assert chosen(reminder) == ["utter_fraud_reminder"]  # the failure conversation's one reminder
    assert slot_events(events)["fraud_reminded"] is True
    step = slot_events(events)["steps_done"][-1]
    assert step == content.render("utter_step_card_checked", card_tail=tail, outcome=outcome)


def test_a_frozen_card_gets_its_banks_hotline_from_the_bank_table(dispatcher):
    run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "5678"}))
    bank = content.find_bank("中国建设银行")
    assert bank.hotline in dispatcher.messages[0]["text"]
    assert "身份证" in content.render("utter_card_frozen")  # the answer sends the owner with ID


def test_a_card_of_a_bank_without_a_known_hotline_points_to_the_back_of_the_card():
    card = Card("4321", "frozen", Decimal("1"), Decimal("1"), "某某村镇银行", note="")
    answer = card_answer(card, "4321")
    assert answer.values["hotline"] == content.render("utter_hotline_on_card")
    assert answer.values["card_note"] == content.render("utter_card_note_frozen")  # no note: the general word


@pytest.mark.parametrize(
    "tail, amount, response",
    [
        ("9012", "3500.00", "utter_card_insufficient_for_amount"),
        ("9012", None, "utter_card_insufficient"),
        ("1234", "60000.00", "utter_card_normal_over_balance"),
        ("1234", "100.00", "utter_card_normal_amount_fits"),
        ("1234", None, "utter_card_normal"),
    ],
)
def test_the_amount_given_chooses_the_answer(tail, amount, response, dispatcher):
    run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": tail, "amount": amount}))
    said = dispatcher.messages[0]
    assert chosen(said) == [response]
    if "amount" in content.placeholders(content.variant(response)["text"]):
        assert f"{Decimal(amount):,.2f}" in said["text"]  # 3,500.00: the user's amount, as a sum of yuan


@pytest.mark.parametrize(
    "amount, response",
    [
        ("60000.00", "utter_card_normal_over_limit"),  # within the balance, over the daily limit
        ("90000.00", "utter_card_normal_over_balance"),  # over both: the balance is named first
        ("50000.00", "utter_card_normal_amount_fits"),  # exactly the limit is allowed
    ],
)
def test_an_amount_is_compared_with_the_balance_and_the_daily_limit(amount, response):
    card = Card("1111", "normal", Decimal("80000.00"), Decimal("50000.00"), "中国工商银行")
    answer = card_answer(card, "1111", Decimal(amount))
    assert answer.response == response
    text = content.render(answer.response, **answer.values)
    assert "充足" not in text and "没有问题" not in text or response == "utter_card_normal_amount_fits"


def test_reminder_only_once(dispatcher):
    events = run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "1234", "fraud_reminded": True}))
    assert [chosen(m) for m in dispatcher.messages] == [["utter_card_normal"]]
    assert "fraud_reminded" not in slot_events(events)


# -- action_check_terminal_status ---------------------------------------------


@pytest.mark.parametrize(
    "terminal, response",
    [
        ("10000001", "utter_terminal_ok"),
        ("10000002", "utter_terminal_offline"),
        ("10000003", "utter_terminal_not_signed_in"),
        ("10000004", "utter_terminal_printer_fault"),
        ("10000005", "utter_terminal_card_reader_fault"),
        ("12345678", "utter_terminal_not_found"),
    ],
)
def test_check_terminal_status(terminal, response, dispatcher):
    run(ActionCheckTerminalStatus(), dispatcher, make_tracker({"terminal_id": terminal}))
    assert chosen(dispatcher.messages[0]) == [response] and terminal in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    "minutes, part, values", [(120, "utter_terminal_offline_hours", {"hours": 2}),
                              (45, "utter_terminal_offline_minutes", {"minutes": 45})],
)
def test_offline_time_is_said_in_hours_or_minutes(minutes, part, values):
    answer = terminal_answer(Terminal("10000009", False, True, "ok", "店", minutes), "10000009")
    assert answer.response == "utter_terminal_offline"
    assert answer.values["offline_for"] == content.render(part, **values)


def test_offline_terminal_says_check_debit_before_retry():
    said = content.render("utter_terminal_offline", terminal_id="10000002", merchant="店", offline_for="")
    assert "重试之前" in said and "扣款" in said


# -- action_check_transaction --------------------------------------------------


# The fixtures' transactions are of 2026-11-25: the answers to the ones still on their way (processing,
# pending) and to a duplicate depend on "now", so these tests pin the clock (tests/test_advice.py: the edges).
FIXTURES_DAY = "2026-11-25 14:00"  # China time: the same afternoon, every window still open
LONG_AFTER = "2026-12-06 10:00"  # eleven days later: every window over


@pytest.mark.parametrize(
    "ref, response, now",
    [
        ("202611250001", "utter_transaction_credited", FIXTURES_DAY),
        ("202611250002", "utter_transaction_reversed", FIXTURES_DAY),
        ("202611250003", "utter_transaction_processing", FIXTURES_DAY),
        ("202611250003", "utter_transaction_processing", LONG_AFTER),  # always 40 minutes old (CONTRACT §4)
        ("202611140008", "utter_transaction_processing_overdue", LONG_AFTER),
        ("202611250004", "utter_transaction_returned_name_mismatch", FIXTURES_DAY),
        ("202611250005", "utter_transaction_pending_bank_maintenance", FIXTURES_DAY),
        ("202611140009", "utter_transaction_pending_bank_maintenance_overdue", LONG_AFTER),
        ("202611250006", "utter_transaction_declined_no_debit", FIXTURES_DAY),
        ("202611250007", "utter_transaction_duplicate_debit_same_day", FIXTURES_DAY),
        ("202611250007", "utter_transaction_duplicate_debit", LONG_AFTER),
        ("200000000000", "utter_transaction_not_found", FIXTURES_DAY),
    ],
)
def test_check_transaction(ref, response, now, dispatcher):
    with clock.fixed(now):
        run(ActionCheckTransaction(), dispatcher, make_tracker({"reference_number": ref}))
    assert chosen(dispatcher.messages[0]) == [response] and ref in dispatcher.messages[0]["text"]


def test_a_transaction_answer_has_its_amount_and_the_payee_banks_hotline():
    txn = Transaction("202611250005", "pending_bank_maintenance", Decimal("12000"), "1234", "10000001",
                      "2026-11-25 01:15", "中国邮政储蓄银行")
    answer = transaction_answer(txn, txn.reference_number)
    assert answer.values["transaction_amount"] == "12,000.00"
    assert content.find_bank("邮储").hotline in answer.values["payee_hotline"]
    other = transaction_answer(Transaction("200000000001", "chargeback", Decimal("1"), "1", "1", "t", "x"), "200000000001")
    assert other.response == "utter_transaction_other_state" and "chargeback" not in str(other.values)


@pytest.mark.parametrize(
    "ref, facts",
    [("202611250002", ["reversal_usual", "reversal_max"]), ("202611250003", ["transfer_result_within"]),
     ("202611250005", ["transfer_result_within"]), ("202611250007", ["duplicate_refund_max"])],
)
def test_each_deadline_is_the_fact_tables(ref, facts, dispatcher):
    with clock.fixed(FIXTURES_DAY):
        run(ActionCheckTransaction(), dispatcher, make_tracker({"reference_number": ref}))
    said = dispatcher.messages[0]["text"]
    assert all(FACTS[name] in said for name in facts)


# -- every check ---------------------------------------------------------------


@pytest.mark.parametrize("action", [ActionCheckAccountStatus(), ActionCheckTerminalStatus(), ActionCheckTransaction()])
@pytest.mark.parametrize(
    "bad", [None, "", "abc", "1" * 5000, "<script>", "'; DROP TABLE bo_cards;--"], ids=["none", "empty", "letters", "huge", "html", "sql"]
)
def test_checks_with_missing_or_malformed_identifier_ask_again(action, bad, dispatcher):
    tracker = make_tracker({"card_tail": bad, "terminal_id": bad, "reference_number": bad})
    events = run(action, dispatcher, tracker)
    assert events == []
    assert [chosen(m) for m in dispatcher.messages] == [[f"utter_ask_{action.slot}"]]


def test_check_when_back_office_is_down(dispatcher, monkeypatch):
    def broken(_key):
        raise ConnectionError("database gone")

    monkeypatch.setattr(get_backoffice(), "find_card", broken)
    events = run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "1234"}))
    assert [chosen(m) for m in dispatcher.messages] == [["utter_system_busy"]]
    assert slot_events(events)["steps_done"] == [
        content.render("utter_step_card_checked", card_tail="1234", outcome=content.render("utter_step_outcome_busy"))
    ]


# -- the diagnosis form's questions ---------------------------------------------


@pytest.mark.parametrize("name", ["action_ask_card_tail", "action_ask_terminal_id", "action_ask_reference_number"])
def test_the_form_asks_with_the_hint_for_a_missing_number(name, dispatcher):
    from actions import asks

    action = next(cls() for cls in vars(asks).values() if isinstance(cls, type) and getattr(cls, "slot", "")
                  and cls.name(cls()) == name)
    run(action, dispatcher, make_tracker({}))
    assert [chosen(m) for m in dispatcher.messages] == [[f"utter_ask_{action.slot}", "utter_ask_no_number_hint"]]


# -- action_explain_error_code ---------------------------------------------------


@pytest.mark.parametrize(
    "code, check",
    [("51", "account"), ("a0", "terminal"), ("55", "account"), ("96", "transaction"), ("05", "account"), ("90", "none")],
)
def test_explain_error_code(code, check, dispatcher):
    events = run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": code}))
    slots = slot_events(events)
    entry = response_codes()[code.upper()]
    assert entry.check == check and slots["error_code"] == code.upper() and slots["check_kind"] == check
    invite = [] if check == "none" else [f"utter_code_check_{check}"]
    said = dispatcher.messages[0]
    assert chosen(said) == ["utter_code_explained", *invite]
    assert said["text"].startswith(f"应答码{code.upper()}") or code.upper() in said["text"]
    assert entry.meaning in said["text"] and entry.cause in said["text"]
    assert slots["steps_done"] == [content.render("utter_step_code_explained", error_code=code.upper(),
                                                  code_meaning=entry.meaning)]


@pytest.mark.parametrize("code", ["68", "98"])
def test_a_codes_advice_states_the_reversal_time_from_the_fact_table(code, dispatcher):
    assert "{reversal_max}" in response_codes()[code].action  # the table names the fact ...
    run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": code}))
    assert FACTS["reversal_max"] in dispatcher.messages[0]["text"]  # ... and the answer states it


def test_unknown_and_missing_error_code(dispatcher):
    events = run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": "Z9"}))
    said = dispatcher.messages[0]
    assert chosen(said) == ["utter_code_unknown"] and said["error_code"] == "Z9"
    assert slot_events(events)["check_kind"] == "none"
    other = type(dispatcher)()
    run(ActionExplainErrorCode(), other, make_tracker({}))
    assert other.messages[0]["response"] == "utter_ask_error_code"


def test_response_code_table_is_complete():
    table = response_codes()
    assert len(table) >= 30
    for code in ("00", "05", "14", "41", "43", "51", "54", "55", "61", "75", "91", "94", "96", "98", "A0"):
        assert code in table
    assert all(e.check in {"account", "terminal", "transaction", "none"} for e in table.values())
    for e in table.values():
        assert "告诉我密码" not in e.action and "提供验证码" not in e.action.replace("不要提供验证码", "")


# -- action_fraud_warning, action_fraud_reminder, the question notices: tests/test_fraud_actions.py


# -- the privacy notice (action_validate_slot_mappings, every message) ----------------


@pytest.mark.parametrize(
    "text, kinds",
    [("我的卡号6222021234567890123", ["card_number"]), ("密码是123456", ["pin"]), ("验证码482913", ["verification_code"]),
     ("cvv 123", ["cvv"]), ("卡号6222021234567890123 密码是123456", ["card_number", "pin"])],
)
def test_privacy_notice_names_what_the_ingress_masked(text, kinds, dispatcher):
    tracker = admitted(text)
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    said = dispatcher.messages[0]
    assert chosen(said) == ["utter_privacy_warning"]
    assert said["secrets"] == "、".join(content.render(f"utter_secret_{kind}") for kind in sorted(kinds))
    assert "6222021234567890123" not in str(said) and "123456" not in str(said)
    assert slot_events(events)["secrets_warned"] is True


def test_privacy_notice_reads_the_ingress_record_only(dispatcher):
    """The text is not masked again here, and the old per-layer keys mean nothing any more."""
    legacy = make_tracker(text="我卡号***************0123")
    legacy.latest_message.update({"secrets_found": ["card_number"], "metadata": {"secrets_masked": ["pin"]}})
    asyncio.run(ValidateSlotMappings().run(dispatcher, legacy, {"slots": {}, "forms": {}}))
    assert dispatcher.messages == []
    recorded = make_tracker(text="我卡号***************0123")
    recorded.latest_message["metadata"] = {"xiaoan": {"secrets_masked": ["card_number"], "fraud_signals": []}}
    asyncio.run(ValidateSlotMappings().run(dispatcher, recorded, {"slots": {}, "forms": {}}))
    assert dispatcher.messages[0]["secrets"] == content.render("utter_secret_card_number")


def test_privacy_notice_silent_on_ordinary_text(dispatcher):
    tracker = admitted("尾号5678 终端号10000002")
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    assert "secrets_warned" not in slot_events(events) and dispatcher.messages == []


# -- action_create_ticket --------------------------------------------------------------


def test_create_ticket_records_the_case(dispatcher):
    slots = {
        "symptom": "网络/通讯故障", "amount": "3500.00", "card_tail": "1234", "terminal_id": "10000002",
        "reference_number": "202611250002", "steps_done": ["查询终端10000002：离线"],
    }
    events = run(ActionCreateTicket(), dispatcher, make_tracker(slots, intent="affirm"))
    ticket_id = slot_events(events)["ticket_id"]
    summary, note, reminder = dispatcher.messages
    assert chosen(note) == ["utter_staff_reply_here_only"]  # the first ticket: staff answer only here
    assert chosen(summary) == [
        "utter_ticket_created", "utter_ticket_symptom", "utter_ticket_amount", "utter_ticket_card_tail",
        "utter_ticket_terminal_id", "utter_ticket_reference_number", "utter_ticket_steps",
    ]  # no bank named: no bank line
    assert ticket_id.startswith("XA") and ticket_id in summary["text"] and "3500.00" in summary["text"]
    assert chosen(reminder) == ["utter_fraud_reminder"]
    stored = get_backoffice().find_ticket(ticket_id)
    assert stored.details.terminal_id == "10000002"
    assert stored.details.amount == "3500.00"
    assert stored.details.steps_done == ["查询终端10000002：离线"]
    assert stored.details.handoff is False
    assert clock.for_people(stored.created_at) in summary["text"]


@pytest.mark.parametrize("moment, day, shown", [
    ("2026-12-06T23:59:30+08:00", "20261206", "2026-12-06 23:59"),  # the China day's last minute
    ("2026-12-07T00:01:00+08:00", "20261207", "2026-12-07 00:01"),  # still 2026-12-06 in UTC
])
def test_a_ticket_is_numbered_and_dated_by_the_china_day(dispatcher, moment, day, shown):
    with clock.fixed(moment):
        events = run(ActionCreateTicket(), dispatcher, make_tracker({"symptom": "POS终端故障", "fraud_reminded": True}))
    ticket_id = slot_events(events)["ticket_id"]
    assert ticket_id.startswith(f"XA{day}")
    assert f"登记时间：{shown}" in dispatcher.messages[0]["text"]
    assert get_backoffice().find_ticket(ticket_id).created_at == moment[:19] + "+08:00"


def test_a_ticket_with_only_a_symptom_has_only_that_line(dispatcher):
    run(ActionCreateTicket(), dispatcher, make_tracker({"symptom": "POS终端故障", "fraud_reminded": True}))
    assert [chosen(m) for m in dispatcher.messages] == [["utter_ticket_created", "utter_ticket_symptom"],
                                                        ["utter_staff_reply_here_only"]]


def test_the_same_message_retried_writes_one_ticket(dispatcher):
    tracker = make_tracker({"symptom": "POS终端故障"}, intent="request_human", message_id="m-7")
    first = slot_events(run(ActionCreateTicket(), dispatcher, tracker))["ticket_id"]
    again = slot_events(run(ActionCreateTicket(), dispatcher, tracker))["ticket_id"]
    later = make_tracker({"symptom": "POS终端故障"}, intent="request_human", message_id="m-8")
    assert first == again != slot_events(run(ActionCreateTicket(), dispatcher, later))["ticket_id"]


def test_the_ticket_store_down_is_the_one_busy_answer(dispatcher, monkeypatch):
    def broken(*_args):
        raise ConnectionError("store gone")

    monkeypatch.setattr(get_backoffice(), "create_ticket", broken)
    events = run(ActionCreateTicket(), dispatcher, make_tracker({"symptom": "x"}))
    assert [chosen(m) for m in dispatcher.messages] == [["utter_system_busy"]]
    # the write may have landed before the store failed: asking again writes under the same key
    assert slot_events(events) == {"pending_ticket_key": "tester:m1"}


def test_ticket_for_a_handover_never_stores_a_full_card_number(dispatcher):
    slots = {"card_tail": "***************0123"}
    events = run(ActionCreateTicket(), dispatcher, make_tracker(slots, intent="request_human"))
    stored = get_backoffice().find_ticket(slot_events(events)["ticket_id"])
    assert stored.details.card_tail == "0123"
    assert stored.details.handoff is True


# -- the diagnosis form and the slot checks ----------------------------------------------


@pytest.mark.parametrize(
    "kind, slot", [("account", "card_tail"), ("terminal", "terminal_id"), ("transaction", "reference_number"), ("none", None)]
)
def test_form_asks_only_what_the_check_needs(kind, slot, dispatcher):
    tracker = make_tracker({"check_kind": kind})
    required = asyncio.run(ValidateDiagnosisForm().required_slots([], dispatcher, tracker, {}))
    assert required == ([slot] if slot else [])


def test_form_infers_the_check_from_a_bare_detail(dispatcher):
    tracker = make_tracker({}, entities=[{"entity": "terminal_id", "value": "10000003"}])
    required = asyncio.run(ValidateDiagnosisForm().required_slots([], dispatcher, tracker, {}))
    assert required == ["terminal_id"]


@pytest.mark.parametrize("slot, bad", [("terminal_id", "123"), ("card_tail", "12"), ("reference_number", "2026")])
def test_form_rejects_a_malformed_identifier(slot, bad, dispatcher):
    out = getattr(ValidateDiagnosisForm(), f"validate_{slot}")(bad, dispatcher, make_tracker({}), {})
    assert out == {slot: None}
    assert [chosen(m) for m in dispatcher.messages] == [[f"utter_invalid_{slot}"]]


def test_form_accepts_a_good_identifier_silently(dispatcher):
    out = ValidateDiagnosisForm().validate_terminal_id("10000002", dispatcher, make_tracker({}), {})
    assert out == {"terminal_id": "10000002"} and dispatcher.messages == []


def test_form_reads_a_bare_number_nlu_missed(dispatcher):
    tracker = make_tracker({"requested_slot": "reference_number", "check_kind": "transaction"}, text="２０２６１１２５０００４")
    out = asyncio.run(ValidateDiagnosisForm().extract_reference_number(dispatcher, tracker, {}))
    assert out == {"reference_number": "202611250004"}


def test_slot_validation_keeps_a_card_as_its_tail_and_redirects_the_check(dispatcher):
    tracker = make_tracker(
        {"check_kind": "terminal", "card_tail": "***************0123"},
        intent="inform",
        entities=[{"entity": "card_number", "value": "***************0123"}],
    )
    tracker.events = [{"event": "slot", "name": "card_tail", "value": "***************0123"}]
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {"card_tail": {}}, "forms": {}}))
    slots = slot_events(events)
    assert slots["check_kind"] == "account"


def test_slot_validation_leaves_a_scenarios_check_alone(dispatcher):
    tracker = make_tracker(
        {"check_kind": "transaction"}, intent="charged_but_failed",
        entities=[{"entity": "terminal_id", "value": "10000002"}],
    )
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    assert "check_kind" not in slot_events(events)


def test_terminal_id_from_the_page_is_used_not_asked(dispatcher):
    tracker = make_tracker(text="一直提示通讯失败", intent="network_issue")
    tracker.latest_message["metadata"] = {"terminal_id": "10000002", "language": "zh"}
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    assert slot_events(events)["terminal_id"] == "10000002"
    bad = make_tracker(text="hi")
    bad.latest_message["metadata"] = {"terminal_id": "<script>"}
    assert "terminal_id" not in slot_events(asyncio.run(ValidateSlotMappings().run(dispatcher, bad, {"slots": {}, "forms": {}})))


def test_slot_validation_needs_no_domain(dispatcher):
    """Rasa sends this action no domain (enable_selective_domain): it still validates its slots."""
    assert sorted(ValidateSlotMappings().domain_slots({})) == ["card_tail", "error_code", "reference_number",
                                                                "terminal_id"]
    tracker = make_tracker({"card_tail": "6222021234567890123", "terminal_id": "终端<b>"}, intent="inform")
    tracker.events = [{"event": "slot", "name": "card_tail", "value": "6222021234567890123"},
                      {"event": "slot", "name": "terminal_id", "value": "终端<b>"}]
    with_domain = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {"card_tail": {}}, "forms": {}}))
    tracker.slots.update({"card_tail": "6222021234567890123", "terminal_id": "终端<b>"})
    without = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {}))
    assert slot_events(without)["card_tail"] == slot_events(with_domain)["card_tail"] != "6222021234567890123"
    assert slot_events(without)["terminal_id"] is None


def test_endpoints_send_the_domain_only_where_needed():
    import yaml

    for path in ("endpoints.yml", "ops/endpoints.scale.yml"):
        endpoints = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
        assert endpoints["action_endpoint"]["enable_selective_domain"] is True

"""Every action against every fixture state, unknown numbers and bad input."""
import asyncio

import pytest

from actions.checks import ActionCheckAccountStatus, ActionCheckTerminalStatus, ActionCheckTransaction
from actions.error_codes import ActionExplainErrorCode
from actions.forms import ValidateDiagnosisForm
from actions.forms import ValidateSlotMappings
from actions.fraud_warning import ActionFraudWarning
from actions.lookup_tables import response_codes
from actions.tickets import ActionCreateTicket
from actions.backoffice import get_backoffice
from tests.conftest import make_tracker, texts_of


def run(action, dispatcher, tracker):
    return asyncio.run(action.run(dispatcher, tracker, {}))


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    "tail, expect",
    [
        ("1234", "账户状态正常"),
        ("5678", "冻结"),
        ("9012", "余额只有120.00元"),
        ("3456", "额度已经用完"),
        ("7890", "过期"),
        ("2468", "挂失"),
        ("0000", "没有查到尾号0000"),
    ],
)
def test_check_account_status(tail, expect, dispatcher):
    events = run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": tail}))
    said = "\n".join(texts_of(dispatcher))
    assert expect in said
    assert "防骗提醒" in said  # the failure conversation's one reminder
    assert slot_events(events)["fraud_reminded"] is True
    assert any(tail in step for step in slot_events(events)["steps_done"])


def test_frozen_card_sends_user_to_issuing_bank_with_id(dispatcher):
    run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "5678"}))
    said = texts_of(dispatcher)[0]
    assert "身份证" in said and "95533" in said


def test_insufficient_balance_mentions_the_amount(dispatcher):
    run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "9012", "amount": "3500.00"}))
    assert "3,500.00元" in texts_of(dispatcher)[0]


def test_reminder_only_once(dispatcher):
    run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "1234", "fraud_reminded": True}))
    assert not any("防骗提醒" in t for t in texts_of(dispatcher))


@pytest.mark.parametrize(
    "terminal, expect",
    [
        ("10000001", "终端这边没有问题"),
        ("10000002", "离线约2小时"),
        ("10000003", "签到"),
        ("10000004", "打印机缺纸"),
        ("10000005", "读卡模块故障"),
        ("12345678", "没有查到终端号12345678"),
    ],
)
def test_check_terminal_status(terminal, expect, dispatcher):
    run(ActionCheckTerminalStatus(), dispatcher, make_tracker({"terminal_id": terminal}))
    assert expect in texts_of(dispatcher)[0]


def test_offline_terminal_says_check_debit_before_retry(dispatcher):
    run(ActionCheckTerminalStatus(), dispatcher, make_tracker({"terminal_id": "10000002"}))
    said = texts_of(dispatcher)[0]
    assert "重试之前" in said and "扣款" in said


@pytest.mark.parametrize(
    "ref, expect",
    [
        ("202611250001", "已经入账"),
        ("202611250002", "冲正"),
        ("202611250003", "处理中"),
        ("202611250004", "户名不一致"),
        ("202611250005", "系统维护"),
        ("202611250006", "没有扣款"),
        ("202611250007", "重复扣款"),
        ("200000000000", "没有查到参考号200000000000"),
    ],
)
def test_check_transaction(ref, expect, dispatcher):
    run(ActionCheckTransaction(), dispatcher, make_tracker({"reference_number": ref}))
    assert expect in texts_of(dispatcher)[0]


@pytest.mark.parametrize("action", [ActionCheckAccountStatus(), ActionCheckTerminalStatus(), ActionCheckTransaction()])
@pytest.mark.parametrize(
    "bad", [None, "", "abc", "1" * 5000, "<script>", "'; DROP TABLE bo_cards;--"], ids=["none", "empty", "letters", "huge", "html", "sql"]
)
def test_checks_with_missing_or_malformed_identifier_ask_again(action, bad, dispatcher):
    tracker = make_tracker({"card_tail": bad, "terminal_id": bad, "reference_number": bad})
    events = run(action, dispatcher, tracker)
    assert events == []
    assert "请告诉我" in texts_of(dispatcher)[0]


def test_check_when_back_office_is_down(dispatcher, monkeypatch):
    def broken(_key):
        raise ConnectionError("database gone")

    monkeypatch.setattr(get_backoffice(), "find_card", broken)
    events = run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "1234"}))
    assert "系统繁忙" in texts_of(dispatcher)[0]
    assert "查询失败" in slot_events(events)["steps_done"][0]


@pytest.mark.parametrize(
    "code, check, expect",
    [("51", "account", "余额不足"), ("a0", "terminal", "签到"), ("55", "account", "密码"), ("96", None, "")],
)
def test_explain_error_code(code, check, expect, dispatcher):
    events = run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": code}))
    slots = slot_events(events)
    assert slots["error_code"] == code.upper()
    assert slots["check_kind"] == (check or response_codes()[code.upper()].check)
    assert expect in texts_of(dispatcher)[0]


def test_unknown_and_missing_error_code(dispatcher):
    events = run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": "Z9"}))
    assert "不在我知道的" in texts_of(dispatcher)[0]
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


@pytest.mark.parametrize(
    "text, intent, expect",
    [
        ("有人打电话说我转账失败要我提供验证码", "fraud_report", "验证码"),
        ("POS转账失败了，客服让我转到安全账户", "transfer_failed", "安全账户"),
        ("要先交解冻费才能退款", "account_problem", "解冻费"),
        ("他给我发了个链接说点了就能退款", "charged_but_failed", "链接"),
        ("有人冒充银行打电话", "fraud_report", "诈骗"),
    ],
)
def test_fraud_warning(text, intent, expect, dispatcher):
    events = run(ActionFraudWarning(), dispatcher, make_tracker(text=text, intent=intent, message_id="abc"))
    said = texts_of(dispatcher)[0]
    assert expect in said and "110" in said and "96110" in said
    assert slot_events(events)["fraud_reminded"] is True


def test_fraud_warning_silent_without_a_scam(dispatcher):
    assert run(ActionFraudWarning(), dispatcher, make_tracker(text="POS机死机了", intent="terminal_fault")) == []
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    "text, what",
    [("我的卡号6222021234567890123", "完整卡号"), ("密码是123456", "密码"), ("验证码482913", "验证码"), ("cvv 123", "CVV")],
)
def test_privacy_notice_on_every_message(text, what, dispatcher):
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, make_tracker(text=text), {"slots": {}, "forms": {}}))
    said = texts_of(dispatcher)[0]
    assert what in said and "6222021234567890123" not in said
    assert slot_events(events)["secrets_warned"] is True


@pytest.mark.parametrize(
    "latest",
    [
        {"text": "我卡号***************0123", "secrets_found": ["card_number"]},
        {"text": "我卡号***************0123", "metadata": {"secrets_masked": ["card_number"]}},
    ],
    ids=["masked-by-nlu", "masked-by-channel"],
)
def test_privacy_notice_for_text_masked_upstream(latest, dispatcher):
    tracker = make_tracker(text=latest["text"])
    tracker.latest_message.update(latest)
    asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    assert "完整卡号" in texts_of(dispatcher)[0]


def test_privacy_notice_silent_on_ordinary_text(dispatcher):
    tracker = make_tracker(text="尾号5678 终端号10000002")
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, {"slots": {}, "forms": {}}))
    assert "secrets_warned" not in slot_events(events) and dispatcher.messages == []


def test_create_ticket_records_the_case(dispatcher):
    slots = {
        "symptom": "网络/通讯故障", "amount": "3500.00", "card_tail": "1234", "terminal_id": "10000002",
        "reference_number": "202611250002", "steps_done": ["查询终端10000002：离线"],
    }
    events = run(ActionCreateTicket(), dispatcher, make_tracker(slots, intent="affirm"))
    ticket_id = slot_events(events)["ticket_id"]
    assert ticket_id.startswith("XA") and ticket_id in texts_of(dispatcher)[0]
    stored = get_backoffice().find_ticket(ticket_id)
    assert stored.details.terminal_id == "10000002"
    assert stored.details.amount == "3500.00"
    assert stored.details.steps_done == ["查询终端10000002：离线"]
    assert stored.details.handoff is False


def test_ticket_for_a_handover_never_stores_a_full_card_number(dispatcher):
    slots = {"card_tail": "***************0123"}
    events = run(ActionCreateTicket(), dispatcher, make_tracker(slots, intent="request_human"))
    stored = get_backoffice().find_ticket(slot_events(events)["ticket_id"])
    assert stored.details.card_tail == "0123"
    assert stored.details.handoff is True


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


def test_form_rejects_a_malformed_identifier(dispatcher):
    out = ValidateDiagnosisForm().validate_terminal_id("123", dispatcher, make_tracker({}), {})
    assert out == {"terminal_id": None}
    assert "8位" in texts_of(dispatcher)[0]


def test_form_reads_a_bare_number_nlu_missed(dispatcher):
    tracker = make_tracker({"requested_slot": "reference_number", "check_kind": "transaction"}, text="２０２６１１２５０００４")
    out = asyncio.run(ValidateDiagnosisForm().extract_reference_number(dispatcher, tracker, {}))
    assert out == {"reference_number": "202611250004"}


def test_slot_validation_keeps_a_card_as_its_tail_and_redirects_the_check(dispatcher):
    from actions.forms import ValidateSlotMappings

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
    from actions.forms import ValidateSlotMappings

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
    from actions.forms import ValidateSlotMappings

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

    from tests.conftest import ROOT

    for path in ("endpoints.yml", "deploy/endpoints.scale.yml"):
        endpoints = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
        assert endpoints["action_endpoint"]["enable_selective_domain"] is True

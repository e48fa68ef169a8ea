"""The UnionPay response-code table (content/response_codes.yml) and the action that reads it.

The table was reviewed line by line against China UnionPay's published response-code table
(Q/CUP 006.6, appendix A.2: meaning, terminal action, terminal display, conditions). These
tests hold what that review fixed: every code a cardholder or merchant may see is known,
each one routes to the check that can tell the user something, a declined code never says
"just try again", a code that may have debited the card says to check the debit first and
that an unconfirmed debit is reversed (冲正), and a "defective success" says to confirm the
credit with the payee. Literal times and phone numbers in the table are refused by
tests/test_content.py (test_no_response_code_text_states_a_figure_itself).
"""
from __future__ import annotations


import pytest
import yaml

from actions.error_codes import CHECK_INVITES, ActionExplainErrorCode
from actions.lookup_tables import CHECK_KINDS, code_texts, lookup_code, response_codes
from tests.helpers import ROOT, chosen, make_tracker, run, slot_events
from xiaoan import content
from xiaoan.text.identifiers import clean_identifier

RAW = yaml.safe_load((ROOT / "content" / "response_codes.yml").read_text(encoding="utf-8"))
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))

# The result is unknown: the card may have been debited, and an unconfirmed debit is reversed.
MAYBE_DEBITED = ["06", "09", "20", "68", "96", "98"]
# Approved, but the crediting side is not confirmed (CUP: "交易成功，请向资金转入/到账行确认").
DEFECTIVE_SUCCESS = ["A2", "A4", "A5", "A6"]
# What a user is told to do again without a reason: never for a card the issuer declined.
BLIND_RETRY = ("重试", "稍后再试", "重新刷卡", "再刷一次", "多试几次", "多刷几次")

# The routing the review settled, where it is not obvious or was wrong before.
ROUTING = {
    # a card problem: the card check
    "21": "account", "45": "account", "40": "account", "14": "account", "59": "account",
    # the payee's account does not exist: where the money is now, not the payer's card
    "A3": "transaction",
    # an undo, refund or completion that does not match its original: the original's state
    "12": "transaction", "22": "transaction", "25": "transaction", "64": "transaction", "94": "transaction",
    # a card-reader, merchant, terminal or key problem: the terminal check
    "03": "terminal", "19": "terminal", "30": "terminal", "58": "terminal", "63": "terminal",
    "77": "terminal", "97": "terminal", "99": "terminal", "A0": "terminal", "A7": "terminal",
    # the issuer's or the network's systems: nothing of ours to look up
    "00": "none", "90": "none", "91": "none", "92": "none", "A1": "none",
}


# -- the table's shape --------------------------------------------------------------------


@pytest.mark.parametrize("code", list(RAW))
def test_every_entry_has_the_four_keys_and_a_valid_check(code):
    entry = RAW[code]
    assert isinstance(code, str), f"{code!r}: quote the code in YAML (09 unquoted is the number 9)"
    assert clean_identifier("error_code", code) == code, f"{code}: not a code the error_code slot can hold"
    assert set(entry) == {"meaning", "cause", "action", "check"}, code
    for field in ("meaning", "cause", "action"):
        assert isinstance(entry[field], str) and entry[field].strip(), (code, field)
    assert entry["check"] in CHECK_KINDS, code


def test_the_checks_are_the_values_the_slot_takes():
    assert set(CHECK_KINDS) == set(DOMAIN["slots"]["check_kind"]["values"])
    assert set(CHECK_INVITES) == set(CHECK_KINDS) - {"none"}


# -- what the review fixed ------------------------------------------------------------------


def test_21_and_45_are_known():
    chip, uninitialised = lookup_code("45"), lookup_code("21")
    assert chip is not None and uninitialised is not None
    assert "芯片" in chip.meaning and "降级" in chip.meaning
    assert "插" in chip.action and "不要改刷磁条" in chip.action and "换卡" in chip.action
    assert "激活" in uninitialised.cause and "睡眠卡" in uninitialised.cause and "激活" in uninitialised.action


@pytest.mark.parametrize("code, check", sorted(ROUTING.items()))
def test_each_code_routes_to_the_check_that_can_tell_the_user_something(code, check):
    assert response_codes()[code].check == check


def test_a3_is_the_payees_account_and_looks_up_where_the_money_is():
    a3 = response_codes()["A3"]
    assert a3.check == "transaction"  # not the payer's card
    assert "收款" in a3.cause and "核对收款人的账号" in a3.action
    assert "{returned_transfer_time}" in a3.action and "参考号" in a3.action


def test_09_reverses_an_unconfirmed_debit_and_never_calls_it_valid():
    advice = response_codes()["09"].action
    assert "冲正" in advice and "{reversal_max}" in advice
    assert "有效" not in advice and "不要把这笔当作已付款" in advice
    assert "不要重复付款" in advice


@pytest.mark.parametrize("code", MAYBE_DEBITED)
def test_a_code_that_may_have_debited_says_check_the_debit_first_and_that_it_is_reversed(code):
    entry = response_codes()[code]
    assert entry.check == "transaction"
    advice = entry.action
    assert "确认是否扣款" in advice or "查看手机银行" in advice
    first_look = min(advice.index(w) for w in ("查看手机银行", "确认是否扣款") if w in advice)
    assert first_look < advice.index("重新交易"), "check the debit before any retry"
    assert "冲正" in advice and "{reversal_max}" in advice and "不要重复付款" in advice


@pytest.mark.parametrize("code", DEFECTIVE_SUCCESS)
def test_a_defective_success_says_confirm_the_credit_with_the_payee(code):
    entry = response_codes()[code]
    assert entry.check == "transaction" and "有缺陷的成功" in entry.meaning
    assert "与收款方确认钱是否到账" in entry.action
    assert "参考号" in entry.action and "收款方的开户行" in entry.action
    assert "不要重复付款" in entry.action


@pytest.mark.parametrize("code", [c for c, e in RAW.items() if e["check"] == "account"])
def test_a_declined_card_is_never_told_to_just_try_again(code):
    advice = RAW[code]["action"]
    assert not [w for w in BLIND_RETRY if w in advice], (code, advice)


# -- end to end: the action reads the table ----------------------------------------------------


@pytest.mark.parametrize("code", list(RAW))
def test_every_code_is_explained_and_routed_by_the_action(code, dispatcher):
    typed = code.lower()  # as a user types it
    events = run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": typed}))
    entry = response_codes()[code]
    slots = slot_events(events)
    assert slots["error_code"] == code and slots["check_kind"] == entry.check
    said = dispatcher.messages[0]
    invite = [CHECK_INVITES[entry.check]] if entry.check in CHECK_INVITES else []
    assert chosen(said) == ["utter_code_explained", *invite]
    texts = code_texts(entry)
    for value in texts.values():
        assert value in said["text"]
    assert not content.placeholders(said["text"]), said["text"]
    assert slots["steps_done"] == [content.render("utter_step_code_explained", error_code=code,
                                                  code_meaning=texts["code_meaning"])]


@pytest.mark.parametrize("code", ["45", "21"])
def test_45_and_21_no_longer_get_the_unknown_code_answer(code, dispatcher):
    run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": code}))
    assert "utter_code_unknown" not in chosen(dispatcher.messages[0])


@pytest.mark.parametrize("code", ["16", "Z9"])
def test_a_code_not_in_the_table_gets_the_unknown_code_answer(code, dispatcher):
    events = run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": code}))
    said = dispatcher.messages[0]
    assert said["response"] == "utter_code_unknown" and said["error_code"] == code
    assert slot_events(events)["check_kind"] == "none"


def test_the_code_states_the_reversal_time_from_the_facts(dispatcher):
    run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": "09"}))
    facts = content.facts()
    assert facts["reversal_max"] in dispatcher.messages[0]["text"]
    assert facts["reversal_usual"] in dispatcher.messages[0]["text"]


# Payment companies, acquirers and terminal makers users may know by name: the table names none.
VENDORS = ("拉卡拉", "乐刷", "随行付", "汇付", "通联", "快钱", "银联商务", "中付", "海科", "瑞银信",
           "盛付通", "联动优势", "易宝", "杉德", "银盛", "嘉联", "星驿付", "收钱吧", "新大陆", "百富",
           "联迪", "惠尔丰", "升腾", "支付宝", "微信", "云闪付", "闪付")


@pytest.mark.parametrize("code", list(RAW))
def test_no_entry_names_a_vendor(code):
    words = " ".join(RAW[code][f] for f in ("meaning", "cause", "action"))
    assert not [v for v in VENDORS if v in words], code


# -- issue 20: 10, 11, A0, 77, PIN codes, an unknown code ------------------------------------------


def test_10_is_a_partial_approval_and_says_what_the_cashier_and_cardholder_do():
    partial = response_codes()["10"]
    assert "部分承兑" in partial.meaning and partial.check == "transaction"
    assert "余额" in partial.cause and "批准" in partial.cause
    assert "差额" in partial.action and "补付" in partial.action  # the rest is paid another way ...
    assert "撤销" in partial.action and "退回原卡" in partial.action  # ... or the part is voided
    assert "核对扣款金额" in partial.action


def test_11_is_a_vip_approval_not_a_decline():
    vip = response_codes()["11"]
    assert "重要人物批准" in vip.meaning and vip.check == "none"
    assert "交易已成功" in vip.action and "无需重复刷卡" in vip.action


def test_a0_is_a_mac_error_the_merchant_signs_in_and_the_cardholder_checks_for_a_debit():
    a0 = response_codes()["A0"]
    assert "MAC" in a0.meaning and a0.check == "terminal"
    assert "密钥" in a0.cause and "与持卡人的卡无关" in a0.cause
    assert "重新签到" in a0.action and "收单机构" in a0.action
    assert "确认有没有扣款" in a0.action and "不要再付" in a0.action and "{reversal_max}" in a0.action


def test_77_is_sign_in_again_and_the_cardholder_does_not_keep_swiping():
    sign_in = response_codes()["77"]
    assert "签到" in sign_in.meaning and "批次" in sign_in.cause and sign_in.check == "terminal"
    assert "执行签到" in sign_in.action and "不要反复刷卡" in sign_in.action


@pytest.mark.parametrize("code", ["38", "55", "75"])
def test_a_pin_code_tells_the_lockout_with_the_one_clause(code):
    entry = response_codes()[code]
    assert "{pin_lockout}" in entry.action and entry.check == "account"
    advice = code_texts(entry)["code_advice"]
    assert content.clauses()["pin_lockout"] in advice and "一般不会扣款" in advice


def test_an_unknown_code_says_check_for_a_debit_before_anything_else(dispatcher):
    run(ActionExplainErrorCode(), dispatcher, make_tracker({"error_code": "Q7"}))
    text = content.render("utter_code_unknown", error_code="Q7")
    debit = text.index("有没有被扣款")
    assert debit < text.index("再核对") and debit < text.index("终端号")
    assert "不要再付" in text and "参考号" in text and "发卡行" in text

"""Issue 20: what a cardholder is told after a PIN code, about a bank we have no hotline for, and
wording that was wrong for a cardholder (checked against card-payment practice).

Each test here failed on the wording or the flow before the change: the card check after 55 said
"账户状态正常…失败更可能出在终端"; the PIN lock-out was told four ways; a bank outside
content/banks.yml was asked for again ("告诉我是哪家银行"); the payer was sent to the payee's
bank; "撤销扣款、退款都不需要您做任何操作"; "最晚{reversal_max}（视发卡行而定）"; a fee "按国家规定";
the WeChat binding on every channel; a raw state name ("frozen") could reach the user; 冲正, 差错处理,
退汇, T+1 and 签到 without a word of explanation.
"""
from __future__ import annotations

import asyncio
import re
from decimal import Decimal

import pytest

from actions.answers import card_answer
from actions.backoffice.records import Card
from actions.checks import ActionCheckAccountStatus
from actions.lookup_tables import PIN_LOCKED_CODES, PIN_WRONG_CODES, code_texts, response_codes
from tests.helpers import ROOT, make_tracker, run
from xiaoan import content

FACTS = content.facts()
PIN_LOCKOUT = content.clauses()["pin_lockout"]


def rasa_generator():
    """Rasa's renderer as endpoints.yml configures it (xiaoan.runtime.nlg), on this domain."""
    from rasa.shared.core.domain import Domain

    from xiaoan.runtime.nlg import FactsNaturalLanguageGenerator

    domain = Domain.load(str(ROOT / "domain.yml"))
    return domain, FactsNaturalLanguageGenerator(None, domain)


def card(state: str = "normal", bank: str = "中国工商银行") -> Card:
    return Card("1234", state, Decimal("50000.00"), Decimal("50000.00"), bank)


def said(answer) -> str:
    return content.render(answer.response, **answer.values)


def every_text():
    """Every text a user can be shown: each response variant (facts and clauses filled), and each response
    code's message as the action composes it (meaning, cause, advice)."""
    known = {**FACTS, **content.clauses()}
    for name, variants in content.responses().items():
        for index, variant in enumerate(variants):
            yield pytest.param(content.fill(variant.get("text") or "", known), id=f"{name}[{index}]")
    for code, entry in response_codes().items():
        texts = code_texts(entry)
        yield pytest.param("。".join(texts.values()), id=f"code {code}")


# -- 1. after a PIN code, the card check names the PIN --------------------------------------------


@pytest.mark.parametrize("code, response", [("55", "utter_card_pin_wrong"), ("38", "utter_card_pin_locked"),
                                            ("75", "utter_card_pin_locked")])
def test_after_a_pin_code_a_card_in_order_is_the_pins_problem_not_the_terminals(code, response):
    answer = card_answer(card(), "1234", None, code)
    text = said(answer)
    assert answer.response == response
    assert "失败更可能出在终端" not in text and "账户这边没有问题" not in text
    assert "密码" in text and code in text and PIN_LOCKOUT in text
    assert "密码只能由本人" in text  # never asks for it


def test_the_same_card_without_a_pin_code_is_answered_as_before():
    assert card_answer(card(), "1234").response == "utter_card_normal"
    assert card_answer(card(), "1234", None, "51").response == "utter_card_normal"
    assert card_answer(card("frozen"), "1234", None, "55").response == "utter_card_frozen"  # a real obstacle stays


def test_the_check_action_reads_the_code_of_the_case(dispatcher):
    run(ActionCheckAccountStatus(), dispatcher, make_tracker({"card_tail": "1234", "error_code": "55"}))
    text = dispatcher.messages[0]["text"]
    assert dispatcher.messages[0]["composed_of"] == ["utter_card_pin_wrong"]
    assert "出在终端" not in text and PIN_LOCKOUT in text


def test_a_wrong_pin_may_be_retyped_once_a_locked_one_not():
    assert "重新输入一次" in content.render("utter_card_pin_wrong")
    assert "不要再输密码" in content.render("utter_card_pin_locked")
    assert PIN_WRONG_CODES == {"55"} and PIN_LOCKED_CODES == {"38", "75"}


LOCK_WORDS = re.compile(r"锁定|锁卡|锁住|解锁")


def test_the_pin_lockout_is_described_once():
    """Every answer that speaks of a PIN lock-out says it with the one clause; the clause says how it really works."""
    assert "次日" in PIN_LOCKOUT and "身份证" in PIN_LOCKOUT and FACTS["pin_tries_before_lock"] in PIN_LOCKOUT
    assert "不会向您索要" in PIN_LOCKOUT
    texts = [(f"{n}[{i}]", v.get("text") or "") for n, vs in content.responses().items() if n != "utter_clause_pin_lockout"
             for i, v in enumerate(vs)]
    texts += [(f"code {c}", " ".join((e.meaning, e.cause, e.action))) for c, e in response_codes().items()]
    naming = {where for where, text in texts if "{pin_lockout}" in text}
    assert naming >= {"code 38", "code 55", "code 75", "utter_input_error_intro[0]", "utter_no_lookup_steps_account[0]",
                      "utter_card_pin_wrong[0]", "utter_card_pin_locked[0]"}
    for where, text in ((w, t) for w, t in texts if LOCK_WORDS.search(t)):
        assert "{pin_lockout}" in text, f"{where} describes the lock-out in its own words"


# -- 2. banks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bank", ["农商行", "某某农村信用社", "村镇银行", "北京农商银行", "江苏银行"])
def test_a_bank_without_a_hotline_gets_where_to_find_it_not_the_question_again(bank):
    assert content.find_bank(bank) is None
    text = content.render("utter_ask_contact_bank", {"bank": bank})
    assert "是哪家银行" not in text and text != content.render("utter_ask_contact_bank", {})
    assert "卡背面" in text and "官方网站" in text and "App" in text
    assert FACTS["unionpay_hotline"] in text and bank in text


def test_the_unionpay_hotline_is_a_fact():
    assert FACTS["unionpay_hotline"] == "95516"
    assert "{unionpay_hotline}" in content.variant("utter_ask_contact_bank", {"bank": "农商行"})["text"]


@pytest.mark.parametrize("bank, hotline", [("北京银行", "95526"), ("宁波银行", "95574"), ("上海银行", "95594")])
def test_city_banks_in_the_table_get_their_hotline(bank, hotline):
    assert hotline in content.render("utter_ask_contact_bank", {"bank": bank})


def test_rasa_says_the_same_for_a_bank_without_a_hotline():
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    domain, generator = rasa_generator()
    tracker = DialogueStateTracker.from_events("t", [SlotSet("bank", "农商行")], domain.slots)
    text = asyncio.run(generator.generate("utter_ask_contact_bank", tracker, "rest"))["text"]
    assert text == content.render("utter_ask_contact_bank", {"bank": "农商行"})


def test_the_payer_asks_the_issuer_the_payee_their_own_bank():
    ask = content.render("utter_ask_contact_bank", {})
    assert "付款的一方找自己那张卡的发卡行" in ask and "收款的一方找自己的开户行" in ask
    pending = content.variant("utter_transaction_pending_bank_maintenance")["text"]
    assert "{payee_hotline}" not in pending  # the payer does not call the payee's bank
    assert "联系自己的发卡行" in pending and "收款方可以向自己的开户行" in pending
    verify = content.render("utter_ask_verify_payee")
    assert "拨打对方银行" not in verify and "收款人向自己的开户行核实" in verify


# -- 3. wording -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", every_text())
def test_no_answer_says_a_refund_needs_nothing_from_you(text):
    assert "不需要您做任何操作" not in text and "不用再操作" not in text


def test_the_fraud_advice_says_what_happens_and_what_to_check():
    advice = content.render("utter_fraud_advice_guided_operation")
    assert "自动撤回" in advice and "商户" in advice and "看钱有没有退回" in advice


@pytest.mark.parametrize("text", every_text())
def test_a_reversal_time_is_the_usual_one_and_what_to_do_after_the_window(text):
    assert "视发卡行而定" not in text
    assert "最晚" + FACTS["reversal_max"] not in text and "最迟" + FACTS["reversal_max"] not in text
    if FACTS["reversal_max"] in text and "冲正" in text:
        assert "联系" in text[text.index(FACTS["reversal_max"]):], "after the window: who to contact"


def test_the_reversed_transaction_states_the_usual_time_and_the_next_step():
    text = content.render("utter_transaction_reversed", reference_number="X", transaction_time="X",
                          transaction_amount="X")
    assert f"通常{FACTS['reversal_usual']}" in text and f"过了{FACTS['reversal_max']}还没看到退款" in text


def test_the_fee_is_not_said_to_be_set_by_the_state():
    text = content.render("utter_ask_apply_pos")
    assert "费率按国家规定" not in text
    assert "持卡人不付手续费" in text and "收单机构" in text and "发卡行服务费" in text
    assert "debit_fee_typical" not in FACTS


def test_binding_is_only_offered_on_wechat():
    for name in ("utter_sign_in_needed", "utter_sign_in_needed_again"):
        assert "绑定" in content.render(name, output_channel="wechat"), name
        for channel in (None, "rest", "socketio"):
            assert "绑定" not in content.render(name, output_channel=channel), (name, channel)
    assert "本公众号" in content.render("utter_sign_in_needed", output_channel="wechat")


@pytest.mark.parametrize("channel, bound", [("wechat", True), ("socketio", False), ("rest", False)])
def test_the_sign_in_answer_follows_the_users_channel(channel, bound, dispatcher):
    tracker = make_tracker({"card_tail": "1234"}, identity=None,
                           events=[{"event": "user", "text": "查卡", "input_channel": channel}])
    run(ActionCheckAccountStatus(), dispatcher, tracker)
    assert ("公众号" in dispatcher.messages[0]["text"]) is bound


def test_rasa_picks_the_wechat_variant_on_wechat_only():
    from rasa.shared.core.trackers import DialogueStateTracker

    domain, generator = rasa_generator()
    tracker = DialogueStateTracker("t", domain.slots)
    for channel, bound in (("wechat", True), ("rest", False), ("socketio", False)):
        text = asyncio.run(generator.generate("utter_sign_in_needed", tracker, channel))["text"]
        assert ("公众号" in text) is bound, channel
        assert text == content.render("utter_sign_in_needed", output_channel=channel)


STATE_NAMES = re.compile(r"normal|frozen|insufficient|limit_reached|expired|reported_lost|dormant|closed")


@pytest.mark.parametrize("state", ["normal", "frozen", "insufficient", "limit_reached", "expired", "reported_lost",
                                   "dormant", "closed"])
def test_no_card_answer_shows_a_back_office_state_name(state):
    answer = card_answer(card(state), "1234", Decimal("100.00"))
    assert not STATE_NAMES.search(said(answer)), said(answer)
    assert not STATE_NAMES.search(answer.outcome), answer.outcome


def test_no_card_response_names_the_raw_state():
    for name, variants in content.responses().items():
        if name.startswith("utter_card_"):
            assert all("{card_state}" not in (v.get("text") or "") for v in variants), name


# First use of a trade word: a plain-words explanation close by (before or after it).
GLOSSES = {"冲正": "撤回", "差错处理": "纠正", "退汇": "退回", "T+1": "下一个工作日", "签到": "登录"}


@pytest.mark.parametrize("text", every_text())
def test_trade_words_are_explained_where_first_said(text):
    for word, gloss in GLOSSES.items():
        if word in text:
            first = text.index(word)
            near = text[max(0, first - 20): first + len(word) + 20]
            assert gloss in near, f"{word!r} without {gloss!r} near it: {near!r}"


@pytest.mark.parametrize("state", ["chargeback_pending", "unknown", "held_for_review"])
def test_a_transaction_state_without_its_own_answer_is_said_in_words(state):
    """The back office's name for a state ("chargeback_pending") never reaches the user or the case record."""
    from decimal import Decimal

    from actions.answers import transaction_answer
    from actions.backoffice.records import Transaction
    from xiaoan.content import render

    txn = Transaction(reference_number="202611250099", state=state, amount=Decimal("10.00"), card_tail="1234",
                      terminal_id="10000001", time="2026-11-25 09:12", payee_bank="中国工商银行", owner="C0001")
    answer = transaction_answer(txn, "202611250099")
    said = render(answer.response, **answer.values)
    assert state not in said and state not in answer.outcome and "不要重复付款" in said

"""Issue 19: the ways people actually write a card number, a PIN or a code, tried on every consumer.

A security review found card numbers with two spaces between groups or in
Chinese numerals, and spaced PINs, stored and shown to staff unmasked. Each
row below is one realistic message; the secret's digits must appear in none
of what 小安 keeps or shows: the ingress's text (typed and normalised), the
tracker store's rows, the JSON log line, the staff console's transcript and
its NLU and story exports. `HONEST` rows are not secrets and must pass
through untouched: a masked terminal id or reference number breaks lookups.
"""
from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import unicodedata

import pytest
import yaml
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from console.transcripts import Conversation, Transcripts, nlu_yaml, stories_yaml
from tests.helpers import json_log_of
from xiaoan.runtime.ingress import admit, admitted_facts
from xiaoan.runtime.tracker_store import MaskingSQLTrackerStore
import xiaoan.text.masking as masking
from xiaoan.text.masking import luhn_valid, mask_secrets, mask_text

C16 = "6222021234567894"  # Luhn-valid UnionPay-like
C19 = "6222021234567890128"  # Luhn-valid, 19 digits
AMEX = "378282246310005"  # Luhn-valid, 15 digits
V13 = "4532015112830"  # Luhn-valid, 13 digits
PIN = "135792"
CODE = "482913"
CVV = "321"

_CHINESE = dict(zip("零〇一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖", "00123456789121234567 89".replace(" ", "")))


def digits_of(text: str) -> str:
    """Every digit a reader could recover from `text`, in order: ASCII, full-width, Chinese numerals."""
    out = []
    for ch in text:
        if ch in _CHINESE:
            out.append(_CHINESE[ch])
        elif ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
    return "".join(out)


def leaked(secret: str, kind: str, text: str) -> bool:
    """A card leaks if its issuer part or its account part can be read (its last 4 are kept on purpose);
    a PIN, CVV or code if any two of its digits in a row can be read."""
    found = digits_of(text)
    if kind == "card":
        return secret[:6] in found or secret[6:-4] in found
    return any(secret[i:i + 2] in found for i in range(len(secret) - 1))


# (id, message, secret, kind). Rows marked today=ok were already masked before issue 19.
SECRETS = [
    # card numbers
    ("card_plain", f"我的卡号{C19}转不了", C19, "card"),
    ("card_one_space", "卡号 6222 0212 3456 7894", C16, "card"),
    ("card_two_spaces", "卡号6222  0212  3456  7894 转账失败", C16, "card"),
    ("card_ideographic_space", "卡号6222\u30000212\u30003456\u30007894", C16, "card"),
    ("card_dots", "卡号6222.0212.3456.7894", C16, "card"),
    ("card_slashes", "6222/0212/3456/7894 这张卡转账失败", C16, "card"),
    ("card_dashes", "卡号6222-0212-3456-7894", C16, "card"),
    ("card_underscores", "6222_0212_3456_7894刷不了", C16, "card"),
    ("card_newlines", "卡号\n6222\n0212\n3456\n7894", C16, "card"),
    ("card_crlf", "卡号:\r\n6222 0212\r\n3456 7894", C16, "card"),
    ("card_tabs", "卡号\t6222\t0212\t3456\t7894", C16, "card"),
    ("card_commas", "卡号6222,0212,3456,7894", C16, "card"),
    ("card_fullwidth_commas", "卡号6222，0212，3456，7894", C16, "card"),
    ("card_fullwidth_digits", "卡号６２２２０２１２３４５６７８９４", C16, "card"),
    ("card_fullwidth_spaced", "卡号６２２２　０２１２　３４５６　７８９４", C16, "card"),
    ("card_chinese", "卡号六二二二零二一二三四五六七八九四", C16, "card"),
    ("card_chinese_spaced", "卡号 六二二二 零二一二 三四五六 七八九四", C16, "card"),
    ("card_chinese_yao_liang", "卡号六两两两〇两幺两三四五六七八九四", C16, "card"),
    ("card_daxie", "卡号陆贰贰贰零贰壹贰叁肆伍陆柒捌玖肆", C16, "card"),
    ("card_mixed", "卡号6222 零二一二 3456 七八九四", C16, "card"),
    ("card_traditional", "卡號 6222  0212  3456  7894", C16, "card"),
    ("card_no_keyword_luhn", "帮我查下 6222 0212 3456 7894 这张", C16, "card"),
    ("card_19_six_thirteen", "622202 1234567890128 转不出去", C19, "card"),
    ("card_19_chinese_then_word", "卡号六二二二零二一二三四五六七八九零一二八一直转不了", C19, "card"),
    ("card_amex_15", "帮我查 378282246310005 怎么没到账", AMEX, "card"),
    ("card_amex_spaced", "信用卡 3782 822463 10005", AMEX, "card"),
    ("card_visa_13", "卡 4532 0151 12830 刷卡失败", V13, "card"),
    ("card_then_amount", "卡号6222 0212 3456 7894 转3500元失败", C16, "card"),
    ("card_escaped_newlines", "卡号 6222\\n0212\\n3456\\n7894", C16, "card"),
    # PINs
    ("pin_plain", f"密码是{PIN}", PIN, "pin"),
    ("pin_spaced", "密码是 1 3 5 7 9 2", PIN, "pin"),
    ("pin_two_spaces", "支付密码 135  792", PIN, "pin"),
    ("pin_dots", "取款密码1.3.5.7.9.2", PIN, "pin"),
    ("pin_dash", "密码 135-792 对吗", PIN, "pin"),
    ("pin_newlines", "密码\n1\n3\n5\n7\n9\n2", PIN, "pin"),
    ("pin_fullwidth", "密码：１３５７９２", PIN, "pin"),
    ("pin_fullwidth_spaced", "密码：１　３　５　７　９　２", PIN, "pin"),
    ("pin_chinese", "我的密码是一三五七九二", PIN, "pin"),
    ("pin_chinese_yao_liang", "密码幺三五七九两", PIN, "pin"),
    ("pin_daxie", "密码壹叁伍柒玖贰", PIN, "pin"),
    ("pin_mixed", "密码1三5七9二你看看", PIN, "pin"),
    ("pin_latin", "PIN: 1357 92", PIN, "pin"),
    ("pin_before", "1 3 5 7 9 2 是我的密码", PIN, "pin"),
    ("pin_traditional", "密碼是 1 3 5 7 9 2", PIN, "pin"),
    ("pin_told", "密码我告诉你是135792", PIN, "pin"),
    ("pin_quoted", "支付密码“135792”", PIN, "pin"),
    # CVV
    ("cvv_plain", f"cvv {CVV}", CVV, "cvv"),
    ("cvv_spaced", "CVV2：3 2 1", CVV, "cvv"),
    ("cvv_chinese", "安全码是三二一", CVV, "cvv"),
    ("cvv_back", "卡背面三位是 3 2 1", CVV, "cvv"),
    # verification codes
    ("code_plain", f"验证码{CODE}", CODE, "code"),
    ("code_spaced", "验证码 4 8 2 9 1 3", CODE, "code"),
    ("code_split", "短信验证码：482 913", CODE, "code"),
    ("code_chinese", "动态码 四八二九一三", CODE, "code"),
    ("code_dashes", "校验码4-8-2-9-1-3", CODE, "code"),
    ("code_fullwidth_spaced", "验证码是：４８２　９１３", CODE, "code"),
    ("code_before_spaced", "482 913 是验证码", CODE, "code"),
    ("code_mixed", "收到的验证码是 4８2九1三", CODE, "code"),
    ("code_then_amount", "验证码 482913 转账3500元", CODE, "code"),
    ("code_slashes", "验证码 48/29/13", CODE, "code"),
    ("code_sms_pasted", "【XX银行】您的验证码482913 10分钟内有效", CODE, "code"),
    ("code_told_scammer", "他让我报验证码，我报了482913", CODE, "code"),
]

# Not secrets: each must come through exactly as typed.
HONEST = [
    "转账3500元失败了",
    "金额1,280.50元,还是3,500.00元?",
    "尾号1234的卡转不了",
    "终端号10000002",
    "参考号202611250001",
    "错误码51",
    "返回码 05",
    "打了95588和95516都没人接",
    "客服电话400-820-8820",
    "2026-11-25 13:40转的",
    "2026/11/25 13:40:05 刷的卡",
    "三千五百元没到账",
    "两千块钱一直没到",
    "终端号 10000002 参考号 202611250001",
    "参考号202611250001 3500元",
    "10000002 202611250001",
    "参考号 2026 1125 0001",
    "终端号10000002 密码错误",
    "尾号1234 密码输错了三次",
    "密码输错了3次",
    "验证码60秒后重发",
    "验证码120秒后重发",
    "支付密码是6位吗",
    "交易时间2026.11.25 13:40 金额3,500.00",
    "手机 138 1234 5678",
    "第一笔3500第二笔1280",
    "卡号尾号1234，终端号10000002，参考号202611250001，错误码51，金额3500元",
    "shopping 1234 spin 5678",
    "一直转不了，两次都失败，三位数的错误码",
]


def test_the_card_numbers_are_real_card_numbers():
    assert all(luhn_valid(card) for card in (C16, C19, AMEX, V13))
    assert not luhn_valid("202611250001 3500".replace(" ", ""))  # this row of HONEST is no card by Luhn either


@pytest.mark.parametrize("case_id, text, secret, kind", SECRETS, ids=[row[0] for row in SECRETS])
def test_mask_text_hides_every_spelling(case_id, text, secret, kind):
    result = mask_secrets(text)
    assert not leaked(secret, kind, result.text), result.text
    assert len(result.text) == len(text)
    assert result.found, "a secret was masked, so the warning must be given"
    assert mask_text(result.text) == result.text  # masking what is stored changes nothing more


@pytest.mark.parametrize("text", HONEST)
def test_honest_identifiers_and_amounts_survive(text):
    assert mask_text(text) == text
    assert not mask_secrets(text).found


def test_a_card_keeps_its_real_tail_and_what_follows_it():
    result = mask_secrets("卡号六二二二零二一二三四五六七八九零一二八一直转不了")
    assert result.card_tails == ["0128"] and result.text.endswith("零一二八一直转不了")
    assert mask_text("卡号6222 0212 3456 7894 转3500元失败").endswith("7894 转3500元失败")
    assert mask_text("验证码 482913 转账3500元") == "验证码 ****** 转账3500元"


@pytest.mark.parametrize("case_id, text, secret, kind", SECRETS, ids=[row[0] for row in SECRETS])
def test_ingress_stores_and_classifies_no_secret(case_id, text, secret, kind):
    message = admit(UserMessage(text, sender_id="u"))
    facts = admitted_facts(message.metadata)
    assert not leaked(secret, kind, message.text), message.text
    assert not leaked(secret, kind, facts["text"]), facts["text"]
    assert facts["secrets_masked"]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return tmp_path_factory.mktemp("attacks") / "tracker.db"


@pytest.mark.parametrize("case_id, text, secret, kind", SECRETS, ids=[row[0] for row in SECRETS])
def test_tracker_store_writes_no_secret(store_path, case_id, text, secret, kind):
    """The last line: an event no ingress saw (posted through the HTTP API, echoed by the bot)."""
    store = MaskingSQLTrackerStore(db=str(store_path), dialect="sqlite")
    tracker = DialogueStateTracker.from_events(case_id, [
        ActionExecuted("action_listen"),
        UserUttered(text, {"name": "inform", "confidence": 0.9}, parse_data={"text": text}),
        BotUttered(f"您发的是：{text}"),
    ])
    asyncio.run(store.save(tracker))
    with sqlite3.connect(store_path) as raw:
        rows = [json.loads(r[0]) for r in raw.execute("SELECT data FROM events WHERE sender_id = ?", (case_id,))]
    stored = [r.get("text") or "" for r in rows] + [(r.get("parse_data") or {}).get("text") or "" for r in rows]
    assert all(not leaked(secret, kind, s) for s in stored), stored


def _log_line(emit) -> str:
    return json_log_of(emit, "xiaoan.test.attacks")


@pytest.mark.parametrize("case_id, text, secret, kind", SECRETS, ids=[row[0] for row in SECRETS])
def test_json_log_lines_hold_no_secret(case_id, text, secret, kind):
    as_text = _log_line(lambda lg: lg.info("Received user message '%s'", text))
    as_repr = _log_line(lambda lg: lg.debug("parse data %s", {"text": text, "intent": {"name": "inform"}}))
    for line in (as_text, as_repr):
        message = json.loads(line)["message"]
        assert not leaked(secret, kind, message), message


def _rows(case_id: str, text: str) -> list:
    return [
        {"event": {"event": "action", "name": "action_listen", "timestamp": 1.0}},
        {"event": {"event": "user", "timestamp": 2.0, "text": text, "input_channel": "rest",
                   "parse_data": {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": []}}},
        {"event": {"event": "bot", "timestamp": 3.0, "text": f"您发的是：{text}"}},
    ]


@pytest.mark.parametrize("case_id, text, secret, kind", SECRETS, ids=[row[0] for row in SECRETS])
def test_console_shows_and_exports_no_secret_even_from_rows_stored_before_the_fix(case_id, text, secret, kind):
    """Rows a build before issue 19 stored unmasked are masked when the console reads them."""
    conversation = Conversation.from_rows(case_id, _rows(case_id, text))
    shown = [m.as_json()["text"] for m in conversation.messages]
    story = yaml.safe_load(stories_yaml([conversation.story(f"reviewed {case_id}", {})]))["stories"][0]
    exported = yaml.safe_load(nlu_yaml([{"text": text, "intent": "inform"}]))["nlu"][0]["examples"]
    for seen in shown + [step["user"] for step in story["steps"] if "user" in step] + [exported]:
        assert not leaked(secret, kind, seen), seen


def test_console_reads_back_what_the_store_wrote_masked(store_path):
    store = MaskingSQLTrackerStore(db=str(store_path), dialect="sqlite")
    tracker = DialogueStateTracker.from_events("end-to-end", [ActionExecuted("action_listen")] + [
        UserUttered(text, {"name": "inform", "confidence": 0.9}) for _, text, _, _ in SECRETS])
    asyncio.run(store.save(tracker))
    conversation = Transcripts(f"sqlite:///{store_path}").conversation("end-to-end")
    shown = [m.text for m in conversation.user_messages()]
    story = yaml.safe_load(stories_yaml([conversation.story("reviewed", {})]))["stories"][0]
    in_story = [step["user"] for step in story["steps"] if "user" in step]
    assert len(shown) == len(in_story) == len(SECRETS)
    for (_, _, secret, kind), seen, exported in zip(SECRETS, shown, in_story):
        assert not leaked(secret, kind, seen) and not leaked(secret, kind, exported), seen


@pytest.mark.parametrize("text", ["终端号10000002 参考号202611250001 金额3500元", "尾号1234 错误码51"])
def test_console_keeps_honest_identifiers(text):
    conversation = Conversation.from_rows("c", _rows("c", text))
    assert conversation.messages[0].text == text
    assert text in nlu_yaml([{"text": text, "intent": "inform"}])


HOSTILE = ["1 " * 10000, "密码" * 10000, "密码是 " * 5000, "1." * 10000, "一二" * 10000, "\\u3000" * 3333,
           "卡号 " * 5000, "1\\n" * 6667, "6" * 20000, "1 是密码" * 4000, "\\" * 20000, " " * 20000]


@pytest.mark.parametrize("filler", HOSTILE, ids=range(len(HOSTILE)))
def test_long_hostile_input_is_read_to_its_end(filler):
    """20,000 characters built to make a pattern backtrack: the secret at the end is still found, the length kept.
    (Linear time is by construction, see the next test; timing is not asserted here.)"""
    text = filler + " 转账失败 密码是 1 3 5 7 9 2"
    result = mask_secrets(text)
    assert len(result.text) == len(text) and result.text.endswith(" 转账失败 密码是 * * * * * *")


def test_long_honest_input_is_left_alone():
    text = "终端号10000002 参考号202611250001 尾号1234 金额3,500.00元 2026-11-25 13:40\n" * 300
    assert mask_text(text) == text


def test_no_pattern_repeats_a_group():
    """Only single characters or character classes are repeated, and only where bounded or followed by a
    fixed text: no nested or unbounded repetition of a group, the shape that backtracks without end."""
    patterns = [v for v in vars(masking).values() if isinstance(v, re.Pattern)]
    assert len(patterns) >= 8
    for pattern in patterns:
        assert not re.search(r"\)(?:[+*]|\{\d*,\})", pattern.pattern), pattern.pattern

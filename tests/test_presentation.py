"""Answers a phone can read (issue 20): every response as each channel shows it.

A phone at 390 px shows a chat bubble about 16 Chinese characters wide and, under the page's header and
the input box, about 22 lines high. Every response of domain.yml (every variant, with the facts and the
longest realistic values), and the messages the actions join from several responses (the fraud warning
with its three longest lines of advice, a ticket summary with every field, a code explained with its
invitation, the steps without a look-up) is checked as:

* the chat page: Rasa's socket.io output makes each blank-line-separated part a bubble; the widget renders
  Markdown, so `channels.webchat_format` keeps every line (hard breaks) and escapes what Markdown would
  read as formatting. No bubble longer than a phone screen; a first bubble of at most three sentences
  when steps follow; steps one per line, never run together (①②③ inside a sentence);
* WeChat: plain text, the same lines, within the passive reply's size;
* REST and the console: the text as written (the console's transcript keeps line breaks: pre-wrap);
* characters every phone font has: no emoji, no symbol whose meaning needs an emoji font.
"""
from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from actions.fraud_warning import fraud_warning_parts
from channels.webchat_format import HARD_BREAK, as_markdown
from channels.wechat_format import utf8_len
from xiaoan import content
from xiaoan.text.fraud import URGENT_KINDS

ROOT = Path(__file__).resolve().parents[1]
PHONE_CHARS_PER_LINE = 16  # Chinese characters in one line of a bubble at 390 px (85 % width, 16 px font)
PHONE_LINES_PER_SCREEN = 22  # lines of a bubble that fit between the page's header and its input box
FIRST_BUBBLE_SENTENCES = 3
WECHAT_MAX_BYTES = 2048

# The longest realistic value of every placeholder that is not a fact (facts come from content/facts.yml).
SAMPLES: Dict[str, str] = {
    "ahead": "3", "amount": "50,000.00", "balance": "120.00", "bank": "中国邮政储蓄银行", "bank_hotline": "95580",
    "bank_name": "中国邮政储蓄银行", "card_bank": "中国邮政储蓄银行", "card_note": "风控冻结", "card_tail": "1234",
    "created_at": "2026-12-06 10:00", "daily_limit": "50,000.00", "error_code": "51", "field": "卡号后四位",
    "hotline": "中国工商银行官方客服电话95588", "hours": "24", "max_chars": "1000", "max_kb": "8",
    "merchant": "示例五金店", "minutes": "15", "note": "已联系发卡行，退款三个工作日内到账", "number": "1",
    "offline_for": "已经离线2小时", "outcome": "处理中", "payee_bank": "中国邮政储蓄银行", "payee_hotline": "95580",
    "reference_number": "202611250003", "secrets": "完整卡号、卡背面的CVV安全码", "staff_id": "S001",
    "steps": "查询卡片状态（冻结）；查询交易（处理中）", "symptom": "显示失败但扣了钱", "terminal_id": "10000002",
    "text": "您好，已帮您查到这笔交易", "ticket_id": "XA20261206000001", "time": "2026-12-06 10:00",
    "title": "登记工单", "transaction_amount": "20,000.00", "transaction_time": "2026-12-06 10:00",
    "url": "https://example.bank/xiaoan", "wait_until": "2026-12-07 10:00（北京时间）", "when": "明天9:00以后",
    "code_meaning": "余额不足", "code_cause": "卡内可用余额或信用额度不够支付这笔交易。",
    "code_advice": "请持卡人换一张卡，或存入资金后再试；没有扣款，不需要冲正。",
}


def _values() -> Dict[str, str]:
    known = {**content.values(), **SAMPLES}
    known["escalation"] = content.fill(_first_text("utter_transaction_escalation"), known)
    return known


def _first_text(name: str) -> str:
    return str(content.responses()[name][0].get("text") or "")


def each_variant() -> Iterator[Tuple[str, str]]:
    """(label, text as rendered) of every variant of every response."""
    known = _values()
    for name, variants in content.responses().items():
        for index, variant in enumerate(variants):
            text = str(variant.get("text") or "")
            if text:
                yield f"{name}[{index}]", content.fill(text, known)


def joined_messages() -> Iterator[Tuple[str, str]]:
    """The longest messages the actions join from several responses."""
    known = _values()

    def join(*names: str, sep: str = "\n") -> str:
        return sep.join(content.fill(_first_text(name), known) for name in names)

    advice = sorted(URGENT_KINDS, key=lambda kind: -len(_first_text(f"utter_fraud_advice_{kind}")))[:3]
    warning = fraud_warning_parts([*advice, "impersonation_service"])
    yield "fraud warning, three longest lines", join(*warning[:-1]) + "\n\n" + join(warning[-1])
    ticket = ["utter_ticket_created", "utter_ticket_symptom", "utter_ticket_amount", "utter_ticket_card_tail",
              "utter_ticket_terminal_id", "utter_ticket_reference_number", "utter_ticket_bank", "utter_ticket_steps"]
    yield "ticket summary, every field", join(*ticket)
    yield "code explained + invitation", join("utter_code_explained", "utter_code_check_transaction")
    for kind in ("account", "terminal", "transaction"):
        yield f"no look-up: {kind}", join("utter_sign_in_needed", f"utter_no_lookup_steps_{kind}", sep="\n\n")


ALL = list(each_variant()) + list(joined_messages())
IDS = [label for label, _ in ALL]


def bubbles(text: str) -> List[str]:
    """The chat page's bubbles: Rasa's socket.io output splits a message at each blank line."""
    return [part for part in text.strip().split("\n\n") if part.strip()]


def width(line: str) -> float:
    """A line's width in Chinese characters (Latin letters and digits are about half as wide)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55 for ch in line)


def phone_lines(bubble: str) -> int:
    return sum(max(1, math.ceil(width(line) / PHONE_CHARS_PER_LINE)) for line in bubble.split("\n"))


STEP = re.compile(r"^\d+\. ")
# A list inside a sentence: circled numbers, "；2." / "：1、" after a clause, or "（1）…（2）".
RUN_TOGETHER = re.compile(r"[①-⑳]|[；;。：:！？]\s*[1-9][.、)）](?!\d)|（[1-9]）.*（[2-9]）")
SENTENCE_END = re.compile(r"[。！？!?]")


@pytest.mark.parametrize("label, text", ALL, ids=IDS)
def test_no_bubble_is_longer_than_a_phone_screen(label, text):
    for bubble in bubbles(text):
        assert phone_lines(bubble) <= PHONE_LINES_PER_SCREEN, (label, phone_lines(bubble), bubble[:40])


@pytest.mark.parametrize("label, text", ALL, ids=IDS)
def test_steps_are_one_per_line_never_run_together(label, text):
    for line in text.split("\n"):
        assert not RUN_TOGETHER.search(line), (label, line[:60])


@pytest.mark.parametrize("label, text", ALL, ids=IDS)
def test_the_answer_comes_first_in_at_most_three_sentences(label, text):
    parts = bubbles(text)
    if len(parts) > 1 and any(STEP.match(line) for part in parts[1:] for line in part.split("\n")):
        assert len(SENTENCE_END.findall(parts[0])) <= FIRST_BUBBLE_SENTENCES, (label, parts[0][:60])


def _needs_emoji_font(ch: str) -> bool:
    code = ord(ch)
    return (0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x2B00 <= code <= 0x2BFF
            or code in (0xFE0F, 0x200D, 0x20E3) or 0x2460 <= code <= 0x24FF)


@pytest.mark.parametrize("label, text", ALL, ids=IDS)
def test_every_character_is_in_every_phone_font(label, text):
    assert not [ch for ch in text if _needs_emoji_font(ch)], label


@pytest.mark.parametrize("label, text", ALL, ids=IDS)
def test_the_chat_page_shows_every_line_as_written(label, text):
    for bubble in bubbles(text):
        markdown = as_markdown(bubble)
        lines = bubble.strip().split("\n")
        assert markdown.count(HARD_BREAK) == len(lines) - 1, label  # one hard break per line break
        assert not re.search(r"(?<!\\)[*_`\[\]]", markdown), label  # nothing Markdown reads as formatting
        assert not re.search(r"(^|\n)\d+\.", markdown), label  # "1." is text, not a Markdown list


@pytest.mark.parametrize("label, text", ALL, ids=IDS)
def test_wechat_gets_the_same_lines_within_its_size(label, text):
    assert utf8_len(text) <= WECHAT_MAX_BYTES, label


def test_markdown_escapes_a_masked_card_number_and_a_step_marker():
    assert as_markdown("卡号***************0123\n1. 第一步\n2. 第二步") == \
        "卡号\\*\\*\\*\\*\\*\\*\\*\\*\\*\\*\\*\\*\\*\\*\\*0123  \n1\\. 第一步  \n2\\. 第二步"


def test_the_console_transcript_keeps_line_breaks():
    css = (ROOT / "console" / "static" / "console.css").read_text(encoding="utf-8")
    assert re.search(r"\.msg \.text\s*\{[^}]*white-space:\s*pre-wrap", css)


def test_the_long_answers_now_have_steps_on_their_own_lines():
    """The answers the review found as one paragraph: the terminal's, the duplicate debit's, the card's."""
    for name in ("utter_terminal_offline", "utter_terminal_fault_intro", "utter_transaction_duplicate_debit",
                 "utter_card_normal", "utter_ask_prevention"):
        text = content.fill(_first_text(name), _values())
        assert len(bubbles(text)) >= 2 and sum(bool(STEP.match(line)) for line in text.split("\n")) >= 2, name

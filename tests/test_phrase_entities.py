"""Sums of money and bank names found by pattern and lookup (xiaoan/text/money.py, banks.py)."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.phrase_entities import PhraseEntityExtractor
from xiaoan.text.banks import find_banks
from xiaoan.text.money import find_amounts
from xiaoan.text.normalize import normalize_text


def amounts(text: str) -> list:
    return [span for _, _, span in find_amounts(normalize_text(text))]


def banks(text: str) -> list:
    return [span for _, _, span in find_banks(normalize_text(text))]


@pytest.mark.parametrize("text, expected", [
    ("刷了3500元没成功", ["3500元"]),
    ("金额三千五", ["三千五"]),
    ("转了两千块过去", ["两千块"]),
    ("对方说1.2万没收到", ["1.2万"]),
    ("付¥1,280.50失败", ["¥1,280.50"]),
    ("一万二转不出去", ["一万二"]),
    ("扣了6800块钱", ["6800块钱"]),
    ("应该付1,500元,打成了15,000元", ["1,500元", "15,000元"]),
    ("连接超时，960元的交易没成", ["960元"]),
    ("过半小时再转8000会不会还失败", ["8000"]),
])
def test_sums_as_typed_with_their_unit(text, expected):
    assert amounts(text) == expected


@pytest.mark.parametrize("text", [
    "下午3点刷的卡", "在4s店付定金", "密码键盘上的5键掉了", "我把6看成了8", "都十来分钟了",
    "尾号5678", "终端号10000002", "参考号202611250002", "提示51", "有人说费率0.38", "刷卡返回90",
    "卡里就剩一百多",
])
def test_times_counts_keys_and_identifiers_are_not_sums(text):
    assert amounts(text) == []


@pytest.mark.parametrize("text, expected", [
    ("我的建行卡被冻结了", ["建行"]),
    ("对方是浙商银行的，今晚在升级系统", ["浙商银行"]),
    ("把收款行选成了中信，其实对方是光大的", ["中信", "光大"]),
    ("转给农商行的钱没到", ["农商行"]),
    ("ICBC的卡刷不了", ["icbc"]),
    ("老板说刷不了，平安的", ["平安"]),
    ("民生那边的人工热线我找不到", ["民生"]),
])
def test_banks_by_name_or_short_form(text, expected):
    assert banks(text) == expected


@pytest.mark.parametrize("text", ["好人一生平安", "ren工客服", "转个人工行吗", "出了交通事故", "abcd", "对方银行在维护"])
def test_everyday_words_are_not_banks(text):
    assert banks(text) == []


def test_the_extractor_marks_spans_of_the_message_text():
    message = Message.build(text="给建行卡转了3500元失败")
    [out] = PhraseEntityExtractor().process([message])
    found = [(e["entity"], e["value"], e["start"], e["end"]) for e in out.get("entities")]
    assert found == [("bank", "建行", 1, 3), ("amount", "3500元", 6, 11)]

"""Where a message names a sum of money: spans for the `amount` entity, found by pattern and context.

Why rules and not a learned tagger: the sums people type have a small grammar
(`xiaoan.text.amounts` already reads every form), and what tells a sum from a
time, a count or a key on the keypad is the character next to it (3点, 4s店,
5键, 三次). DIET learnt this from a few hundred examples and still took
single digits for sums and missed 1,500元; a pattern that knows the grammar
and the neighbours does not need TensorFlow to run.

The span is the whole money expression as typed, with its ¥ sign and unit word
(docs/nlu_conventions.md): `¥1,280.50`, `三千五`, `两千块`, `1.2万`, `6800块钱`.
"""
from __future__ import annotations

import re
from typing import Iterator, Tuple

from xiaoan.text.amounts import parse_amount

_CN_DIGIT = "零〇一幺二两三四五六七八九"
_CN_UNIT = "十拾百佰千仟"
_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CHINESE = rf"[{_CN_DIGIT}{_CN_UNIT}]+(?:[万亿][{_CN_DIGIT}{_CN_UNIT}]*)?"
_MIXED = rf"\d+(?:\.\d+)?[万千kw](?:\d+[千]?|[{_CN_DIGIT}{_CN_UNIT}]+)?"
_UNIT = r"(?:万元|块钱|元|块|圆)"
_PREFIX = r"(?:¥|￥|人民币|rmb)"
AMOUNT = re.compile(
    rf"(?P<pre>{_PREFIX}\s*)?(?P<num>{_MIXED}|{_ARABIC}|{_CHINESE})(?P<unit>{_UNIT})?"
)
# A number followed by one of these counts, times or names something else (3点, 4s店, 三次, 5键).
_NOT_MONEY_AFTER = re.compile(
    r"^(?:多|来|点|号|次|遍|天|日|月|年|个|位|分钟|分|小时|秒|s|店|楼|路|岁|%|键|张|台|笔|条|趟|周|星期|倍|折|米|公里|g|m|k?b|下|声|行|遍)"
)
# Before these a bare number is an identifier or a code, never a sum.
_NOT_MONEY_BEFORE = re.compile(
    r"(?:(?:尾号|尾数|后四位|后4位|wei号)\D{0,6}|尾号|尾数|号码|卡号|终端号|参考号|流水号|码|代码|提示|显示|打|拨|热线|电话|跳了个|出现|报|返回|开头是?|乘以?|加|减|除以?|等于|费率)\s*$"
)
# A two-digit number is a sum only right after a verb of paying (付了88, 金额是50).
_MONEY_VERB = re.compile(r"(?:付|扣|转|花|交|充|存|取|汇|金额)(?:了|是|为|的)?$")
_IDENTIFIER_LENGTHS = {8, 12}


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def is_money(text: str, start: int, end: int, number: str, has_unit: bool) -> bool:
    """Whether the number at text[start:end] is a sum by its neighbours and its own form."""
    after, before = text[end:], text[:start]
    if has_unit:
        return True
    if _NOT_MONEY_AFTER.match(after) or _NOT_MONEY_BEFORE.search(before):
        return False
    arabic = _digits(number)
    if any(unit in number for unit in "万千kw亿") or any(unit in number for unit in _CN_UNIT):
        return parse_amount(number) is not None
    if not arabic or arabic != number.replace(",", "").replace(".", ""):
        return False  # a lone Chinese digit (一, 两): a count, not a sum
    if len(arabic) in _IDENTIFIER_LENGTHS or len(arabic) >= 16 or (start > 0 and text[start - 1].isalpha() and text[start - 1].isascii()):
        return False
    if "." in number and number.startswith("0"):
        return False  # 0.38: a rate
    if len(arabic) >= 3:
        return True
    return len(arabic) == 2 and bool(_MONEY_VERB.search(before))


def find_amounts(text: str) -> Iterator[Tuple[int, int, str]]:
    """(start, end, span) of every sum in normalised (half-width, lower-case) text."""
    for match in AMOUNT.finditer(text):
        start, end = match.span()
        if start > 0 and (text[start - 1].isdigit()
                          or (text[start - 1] in ".," and start > 1 and text[start - 2].isdigit())):
            continue
        if end < len(text) and text[end].isdigit():
            continue
        number = match.group("num")
        has_unit = bool(match.group("pre") or match.group("unit"))
        if not is_money(text, start, end, number, has_unit):
            continue
        if parse_amount(match.group(0)) is None:
            continue
        yield start, end, match.group(0)

"""Money amounts as people type them, to a decimal in yuan.

Handles Arabic numbers with thousands separators (¥1,280.50), multipliers
(3.5万, 2k, 1.2w), Chinese numerals including the colloquial elided unit
(三千五 = 3500, 一万二 = 12000, 两百五 = 250), mixtures (3万5千, 3千5) and
块/元 followed by 角 digits (五块五 = 5.5).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from xiaoan.text.normalize import normalize_text

_DIGITS = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "k": 1000}
_BIG_UNITS = {"万": 10_000, "w": 10_000, "亿": 100_000_000}
_CURRENCY_NOISE = re.compile(r"(人民币|rmb|cny|¥|￥|\s|块钱|元整|整)")
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[零〇一幺二两三四五六七八九十拾百佰千仟万亿kw]|[元块圆角毛分]")
_MAX_AMOUNT = Decimal("1000000000000")


def _tokens(text: str) -> list[str] | None:
    """Split into number/unit tokens; None when anything else is left over."""
    pos, out = 0, []
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            return None
        out.append(m.group())
        pos = m.end()
    return out if pos == len(text) and out else None


def _number(token: str) -> Decimal | None:
    if token in _DIGITS:
        return Decimal(_DIGITS[token])
    if token[0].isdigit():
        try:
            return Decimal(token.replace(",", ""))
        except InvalidOperation:
            return None
    return None


def _evaluate(tokens: list[str]) -> Decimal | None:
    """Positional evaluation of numeral tokens with 十百千 / 万亿 sections."""
    total = section = Decimal(0)
    pending: Decimal | None = None
    last_unit: int | None = None
    fraction = Decimal(0)
    after_yuan: int | None = None  # digits after 元/块 count as 角 then 分
    seen_value = False
    for token in tokens:
        value = _number(token)
        if value is not None:
            if after_yuan is not None:
                fraction += value * (Decimal("0.1") if after_yuan == 0 else Decimal("0.01"))
                after_yuan += 1
                seen_value = True
                continue
            if pending is not None and token in _DIGITS and pending == 0:
                pending = value  # 零五 -> 5
            elif pending is not None:
                return None  # two numbers in a row, e.g. "12 34"
            else:
                pending = value
            seen_value = True
            if token == "零" or token == "〇":
                last_unit = None
            continue
        if token in _SMALL_UNITS:
            unit = _SMALL_UNITS[token]
            section += (pending if pending is not None else Decimal(1)) * unit
            pending, last_unit, seen_value = None, unit, True
        elif token in _BIG_UNITS:
            unit = _BIG_UNITS[token]
            section += pending or 0
            total = (total + section) * unit if unit > 10_000 or total == 0 else total + section * unit
            section, pending, last_unit = Decimal(0), None, unit
        elif token in ("元", "块", "圆"):
            after_yuan = 0 if pending is not None or section or total else None
            if after_yuan is None:
                return None
            section += pending or 0
            pending, last_unit = None, None
        elif token in ("角", "毛"):
            fraction += (pending or 0) * Decimal("0.1")
            pending = None
        elif token == "分":
            fraction += (pending or 0) * Decimal("0.01")
            pending = None
    if not seen_value:
        return None
    if pending is not None:
        if last_unit and last_unit >= 100 and pending < 10 and pending == pending.to_integral():
            pending *= Decimal(last_unit) / 10  # 三千五 -> 3000 + 500
        section += pending
    return total + section + fraction


def parse_amount(text: str | None) -> Decimal | None:
    """The amount in yuan, rounded to fen, or None when the text is not an amount."""
    if not text or len(text) > 64:
        return None
    cleaned = _CURRENCY_NOISE.sub("", normalize_text(text))
    cleaned = re.sub(r"(块|元|圆)$", "", cleaned)
    tokens = _tokens(cleaned)
    if tokens is None:
        return None
    try:
        value = _evaluate(tokens)
    except (InvalidOperation, ArithmeticError):
        return None
    if value is None or value <= 0 or value >= _MAX_AMOUNT:
        return None
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_amount(value: Decimal) -> str:
    """'3500.00' style, as the contract's slot values are written."""
    return f"{value:.2f}"

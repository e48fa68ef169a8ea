"""Mask secrets in user text before anything stores or classifies it.

Card numbers keep their last 4 digits (the contract keeps a card as its
tail); PINs, CVVs and verification codes are masked whole. Masking is
length-preserving, so entity offsets stay valid, and detection runs on the
normalised text, so full-width digits are caught too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from xiaoan.text.normalize import normalize_text

MASK = "*"

# A run of digits, optionally grouped by single spaces or dashes (6222 0212 3456 7890).
_DIGIT_RUN = re.compile(r"\d(?:[ \-]?\d)*")
_CARD_MIN_DIGITS = 16

_PIN_WORDS = r"(?:取款密码|支付密码|交易密码|银行卡密码|卡密码|密码|口令|pin码|pin)"
_CVV_WORDS = r"(?:cvv2|cvv|cvc|cvn2|cvn|安全码|卡背面?(?:的)?(?:后)?三位(?:数字?)?|背面三位(?:数字?)?)"
_CODE_WORDS = r"(?:短信验证码|验证码|校验码|动态码|动态密码|短信码|手机码|otp)"
_GAP = r"[\s:：=是为了就号码的,，]{0,6}"

_SECRET_AFTER = [
    ("pin", re.compile(_PIN_WORDS + _GAP + r"(\d{4,8})(?!\d)")),
    ("cvv", re.compile(_CVV_WORDS + _GAP + r"(\d{3,4})(?!\d)")),
    ("verification_code", re.compile(_CODE_WORDS + _GAP + r"(\d{4,8})(?!\d)")),
]
_SECRET_BEFORE = [
    ("pin", re.compile(r"(?<!\d)(\d{4,8})" + r"[\s,，]{0,2}(?:是|就是|为)?(?:我的|卡的)?" + _PIN_WORDS)),
    ("verification_code", re.compile(r"(?<!\d)(\d{4,8})" + r"[\s,，]{0,2}(?:是|就是|为)?(?:我的|收到的)?" + _CODE_WORDS)),
]


@dataclass
class MaskResult:
    """The masked text and which kinds of secret were found."""

    text: str
    found: set[str] = field(default_factory=set)
    card_tails: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.found)


def _mask_span(chars: list[str], start: int, end: int, keep_last_digits: int = 0) -> None:
    digit_positions = [i for i in range(start, end) if chars[i].isdigit() or chars[i] == MASK]
    to_mask = digit_positions[: max(0, len(digit_positions) - keep_last_digits)]
    for i in to_mask:
        chars[i] = MASK


def mask_secrets(text: str | None) -> MaskResult:
    """Mask full card numbers, PINs, CVVs and verification codes."""
    if not text:
        return MaskResult(text or "")
    probe = normalize_text(text)  # same length as text, ASCII digits
    chars = list(text)
    result = MaskResult(text)
    for m in _DIGIT_RUN.finditer(probe):
        digits = re.sub(r"\D", "", m.group())
        if len(digits) >= _CARD_MIN_DIGITS:
            result.found.add("card_number")
            result.card_tails.append(digits[-4:])
            _mask_span(chars, m.start(), m.end(), keep_last_digits=4)
    for kind, pattern in _SECRET_AFTER + _SECRET_BEFORE:
        for m in pattern.finditer(probe):
            result.found.add(kind)
            _mask_span(chars, m.start(1), m.end(1))
    result.text = "".join(chars)
    return result


def mask_text(text: str | None) -> str:
    """Shorthand for callers that only need the masked text (logs, stores)."""
    return mask_secrets(text).text

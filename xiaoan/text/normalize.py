"""Length-preserving normalisation of what users type.

Every step maps one character to one character, so entity offsets in the
training data and in parse results stay valid after normalisation.
"""
from __future__ import annotations

from functools import lru_cache

from opencc import OpenCC

# OpenCC's t2s maps 轉帳 to 转帐; banking Chinese writes 账.
_POST_FIXES = {"转帐": "转账", "帐户": "账户", "帐号": "账号", "到帐": "到账", "入帐": "入账"}


@lru_cache(maxsize=1)
def _converter() -> OpenCC:
    return OpenCC("t2s")


def to_half_width(text: str) -> str:
    """Full-width ASCII forms (U+FF01..U+FF5E) and the ideographic space to ASCII."""
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def to_simplified(text: str) -> str:
    """Traditional to Simplified, character by character where phrases would change length."""
    converted = _converter().convert(text)
    if len(converted) != len(text):
        converted = "".join(
            c if len(c := _converter().convert(ch)) == 1 else ch for ch in text
        )
    for wrong, right in _POST_FIXES.items():
        converted = converted.replace(wrong, right)
    return converted


def lower_latin(text: str) -> str:
    """Lower-case ASCII letters only (str.lower can change length for some scripts)."""
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in text)


def normalize_text(text: str | None) -> str:
    """The one normalisation every reader of user text applies first."""
    if not text:
        return ""
    return lower_latin(to_simplified(to_half_width(text)))

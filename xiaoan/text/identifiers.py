"""The structured identifiers of a POS case, found by context in normalised text.

One table of patterns serves the NLU extractor (which entity is where) and
the actions (is this slot value well formed), so both agree on what a
terminal id or a reference number looks like.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from xiaoan.text.normalize import normalize_text

# Patterns run on normalised text (half-width, simplified, lower-case Latin).
# Group "v" is the entity value. Lookarounds keep digit runs whole.
_ND = r"(?<![\d*])"  # not preceded by a digit or a mask star
_NA = r"(?!\d)"

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("card_number", re.compile(_ND + r"(?P<v>\*{8,15}\d{4}|\d{16,19})" + _NA)),
    ("reference_number", re.compile(_ND + r"(?P<v>\d{12})" + _NA)),
    ("terminal_id", re.compile(_ND + r"(?P<v>\d{8})" + _NA)),
    (
        "card_tail",
        re.compile(
            r"(?:尾号|尾数|末四位|后四位|后4位|卡号后|卡尾号?|尾巴|结尾是?|末尾|卡号是?\*+|\*{2,})"
            r"[\s:：是为的号码数字就]{0,4}(?P<v>\d{4})" + _NA
        ),
    ),
    (
        "error_code",
        re.compile(
            r"(?:错误码|错误代码|返回码|应答码|响应码|代码|故障码|错误|报错|错|提示|显示|出现|报|码|code)"
            r"[\s:：是为了个一“”\"'‘’「」]{0,4}(?P<v>\d\d|[a-z]\d)(?![0-9a-z])"
        ),
    ),
]

# A message that is nothing but one identifier ("5678", "a0") is an answer to our question.
BARE_VALUE = {
    "card_tail": re.compile(r"^\s*(?P<v>\d{4})\s*$"),
    "error_code": re.compile(r"^\s*(?P<v>\d\d|[a-z]\d)\s*$"),
}

VALID = {
    "card_tail": re.compile(r"^\d{4}$"),
    "terminal_id": re.compile(r"^\d{8}$"),
    "reference_number": re.compile(r"^\d{12}$"),
    "error_code": re.compile(r"^[0-9A-Z]{2}$"),
}


_CARD_OR_MASKED = re.compile(r"^(\*{8,15}\d{4}|\d{16,19})$")


@dataclass(frozen=True)
class Found:
    entity: str
    start: int
    end: int
    value: str


def find_identifiers(text: str) -> Iterator[Found]:
    """Every identifier in `text`, earlier table rows winning over later ones."""
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    candidates = list(PATTERNS)
    for entity, pattern in BARE_VALUE.items():
        candidates.append((entity, pattern))
    for entity, pattern in candidates:
        for m in pattern.finditer(text):
            start, end = m.span("v")
            if free(start, end):
                taken.append((start, end))
                yield Found(entity, start, end, m.group("v"))


def clean_identifier(entity: str, value: object) -> str | None:
    """A well-formed slot value for `entity`, or None when `value` is not one."""
    if value is None:
        return None
    text = normalize_text(str(value)).strip()
    if entity == "error_code":
        text = text.upper()
    elif entity == "card_tail" and _CARD_OR_MASKED.match(text):
        text = text[-4:]  # a card only ever kept as its tail
    pattern = VALID.get(entity)
    return text if pattern is None or pattern.match(text) else None

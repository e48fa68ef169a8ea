"""Where a message names a bank: spans for the `bank` entity, from the one table of banks.

Why a lookup and not a learned tagger: the banks people name are a closed list
(content/banks.yml: each bank's full name and the short forms, spellings and
Latin abbreviations people use), and DIET, which learnt them from examples,
still missed a bank in the list (浙商银行) and tagged a single 工 in "ren工".
A short name that is also an everyday word (平安, 交通) counts only before a
word about cards or banking.
The span is the name as typed (docs/nlu_conventions.md); EntitySynonymMapper
turns it into the full name.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator, List, Tuple

import yaml

BANKS_FILE = Path(__file__).resolve().parents[2] / "content" / "banks.yml"
# Short names that are also everyday words (好人一生平安, 交通事故, 人工行吗): a bank only when a word about
# cards or banking follows, or the message ends right after them.
_AMBIGUOUS = {"平安", "交通", "工商", "招商", "民生", "华夏", "光大", "中信", "邮政", "兴业", "渤海", "广发", "浙商",
              "建设", "农业", "中国邮政", "中银", "交银", "建银", "农银", "招银", "工银"}
_BANKING_NEXT = re.compile(
    r"^(?:卡|的|银|行|那|这|信用|借记|储蓄|存折|客服|人工|热线|电话|官方|网点|柜台|app|手机|网银|账户|系统|尾号|一直|"
    r"结果|[,.!?;:，。！？；：\s])"
)
_ALONE_BEFORE = re.compile(r"(?:^|[,.!?;:，。！？；：\s是用在])$")
_NOT_BEFORE = {"工行": "人", "中行": "其", "交行": "成"}
_LATIN = re.compile(r"^[a-z]+$")


@lru_cache(maxsize=1)
def bank_names() -> Tuple[str, ...]:
    """Every full name and alias of content/banks.yml (Latin ones lower-case), longest first."""
    names = set()
    for bank in yaml.safe_load(BANKS_FILE.read_text(encoding="utf-8")) or []:
        for name in [bank.get("name"), *(bank.get("aliases") or [])]:
            if name:
                names.add(str(name).lower())
    names.update(("农商行", "农商银行", "农村商业银行"))
    return tuple(sorted(names, key=len, reverse=True))


@lru_cache(maxsize=1)
def _known() -> "re.Pattern[str]":
    parts: List[str] = []
    for name in bank_names():
        escaped = re.escape(name)
        parts.append(rf"(?<![a-z]){escaped}(?![a-z])" if _LATIN.match(name) else escaped)
    return re.compile("|".join(parts))


def find_banks(text: str) -> Iterator[Tuple[int, int, str]]:
    """(start, end, span) of every bank named in normalised (half-width, simplified, lower-case) text."""
    for match in _known().finditer(text):
        name, start, end = match.group(0), match.start(), match.end()
        if name in _AMBIGUOUS and not _BANKING_NEXT.match(text[end:]) and not (
                end == len(text) and _ALONE_BEFORE.search(text[:start])):
            continue
        if start > 0 and _NOT_BEFORE.get(name) == text[start - 1]:
            continue
        yield start, end, name

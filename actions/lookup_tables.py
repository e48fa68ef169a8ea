"""Read-only code tables: China UnionPay response codes, and the banks we know.

Both are data in ``content/`` (next to the facts the answers state):
``content/response_codes.yml`` and ``content/banks.yml`` (read by `xiaoan.content`).
A response code's texts may name facts (``{reversal_max}``): `code_texts` fills them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Optional

import yaml

from xiaoan import content
from xiaoan.content import Bank

RESPONSE_CODES_FILE = content.CONTENT_DIR / "response_codes.yml"
CHECK_KINDS = ("account", "terminal", "transaction", "none")
# The codes that mean the PIN, not the card or the terminal: 55 a wrong PIN; 38 and 75 too many wrong PINs.
PIN_WRONG_CODES = frozenset({"55"})
PIN_LOCKED_CODES = frozenset({"38", "75"})

__all__ = ["Bank", "CHECK_KINDS", "PIN_LOCKED_CODES", "PIN_WRONG_CODES", "ResponseCode", "code_texts", "find_bank", "lookup_code", "response_codes"]


@dataclass(frozen=True)
class ResponseCode:
    code: str
    meaning: str
    cause: str
    action: str
    check: str  # one of CHECK_KINDS


@lru_cache(maxsize=1)
def response_codes() -> dict[str, ResponseCode]:
    raw = yaml.safe_load(RESPONSE_CODES_FILE.read_text(encoding="utf-8"))
    return {
        str(code).upper(): ResponseCode(str(code).upper(), e["meaning"], e["cause"], e["action"], e["check"])
        for code, e in raw.items()
    }


def lookup_code(code: Optional[str]) -> Optional[ResponseCode]:
    return response_codes().get((code or "").strip().upper())


def code_texts(entry: ResponseCode) -> Dict[str, str]:
    """The entry's texts as a user reads them (facts filled), by the names the responses use."""
    known = content.values()
    return {
        "code_meaning": content.fill(entry.meaning, known),
        "code_cause": content.fill(entry.cause, known),
        "code_advice": content.fill(entry.action, known),
    }


def find_bank(name: Optional[str]) -> Optional[Bank]:
    """A bank by full name or any alias (case-insensitive)."""
    return content.find_bank(name)

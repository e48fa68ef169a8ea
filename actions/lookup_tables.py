"""Read-only reference tables: UnionPay response codes and bank hotlines."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

DATA = Path(__file__).with_name("data")
CHECK_KINDS = ("account", "terminal", "transaction", "none")


@dataclass(frozen=True)
class ResponseCode:
    code: str
    meaning: str
    cause: str
    action: str
    check: str  # one of CHECK_KINDS


@dataclass(frozen=True)
class Bank:
    name: str
    aliases: tuple[str, ...]
    hotline: str


@lru_cache(maxsize=1)
def response_codes() -> dict[str, ResponseCode]:
    raw = yaml.safe_load((DATA / "response_codes.yml").read_text(encoding="utf-8"))
    return {
        str(code).upper(): ResponseCode(str(code).upper(), e["meaning"], e["cause"], e["action"], e["check"])
        for code, e in raw.items()
    }


def lookup_code(code: Optional[str]) -> Optional[ResponseCode]:
    return response_codes().get((code or "").strip().upper())


@lru_cache(maxsize=1)
def banks() -> tuple[Bank, ...]:
    raw = yaml.safe_load((DATA / "banks.yml").read_text(encoding="utf-8"))
    return tuple(Bank(b["name"], tuple(str(a) for a in b.get("aliases", [])), str(b["hotline"])) for b in raw)


def find_bank(name: Optional[str]) -> Optional[Bank]:
    """A bank by full name or any alias (case-insensitive)."""
    if not name:
        return None
    wanted = name.strip().lower()
    for bank in banks():
        if wanted == bank.name.lower() or wanted in (a.lower() for a in bank.aliases):
            return bank
    return None

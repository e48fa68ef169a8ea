"""Where 小安's words and facts are read: domain.yml's responses and the tables in content/.

Every sentence a user can see is a response in ``domain.yml``; every figure a
sentence states (how long a reversal takes, when to contact the bank, a
hotline) is a fact in ``content/facts.yml`` that the response names as
``{fact}``; each bank's hotline is a row of ``content/banks.yml``. Code
chooses which response to say and gives its values; it writes no words.

Rasa renders what it says itself (its own responses, and those an action
names with ``dispatcher.utter_message(response=...)``) through
`xiaoan.runtime.nlg.FactsNaturalLanguageGenerator`, which adds `values()`.
The action server, the channels and the chat page render here, with the same
`values()`, when one message is composed from several responses or is said
outside a conversation (a WeChat welcome, a REST error, a 404 page).

Rendering follows Rasa's rules, without its randomness: for the output
channel, a variant written for that channel (``channel: wechat``) whose
conditions the values meet, else one for that channel without a condition,
then a variant for any channel whose conditions the values meet, else one
without a condition; ``{name}`` is filled from the values (Rasa's placeholder
syntax); a placeholder without a value is left as it is and logged, as Rasa
does. Files are read once per process.

A sentence several answers share (how a PIN lock-out works) is written once,
as a response named ``utter_clause_<name>``, and the answers name it as
``{<name>}``, like a fact: `clauses()`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_FILE = ROOT / "domain.yml"
CONTENT_DIR = ROOT / "content"
FACTS_FILE = CONTENT_DIR / "facts.yml"
BANKS_FILE = CONTENT_DIR / "banks.yml"

# Rasa's placeholder (rasa.core.nlg.interpolator): {name}, no braces or line break inside.
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bank:
    name: str
    aliases: Tuple[str, ...]
    hotline: str


@lru_cache(maxsize=1)
def responses() -> Dict[str, List[Dict[str, Any]]]:
    """domain.yml's responses: name -> variants."""
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8")) or {}
    return dict(domain.get("responses") or {})


@lru_cache(maxsize=1)
def facts() -> Dict[str, str]:
    """content/facts.yml: fact name -> the value as a sentence reads it."""
    raw = yaml.safe_load(FACTS_FILE.read_text(encoding="utf-8")) or {}
    return {str(name): str(value) for name, value in raw.items()}


@lru_cache(maxsize=1)
def banks() -> Tuple[Bank, ...]:
    raw = yaml.safe_load(BANKS_FILE.read_text(encoding="utf-8")) or []
    return tuple(Bank(str(b["name"]), tuple(str(a) for a in b.get("aliases") or []), str(b["hotline"])) for b in raw)


def find_bank(name: Any) -> Optional[Bank]:
    """A bank by its full name or any alias (case-insensitive)."""
    if not isinstance(name, str) or not name.strip():
        return None
    wanted = name.strip().casefold()
    for bank in banks():
        if wanted == bank.name.casefold() or wanted in (a.casefold() for a in bank.aliases):
            return bank
    return None


CLAUSE_PREFIX = "utter_clause_"


@lru_cache(maxsize=1)
def clauses() -> Dict[str, str]:
    """The shared sentences (responses ``utter_clause_<name>``, facts filled) by the placeholder that names them."""
    return {
        name[len(CLAUSE_PREFIX):]: fill(str(variants[0].get("text") or ""), facts())
        for name, variants in responses().items() if name.startswith(CLAUSE_PREFIX)
    }


def bank_values(name: Any) -> Dict[str, str]:
    """``bank_name`` and ``bank_hotline`` of a bank we know, else nothing."""
    bank = find_bank(name)
    return {"bank_name": bank.name, "bank_hotline": bank.hotline} if bank else {}


# What a response condition sees in the `bank` slot for a bank named that content/banks.yml does not list.
UNLISTED_BANK = "unlisted"


def condition_slots(slots: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Slots as response conditions see them: `bank` is the full name of a bank we know, `UNLISTED_BANK` for a
    bank named but not in content/banks.yml, else None.

    So the variant that names the bank's hotline is only chosen when there is
    one to name, and a bank we have no hotline for gets an answer of its own
    (where to find its number) instead of the question "which bank?" again.
    """
    view = dict(slots or {})
    if "bank" in view:
        named = view["bank"]
        bank = find_bank(named)
        view["bank"] = bank.name if bank else (UNLISTED_BANK if isinstance(named, str) and named.strip() else None)
    return view


def values(slots: Optional[Mapping[str, Any]] = None, **given: Any) -> Dict[str, Any]:
    """What a response may name: the facts, the shared clauses, the `bank` slot's name and hotline, the slots,
    the given values.

    Later ones win; a None is no value.
    """
    present = {k: v for k, v in (slots or {}).items() if v is not None}
    merged: Dict[str, Any] = {**facts(), **clauses(), **bank_values(present.get("bank")), **present}
    merged.update({k: v for k, v in given.items() if v is not None})
    return merged


def _meets(condition: Iterable[Mapping[str, Any]], known: Mapping[str, Any]) -> bool:
    """Rasa's test (rasa.core.nlg.generator.ResponseVariationFilter): every named value equals, strings casefolded."""
    for constraint in condition:
        have, want = known.get(constraint["name"]), constraint.get("value")
        if isinstance(have, str) and isinstance(want, str):
            if have.casefold() != want.casefold():
                return False
        elif have != want:
            return False
    return True


def variant(name: str, known: Optional[Mapping[str, Any]] = None, channel: Optional[str] = None) -> Dict[str, Any]:
    """The variant of a response that Rasa would choose for these values on this output channel (the first, not a
    random one): rasa.core.nlg.generator.ResponseVariationFilter's order."""
    try:
        variants = responses()[name]
    except KeyError:
        raise KeyError(f"domain.yml has no response {name!r}") from None
    known = condition_slots(known)
    for on in ((channel,) if channel else ()) + (None,):
        mine = [v for v in variants if v.get("channel") == on]
        for candidate in mine:
            if candidate.get("condition") and _meets(candidate["condition"], known):
                return candidate
        for candidate in mine:
            if not candidate.get("condition"):
                return candidate
    raise KeyError(f"no variant of {name!r} fits {sorted(known)}")


def fill(template: str, known: Mapping[str, Any]) -> str:
    """``{name}`` -> its value; a placeholder without one stays and is logged."""

    def value(match: re.Match) -> str:
        key = match.group(1)
        if key in known:
            return str(known[key])
        logger.error("no value for {%s} in %r", key, template[:40])
        return match.group(0)

    return PLACEHOLDER.sub(value, template)


def render(name: str, slots: Optional[Mapping[str, Any]] = None, *, output_channel: Optional[str] = None,
           **given: Any) -> str:
    """A response's text (its variant for `output_channel`, if it has one) with the facts, the slots and the given
    values filled in."""
    known = values(slots, **given)
    return fill(str(variant(name, known, output_channel).get("text") or ""), known)


def placeholders(text: str) -> List[str]:
    return PLACEHOLDER.findall(text or "")

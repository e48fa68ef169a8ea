"""Fraud signals: what a user's words show about a scam, read once by the ingress.

The words themselves (who asks, what for, the scam vocabulary, as regular
expressions) are in `fraud_patterns.yml`; this module assembles and applies them.

A scam report is someone else *demanding* something of the user: read out a
code, give the card number and its expiry, move money to a "safe" or new
account, pay a fee or a deposit first, "刷流水", open a link or an app, share
the screen or hand over control, follow instructions at an ATM. The patterns
below look for that demand (a third party, or a "first pay, then ..."
condition), never for the words alone, so the user's own question ("退款要手续费吗",
"银行会找我要验证码吗") is not a report.

`fraud_signals()` returns kinds in a fixed order, of three sorts:

* urgent kinds (`URGENT_KINDS`): a scam pattern. `FraudPatternIntent` makes the
  message a `fraud_report` whatever the classifier said, and
  `action_fraud_warning` gives one line of advice per kind;
* who the caller pretended to be (`IMPERSONATION_KINDS`): police / court,
  bank / customer service, courier. Not urgent alone; they fit the warning's
  first line ("冒充公检法" is not "冒充客服"). `claimed_identity` marks an
  explicit claim ("自称…", "说是…的"): with the classifier's own unsure
  `fraud_report`, that makes a report;
* the user's own question, with nobody in it who did anything, found only
  when no scam pattern is: whether a fee is due (`FEE_QUESTION_KINDS`: a
  refund, unfreezing, a POS terminal), whether someone would ask for a scam's
  usual things (`scam_question`: "银行会找我要验证码吗"), or any such
  hypothetical question (`hypothetical_question`). They are answered with the
  plain fact (no fee for a reversal, a refund or unfreezing; the bank never
  asks for codes) next to the question's own answer, never with a scam alert,
  and `FraudPatternIntent` does not let the classifier call them a report.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import yaml

from xiaoan.text.normalize import normalize_text

# The words (vocabulary, patterns, obfuscations) live in fraud_patterns.yml, next to this file.
PATTERNS_FILE = Path(__file__).with_name("fraud_patterns.yml")
_PLACEHOLDER = re.compile(r"@([A-Z_]+)")


@lru_cache(maxsize=1)
def _spec() -> Dict[str, Any]:
    return yaml.safe_load(PATTERNS_FILE.read_text(encoding="utf-8"))


def _expand(pattern: str) -> str:
    """A pattern of fraud_patterns.yml with every `@NAME` replaced by its vocabulary entry."""
    vocabulary = _spec()["vocabulary"]
    previous = None
    while previous != pattern:
        previous, pattern = pattern, _PLACEHOLDER.sub(lambda m: vocabulary[m.group(1)], pattern)
    return pattern


def _any(alternatives: list) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_expand(p)})" for p in alternatives))


_DEOBFUSCATE: Dict[str, str] = dict(_spec()["deobfuscate"])
FRAUD_PATTERNS: Dict[str, re.Pattern[str]] = {kind: _any(alts) for kind, alts in _spec()["patterns"].items()}

URGENT_KINDS = frozenset(
    {"code_request", "card_details", "safe_account", "upfront_fee", "turnover", "link_or_app", "screen_share",
     "authority_threat", "guided_operation", "impersonator", "task_rebate", "credit_record", "boss_request",
     "overpay_refund", "loan_transfer", "limit_raise_fee", "sms_forward"}
)
IMPERSONATION_KINDS = ("impersonation_authority", "impersonation_courier", "impersonation_service")

# Someone *claiming* to be police, a court, a courier or a bank ("自称", "说是", "冒充"): with the classifier's own
# (unsure) fraud_report, enough for a report. Looser mentions only fit the warning's first line.
CLAIMED_IDENTITY = "claimed_identity"
_CLAIMED = re.compile(_expand(_spec()["claimed_identity"]))

# The user's own question whether something costs a fee (found only when no scam pattern is).
_QUESTION = re.compile(_expand(_spec()["question"]))
FEE_QUESTIONS: Dict[str, re.Pattern[str]] = {kind: _any(alts) for kind, alts in _spec()["fee_questions"].items()}
FEE_QUESTION_KINDS = tuple(FEE_QUESTIONS)

# A hypothetical question about what someone *would* do, or how to tell a scam, with no one in it who did anything.
_EVENT = re.compile(_expand(_spec()["event"]))
_HYPOTHETICAL = re.compile(_expand(_spec()["hypothetical"]))
SCAM_QUESTION = "scam_question"
HYPOTHETICAL_QUESTION = "hypothetical_question"
QUESTION_KINDS = (*FEE_QUESTION_KINDS, SCAM_QUESTION, HYPOTHETICAL_QUESTION)


def deobfuscate(text: str) -> str:
    for fake, real in _DEOBFUSCATE.items():
        text = text.replace(fake, real)
    return text


def read_probe(text: str | None) -> str:
    """The text the patterns read: normalised, obfuscations undone, bounded."""
    return deobfuscate(normalize_text(text or ""))[:2000]


def is_hypothetical_question(probe: str) -> bool:
    """A question about what would happen, with nobody in it who did anything: never a report."""
    return bool(_HYPOTHETICAL.search(probe)) and not _EVENT.search(probe)


def fraud_signals(text: str | None) -> list[str]:
    """The signal kinds found in a message, in a fixed order (see the module docstring)."""
    probe = read_probe(text)
    if not probe:
        return []
    found = [kind for kind, pattern in FRAUD_PATTERNS.items() if pattern.search(probe)]
    if _CLAIMED.search(probe):
        found.append(CLAIMED_IDENTITY)
    hypothetical = is_hypothetical_question(probe)
    if hypothetical:
        asked_about = is_urgent(found)
        found = [kind for kind in found if kind not in URGENT_KINDS] + ([SCAM_QUESTION] if asked_about else [])
    if not is_urgent(found) and _QUESTION.search(probe) and not _EVENT.search(probe):
        found += [kind for kind, pattern in FEE_QUESTIONS.items() if pattern.search(probe)]
    if hypothetical:
        found.append(HYPOTHETICAL_QUESTION)
    return found


def is_urgent(signals: list[str] | tuple[str, ...]) -> bool:
    return any(kind in URGENT_KINDS for kind in signals)


def impersonated(signals: list[str] | tuple[str, ...]) -> str | None:
    """Who the caller pretended to be, the most serious first: authority, courier, service; else None."""
    return next((kind for kind in IMPERSONATION_KINDS if kind in signals), None)


def fee_questions(signals: list[str] | tuple[str, ...]) -> list[str]:
    return [kind for kind in signals if kind in FEE_QUESTION_KINDS]


def claims_identity(signals: list[str] | tuple[str, ...]) -> bool:
    return CLAIMED_IDENTITY in signals


def is_question_only(signals: list[str] | tuple[str, ...]) -> bool:
    """The user's own question (a fee, a scam's usual demands, a hypothetical), no scam pattern: never a report."""
    return not is_urgent(signals) and any(kind in QUESTION_KINDS for kind in signals)

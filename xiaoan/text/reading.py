"""One reading of a user message: normalised, secrets masked, fraud signals found.

`read_user_text` is the only place these three are combined. The runtime's
ingress applies it to every message that reaches Rasa (whatever the channel),
and the NLU applies the same function to training examples, so the model is
trained on text exactly like the text it will see.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from xiaoan.text.fraud import fraud_signals
from xiaoan.text.masking import mask_secrets
from xiaoan.text.normalize import normalize_text


@dataclass(frozen=True)
class Reading:
    """What the ingress made of one message's text."""

    text: str  # normalised, secrets masked: the only form stored or classified
    secrets_masked: Tuple[str, ...] = ()  # kinds hidden: card_number, pin, cvv, verification_code
    fraud_signals: Tuple[str, ...] = ()  # scam pattern kinds (xiaoan.text.fraud)


def is_payload(text: str) -> bool:
    """A button payload (`/intent{...}`): Rasa parses it itself, so it is masked but not rewritten."""
    return text.startswith("/")


def read_user_text(text: str | None) -> Reading:
    """Normalise (length-preserving), mask secrets, and list the fraud signals seen."""
    if not text:
        return Reading("")
    normalized = text if is_payload(text) else normalize_text(text)
    masked = mask_secrets(normalized)
    return Reading(
        text=masked.text,
        secrets_masked=tuple(sorted(masked.found)),
        fraud_signals=tuple(fraud_signals(masked.text)),
    )

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

    text: str  # normalised, secrets masked: what the NLU classifies
    typed: str = ""  # as the user typed it, secrets masked: what is stored and shown to staff
    secrets_masked: Tuple[str, ...] = ()  # kinds hidden: card_number, pin, cvv, verification_code
    fraud_signals: Tuple[str, ...] = ()  # scam pattern kinds (xiaoan.text.fraud)


def is_payload(text: str) -> bool:
    """A button payload (`/intent{...}`): Rasa parses it itself, so it is masked but not rewritten."""
    return text.startswith("/")


def read_user_text(text: str | None) -> Reading:
    """Mask secrets, normalise (length-preserving), and list the fraud signals seen."""
    if not text:
        return Reading("")
    masked = mask_secrets(text)  # detection runs on the normalised text; masking is length-preserving
    return Reading(
        text=masked.text if is_payload(text) else normalize_text(masked.text),
        typed=masked.text,
        secrets_masked=tuple(sorted(masked.found)),
        fraud_signals=tuple(fraud_signals(masked.text)),
    )

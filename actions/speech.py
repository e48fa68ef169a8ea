"""How an action speaks: it names responses of domain.yml and gives their values.

Where one response is the whole message, an action calls
``dispatcher.utter_message(response="utter_…", **values)`` and Rasa renders it
(`xiaoan.runtime.nlg`: the slots, the facts, the values). `say` is for a
message joined from several responses, or one whose text the action itself
needs: it renders here, through `xiaoan.content`, with the same values (the
facts, the slots, then the values given), and records which responses the
message was made of (``composed_of``, kept with the bot's event in the
tracker, as Rasa keeps ``utter_action`` for the responses it renders).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Collection, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from xiaoan import content

COMPOSED_OF = "composed_of"


@dataclass(frozen=True)
class Answer:
    """A response chosen for what the back office found, with its values and a word for the case record."""

    response: str
    values: Dict[str, Any] = field(default_factory=dict)
    outcome: str = ""


def render(name: str, **values: Any) -> str:
    """One response's text (facts and the given values; no slots): for a value or a record, not a message."""
    return content.render(name, **values)


# A blank line: the chat page starts a new bubble there (Rasa's socket.io output), WeChat shows an empty line.
PARAGRAPH = "\n\n"


def say(
    dispatcher: CollectingDispatcher, tracker: Optional[Tracker], *parts: str, sep: str = "",
    paragraph_before: Collection[str] = (), **values: Any
) -> str:
    """Utters one message made of these responses, in order, joined by `sep`; returns its text.

    Each part is the variant for the channel the user wrote on (a ``channel:`` variant), as Rasa chooses.
    A part named in `paragraph_before` starts a new paragraph (a new bubble on the chat page) instead.
    """
    slots = tracker.current_slot_values() if tracker is not None else {}
    channel = tracker.get_latest_input_channel() if tracker is not None else None
    text = ""
    for index, part in enumerate(parts):
        if index:
            text += PARAGRAPH if part in paragraph_before else sep
        text += content.render(part, slots, output_channel=channel, **values)
    dispatcher.utter_message(text=text, **{COMPOSED_OF: list(parts)})
    return text


def yuan(value: Decimal) -> str:
    """An amount as the answers write it before 元: 50,000.00."""
    return f"{value:,.2f}"


def hotline(bank_name: Optional[str]) -> str:
    """The official hotline of a bank we know, else the number on the back of the card."""
    bank = content.bank_values(bank_name)
    return render("utter_hotline_of_bank", **bank) if bank else render("utter_hotline_on_card")

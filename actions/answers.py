"""Which response answers what the back office found, and with which values.

Pure functions from back-office records to an `Answer` (a response of
domain.yml, its values, and a word for the case record), so every state's
choice can be tested without a dispatcher. The words are the responses'
(``utter_card_<state>``, ``utter_terminal_<state>``,
``utter_transaction_<state>``). A state the back office gains later needs its
response in domain.yml and its name below; until then a card or a
transaction in it gets the ``…_other_state`` response.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Dict, Optional

from actions.backoffice.records import Card, Terminal, Transaction
from actions.lookup_tables import PIN_LOCKED_CODES, PIN_WRONG_CODES
from actions.speech import Answer, hotline, render, yuan
from xiaoan import clock, content


# The states with a response of their own (utter_<record>_<state>); others fall back.
CARD_STATES = ("frozen", "limit_reached", "expired", "reported_lost")  # normal, insufficient: by amount
TERMINAL_HARDWARE = ("printer_fault", "card_reader_fault")
TRANSACTION_STATES = (
    "credited", "reversed", "processing", "returned_name_mismatch", "pending_bank_maintenance",
    "declined_no_debit", "duplicate_debit",
)


def _response_for(prefix: str, state: str, states: tuple, fallback: str = "other_state") -> str:
    return f"{prefix}_{state if state in states else fallback}"


def outcome_word(state: str) -> str:
    """The case record's word for a back-office state; a state without one is recorded as reported."""
    name = f"utter_step_outcome_{state}"
    return render(name) if name in content.responses() else state


def _normal_card_response(card: Card, amount: Optional[Decimal]) -> str:
    """A card in order: the amount, when known, is compared with the balance first, then the daily limit."""
    if not amount:
        return "utter_card_normal"
    if amount > card.balance:
        return "utter_card_normal_over_balance"
    if amount > card.daily_limit:
        return "utter_card_normal_over_limit"
    return "utter_card_normal_amount_fits"


def _outcome(state: str) -> str:
    """The case record's word for a back-office state; one without a word is 'to be checked', never the raw name."""
    return outcome_word(state) if f"utter_step_outcome_{state}" in content.responses() else render(
        "utter_step_outcome_unclear")


def card_answer(
    card: Optional[Card], card_tail: str, amount: Optional[Decimal] = None, error_code: Optional[str] = None
) -> Answer:
    """The card's state; after a PIN response code (`error_code` 55, 38, 75) a card in order is answered as the
    PIN's problem (the code names the cause), never as 'the card is fine, look at the terminal'."""
    if card is None:
        return Answer("utter_card_not_found", {"card_tail": card_tail}, render("utter_step_outcome_not_found"))
    values: Dict[str, Any] = {
        "card_tail": card.card_tail,
        "card_bank": card.bank,
        "balance": yuan(card.balance),
        "daily_limit": yuan(card.daily_limit),
        "hotline": hotline(card.bank),
    }
    if amount:
        values["amount"] = yuan(amount)
    if card.state == "normal" and error_code in PIN_WRONG_CODES | PIN_LOCKED_CODES:
        values["error_code"] = error_code
        response = "utter_card_pin_wrong" if error_code in PIN_WRONG_CODES else "utter_card_pin_locked"
        return Answer(response, values, _outcome(card.state))
    if card.state == "normal":
        return Answer(_normal_card_response(card, amount), values, _outcome(card.state))
    if card.state == "insufficient":
        return Answer("utter_card_insufficient_for_amount" if amount else "utter_card_insufficient", values,
                      _outcome(card.state))
    if card.state in ("frozen", "expired"):  # the back office's note, else the state's general word
        values["card_note"] = card.note or render(f"utter_card_note_{card.state}")
    return Answer(_response_for("utter_card", card.state, CARD_STATES), values, _outcome(card.state))


def terminal_answer(terminal: Optional[Terminal], terminal_id: str) -> Answer:
    if terminal is None:
        return Answer("utter_terminal_not_found", {"terminal_id": terminal_id}, render("utter_step_outcome_not_found"))
    values: Dict[str, Any] = {"terminal_id": terminal.terminal_id, "merchant": terminal.merchant}
    if not terminal.online:
        hours = terminal.offline_minutes // 60
        values["offline_for"] = (
            render("utter_terminal_offline_hours", hours=hours) if hours
            else render("utter_terminal_offline_minutes", minutes=terminal.offline_minutes)
        )
        return Answer("utter_terminal_offline", values, render("utter_step_outcome_offline"))
    if not terminal.signed_in:
        return Answer("utter_terminal_not_signed_in", values, render("utter_step_outcome_not_signed_in"))
    # a hardware state without its own response is answered as a working terminal, as before
    return Answer(_response_for("utter_terminal", terminal.hardware, TERMINAL_HARDWARE, fallback="ok"), values,
                  outcome_word(terminal.hardware))


def transaction_answer(txn: Optional[Transaction], reference_number: str) -> Answer:
    if txn is None:
        return Answer(
            "utter_transaction_not_found", {"reference_number": reference_number}, render("utter_step_outcome_not_found")
        )
    values: Dict[str, Any] = {
        "reference_number": txn.reference_number,
        "transaction_time": txn.time,
        "transaction_amount": yuan(txn.amount),
        "payee_bank": txn.payee_bank,
        "payee_hotline": hotline(txn.payee_bank),
        "card_tail": txn.card_tail,
    }
    if txn.state in WAITING_WINDOWS:
        return _waiting_answer(txn, values)
    if txn.state == "duplicate_debit" and _same_china_day(txn.time):
        return Answer("utter_transaction_duplicate_debit_same_day", values, outcome_word(txn.state))
    return Answer(_response_for("utter_transaction", txn.state, TRANSACTION_STATES), values, _outcome(txn.state))


# A transaction still on its way has a window (a fact of content/facts.yml, counted from the record's
# time): inside it the answer is "wait until ...", past it the escalation (the issuing bank, then a person).
WAITING_WINDOWS = {"processing": "transfer_result_within", "pending_bank_maintenance": "transfer_result_within"}


def waiting_window(state: str) -> timedelta:
    """The window of a state in WAITING_WINDOWS, read from its fact."""
    return clock.span(content.facts()[WAITING_WINDOWS[state]])


def _recorded_at(time_text: str) -> Optional[datetime]:
    try:
        return clock.to_china(time_text)
    except (TypeError, ValueError):
        return None


def _waiting_answer(txn: Transaction, values: Dict[str, Any]) -> Answer:
    """Inside the window: wait, until when (China time). Past it, or with no readable time: escalate, never "wait"."""
    since, window = _recorded_at(txn.time), waiting_window(txn.state)
    if since is not None and clock.within(since, window):
        values["wait_until"] = clock.for_people(since + window)
        return Answer(f"utter_transaction_{txn.state}", values, outcome_word(txn.state))
    values["escalation"] = render("utter_transaction_escalation", **values)
    return Answer(f"utter_transaction_{txn.state}_overdue", values, outcome_word(f"{txn.state}_overdue"))


def _same_china_day(time_text: str) -> bool:
    """Whether the record's time is today in China (a merchant can still void, 撤销, a payment of today)."""
    since = _recorded_at(time_text)
    return since is not None and since.date() == clock.today()

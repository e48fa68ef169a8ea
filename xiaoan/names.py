"""Names more than one layer relies on, defined once: the processes' packages import them from here.

The Rasa server (xiaoan/runtime), the action server (actions/), the channels and the staff
console (console/) all speak of the same responses, event fields and hand-over reasons; a name
spelled in two places drifts apart. This module imports nothing, so any layer may use it.
The names outside checks rely on are fixed by the contract (shared/spec/CONTRACT.md); those here are
the project's own.
"""
from __future__ import annotations

# the one "system busy" answer, wherever something fails: a lost action server (xiaoan/runtime/busy.py),
# a failed back-office check or ticket (actions/), counted by the console's review (console/transcripts.py)
BUSY_RESPONSE = "utter_system_busy"

# the key of a bot event's metadata naming the response it said (Rasa's own, and actions/speech.py's)
RESPONSE_KEY = "utter_action"

# why a conversation joined the staff queue (actions/handover.py writes them, xiaoan/handover stores them)
REQUEST_HUMAN = "request_human"
FRAUD_REPORT = "fraud_report"
NOT_UNDERSTOOD = "not_understood"
CHECK_FAILED = "check_failed"
HANDOVER_REASONS = (REQUEST_HUMAN, FRAUD_REPORT, NOT_UNDERSTOOD, CHECK_FAILED)

# where the back office (and, beside it, the hand-over and ticket tables) lives
BACKOFFICE_URL_ENV = "XIAOAN_BACKOFFICE_URL"
DEFAULT_BACKOFFICE_URL = "sqlite:///var/backoffice.db"

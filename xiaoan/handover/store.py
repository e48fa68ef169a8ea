"""The hand-over store one process uses: the rooms (staff.py, sessions.py, queue.py, messages.py,
labels.py, presence.py) on one engine, at the URL the environment names.

`HandoverStore` is only their composition: each room is its own class over the same tables
(tables.py), and callers (the console, the Rasa server's staff channel, the action server) hold
one object whose single connection pool serves them all.
"""
from __future__ import annotations

import os
from functools import lru_cache

from xiaoan.handover.labels import ReviewLabels
from xiaoan.handover.messages import StaffMessages
from xiaoan.handover.presence import SessionPresence
from xiaoan.handover.queue import HandoverQueue
from xiaoan.handover.sessions import StaffSessions
from xiaoan.handover.staff import StaffAccounts

DEFAULT_URL = "sqlite:///var/backoffice.db"


class HandoverStore(StaffAccounts, StaffSessions, HandoverQueue, StaffMessages, ReviewLabels, SessionPresence):
    """Every hand-over room on one engine (made on first use, never at import)."""


def store_url() -> str:
    """`XIAOAN_HANDOVER_URL`, else the back office's (`XIAOAN_BACKOFFICE_URL`), else var/backoffice.db."""
    return os.environ.get("XIAOAN_HANDOVER_URL") or os.environ.get("XIAOAN_BACKOFFICE_URL") or DEFAULT_URL


@lru_cache(maxsize=None)
def _store_for(url: str) -> HandoverStore:
    return HandoverStore(url)


def get_store() -> HandoverStore:
    return _store_for(store_url())

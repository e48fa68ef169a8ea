"""A person behind the bot: the shared hand-over store, staff hours and passwords.

Everything about a hand-over that must hold across processes and Rasa servers
lives in SQL tables beside the back office (`store.HandoverStore`): the queue and
its claims, staff accounts and sessions, the staff messages and their delivery,
ticket notes, review marks. The action server queues (actions/handover.py), the
Rasa server delivers and pauses (channels/staff.py, channels/rest.py,
channels/socketio.py), the console (console/) reads and acts. None of them keeps
hand-over state in its own memory.
"""
from __future__ import annotations

import os
from functools import lru_cache

from xiaoan.handover.store import HandoverStore

DEFAULT_URL = "sqlite:///var/backoffice.db"


def store_url() -> str:
    """`XIAOAN_HANDOVER_URL`, else the back office's (`XIAOAN_BACKOFFICE_URL`), else var/backoffice.db."""
    return os.environ.get("XIAOAN_HANDOVER_URL") or os.environ.get("XIAOAN_BACKOFFICE_URL") or DEFAULT_URL


@lru_cache(maxsize=None)
def _store_for(url: str) -> HandoverStore:
    return HandoverStore(url)


def get_store() -> HandoverStore:
    return _store_for(store_url())

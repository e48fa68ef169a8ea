"""Back-office access for the actions: one interface, one factory."""
from __future__ import annotations

import os
from functools import lru_cache

from actions.backoffice.interface import BackOffice
from actions.backoffice.simulated import SimulatedBackOffice

DEFAULT_URL = "sqlite:///var/backoffice.db"


@lru_cache(maxsize=None)
def _backoffice_for(url: str) -> BackOffice:
    return SimulatedBackOffice(url)


def get_backoffice() -> BackOffice:
    """The back office named by `XIAOAN_BACKOFFICE_URL` (simulated SQL by default).

    A real bank adapter would be chosen here by its own URL scheme; the
    actions would not change.
    """
    return _backoffice_for(os.environ.get("XIAOAN_BACKOFFICE_URL", DEFAULT_URL))

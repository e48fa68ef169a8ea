"""Back-office access for the actions: one interface, one factory."""
from __future__ import annotations

import asyncio
import os
from functools import lru_cache
from typing import Any, Callable, Optional, TypeVar

from actions.backoffice.delayed import DelayedBackOffice
from actions.backoffice.instrumented import instrumented
from actions.backoffice.interface import BackOffice
from actions.backoffice.simulated import SimulatedBackOffice
from xiaoan.names import BACKOFFICE_URL_ENV, DEFAULT_BACKOFFICE_URL
from xiaoan.runtime.metrics.action_server import backoffice_timed_out
# Past this a lookup counts as failed and the user hears "busy, details kept".
DEFAULT_TIMEOUT_S = 20.0

T = TypeVar("T")


@lru_cache(maxsize=None)
def _backoffice_for(url: str, delay: float = 0.0) -> BackOffice:
    store: BackOffice = SimulatedBackOffice(url)
    # every call timed and its errors counted (xiaoan_backoffice_* on the action server's /metrics)
    return instrumented(DelayedBackOffice(store, delay) if delay > 0 else store)


def _delay_from_environment() -> float:
    try:
        return max(0.0, float(os.environ.get("XIAOAN_BACKOFFICE_DELAY_S") or 0))
    except ValueError:
        return 0.0


def get_backoffice() -> BackOffice:
    """The back office named by `XIAOAN_BACKOFFICE_URL` (simulated SQL by default).

    A real bank adapter would be chosen here by its own URL scheme; the
    actions would not change. `XIAOAN_BACKOFFICE_DELAY_S` simulates a slow one.
    """
    url = os.environ.get(BACKOFFICE_URL_ENV, DEFAULT_BACKOFFICE_URL)
    return _backoffice_for(url, _delay_from_environment())


async def in_worker_thread(function: Callable[..., T], *args: Any, timeout: Optional[float] = None) -> T:
    """Runs a blocking back-office call off the event loop, within the time limit.

    One slow lookup must not stall every other conversation on the action
    server; `asyncio.TimeoutError` past `timeout` (default
    `XIAOAN_BACKOFFICE_TIMEOUT_S`). The call itself is not cancelled: a write
    goes on in its thread, which is why every write takes a request key.
    """
    if timeout is None:
        try:
            timeout = float(os.environ.get("XIAOAN_BACKOFFICE_TIMEOUT_S") or DEFAULT_TIMEOUT_S)
        except ValueError:
            timeout = DEFAULT_TIMEOUT_S
    try:
        return await asyncio.wait_for(asyncio.to_thread(function, *args), timeout=timeout)
    except asyncio.TimeoutError:
        backoffice_timed_out()
        raise

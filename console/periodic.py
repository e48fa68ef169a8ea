"""One round of console work every few seconds, in the background, surviving a failed round.

Why: the delivery's retries and the waiting rule both run this way; a round that fails (the store or a
Rasa server is down) is logged and the next one comes as usual.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

logger = logging.getLogger("console")


def every(seconds: float, one_round: Callable[[], Awaitable[Any]], what: str) -> "asyncio.Task[None]":
    """Starts `one_round` every `seconds` (after the first wait); cancel the task to stop it."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await one_round()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the store or a server is down: next round
                logger.exception("%s failed", what)

    return asyncio.create_task(loop())

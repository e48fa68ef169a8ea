"""The waiting rule's clock in the console: every few seconds, the unclaimed conversations that waited too
long, or outlived the staff hours, are told so and handed back to the bot (xiaoan/handover/waiting.py).

It runs where the queue is watched (a console is what makes anyone "on duty"); with several consoles each
runs it, and the store's conditional UPDATE (`HandoverQueue.tell`) lets exactly one of them speak. The
notice goes the way staff messages go (console/delivery.py → a Rasa server's staff route), from the bot,
resuming the conversation; a notice no Rasa server took is sent again by the delivery's retry loop.
"""
from __future__ import annotations

import asyncio
import logging
from typing import List, Optional

from channels.staff_notices import wait_notice_text
from console.delivery import Delivery
from console.periodic import every
from xiaoan import clock
from xiaoan.handover import duty
from xiaoan.handover.store import HandoverStore
from xiaoan.handover.waiting import notices_due, wait_limit

logger = logging.getLogger("console")

CHECK_EVERY_S = 5.0


class WaitingRule:
    """Tells each waiting user once (waited_long, hours_over) and resumes the bot for them."""

    def __init__(self, store: HandoverStore, delivery: Delivery) -> None:
        self.store = store
        self.delivery = delivery
        self._task: Optional["asyncio.Task[None]"] = None

    def start(self) -> None:
        self._task = every(CHECK_EVERY_S, self.check, "the waiting rule's round")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def check(self) -> List[str]:
        """One round: the conversations told now (won by this console)."""
        now = clock.timestamp()
        due = notices_due(await asyncio.to_thread(self.store.waiting), now, wait_limit(), duty.staff_hours())
        told = []
        for entry, kind in due:
            if not await asyncio.to_thread(self.store.tell, entry.id, kind, now):
                continue  # claimed meanwhile, or another console told it
            ahead = await asyncio.to_thread(self.store.ahead_of, entry)
            text = wait_notice_text(kind, ahead, entry.ticket_id, now - entry.queued_at, clock.now())
            outcome = await self.delivery.say(entry, None, kind, text, resume=True)
            logger.info("waiting rule: %s told %s (%s)", entry.conversation_id, kind, outcome.get("status"))
            told.append(entry.conversation_id)
        return told

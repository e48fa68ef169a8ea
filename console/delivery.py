"""Delivery of staff messages: the console pushes each to a Rasa server's staff route
(channels/staff.py), which delivers it on the user's channel. A message no Rasa server took
(it was restarting) is reported ``not_delivered`` and sent again in the background until one does.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any, Dict, Optional

import aiohttp

from console.periodic import every
from xiaoan.handover.messages import StaffMessages
from xiaoan.handover.queue import Handover

logger = logging.getLogger("console")

RETRY_EVERY_S = 5.0
RESUMING = ("handed_back", "closed", "waited_long", "hours_over")  # kinds that give the bot the conversation back
RETRY_FOR_S = 3600.0


def rasa_token() -> Optional[str]:
    token = os.environ.get("RASA_AUTH_TOKEN")
    path = os.environ.get("XIAOAN_AUTH_TOKEN_FILE")
    if not token and path and Path(path).exists():
        token = Path(path).read_text(encoding="utf-8").strip()
    return token or None


class RasaLink:
    """Calls a Rasa server's staff route; None when no server answered (it is restarting, say)."""

    def __init__(self, url: str, token: Optional[str]) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._session: Optional[aiohttp.ClientSession] = None

    async def act(self, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self._session.post(f"{self.url}/webhooks/staff/act", json=body, headers=headers) as answer:
                if answer.status != 200:
                    logger.warning("staff route answered %s", answer.status)
                    return None
                return await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            logger.warning("no Rasa server answered the staff route: %s", type(error).__name__)
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class Delivery:
    """Staff messages on their way to a user: stored first, then pushed through a Rasa server."""

    def __init__(self, store: StaffMessages, rasa: RasaLink) -> None:
        self.store = store
        self.rasa = rasa
        self._retrier: Optional["asyncio.Task[None]"] = None

    def start(self) -> None:
        self._retrier = every(RETRY_EVERY_S, self.resend_undelivered, "retrying undelivered staff messages")

    async def stop(self) -> None:
        if self._retrier is not None:
            self._retrier.cancel()
        await self.rasa.close()

    async def say(self, handover: Handover, staff_no: Optional[str], kind: str, text: str, pause: bool = False,
                  resume: bool = False, slots: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """A new message in `handover`'s conversation: stored, then pushed."""
        message_id = await asyncio.to_thread(self.store.add_message, handover.conversation_id, handover.id,
                                             staff_no, kind, text, handover.channel)
        return await self.push(handover.conversation_id, message_id, kind, text, staff_no,
                               pause=pause, resume=resume, slots=slots, channel=handover.channel)

    async def push(self, conversation_id: str, message_id: str, kind: str, text: str, staff_no: Optional[str],
                   pause: bool = False, resume: bool = False, slots: Optional[Dict[str, Any]] = None,
                   channel: Optional[str] = None) -> Dict[str, Any]:
        body = {"conversation_id": conversation_id, "pause": pause, "resume": resume, "slots": slots or {},
                "channel": channel,
                "messages": [{"id": message_id, "text": text, "from": "staff" if kind == "staff" else "bot",
                              "staff_id": staff_no, "kind": kind}]}
        answer = await self.rasa.act(body)
        if answer is None:
            await asyncio.to_thread(self.store.set_status, message_id, "not_delivered", "rasa_unreachable")
            return {"id": message_id, "status": "not_delivered", "detail": "rasa_unreachable", "paused": None}
        outcome = (answer.get("messages") or [{}])[0]
        return {"id": message_id, "status": outcome.get("status"), "detail": outcome.get("detail"),
                "paused": answer.get("paused")}

    async def resend(self, message: Dict[str, Any]) -> Dict[str, Any]:
        kind = message["kind"]
        return await self.push(message["conversation_id"], message["id"], kind, message["text"], message["staff_no"],
                               pause=kind in ("staff", "joined"), resume=kind in RESUMING,
                               channel=message["channel"])

    async def resend_undelivered(self) -> None:
        """Messages no Rasa server took (it was restarting) are sent again until one does (every RETRY_EVERY_S)."""
        for message in await asyncio.to_thread(self.store.undelivered, 0.0, ("not_delivered",), time.time() - RETRY_FOR_S):
            if (message.get("detail") or "") != "rasa_unreachable":
                continue
            outcome = await self.resend(message)
            if outcome["status"] == "not_delivered":
                break  # still no server: try again later

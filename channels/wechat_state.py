"""In-memory per-message and per-user state for the WeChat channel.

WeChat gives a callback 5 seconds, then sends the same ``MsgId`` again, up to
three times in all. ``MessageLedger`` makes the first arrival the only one
that runs the dialogue: every arrival of that ``MsgId`` waits for the same
decision (the passive reply text, or ``None`` for "answered later through the
customer-service API"). ``ChoiceMemory`` keeps, per OpenID, the payloads
behind the numbered choices of the bot's latest turn. Both forget old
entries, so memory stays bounded by recent traffic.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

Clock = Callable[[], float]


@dataclass
class PendingMessage:
    """One ``MsgId``: when it first arrived and the decision all arrivals share."""

    first_seen: float
    decision: "asyncio.Future[Optional[str]]"


class MessageLedger:
    """``MsgId`` to ``PendingMessage``, forgotten ``ttl`` seconds after first seen."""

    def __init__(self, ttl: float = 300.0, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: Dict[str, PendingMessage] = {}

    def claim(self, key: str) -> Tuple[PendingMessage, bool]:
        """The entry for ``key`` and whether this arrival is the first one."""
        now = self._clock()
        self._forget_older_than(now - self.ttl)
        entry = self._entries.get(key)
        if entry is not None:
            return entry, False
        entry = PendingMessage(now, asyncio.get_running_loop().create_future())
        self._entries[key] = entry
        return entry, True

    def _forget_older_than(self, cutoff: float) -> None:
        """Entries are in arrival order, so only the oldest few are ever looked at."""
        stale = []
        for key, entry in self._entries.items():
            if entry.first_seen >= cutoff:
                break
            if entry.decision.done():  # a still-running dialogue stays findable
                stale.append(key)
        for key in stale:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class _Choices:
    payloads: List[str] = field(default_factory=list)
    saved_at: float = 0.0


class ChoiceMemory:
    """Per OpenID, the button payloads of the bot's latest turn."""

    def __init__(self, ttl: float = 1800.0, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._by_user: Dict[str, _Choices] = {}

    def remember(self, user: str, payloads: List[str]) -> None:
        """A turn without buttons clears them: "1" is then just text."""
        now = self._clock()
        self._by_user.pop(user, None)  # re-inserted last: the dict stays in time order
        while self._by_user:
            oldest_user, oldest = next(iter(self._by_user.items()))
            if now - oldest.saved_at <= self.ttl:
                break
            del self._by_user[oldest_user]
        if payloads:
            self._by_user[user] = _Choices(list(payloads), now)

    def payload_for(self, user: str, index: Optional[int]) -> Optional[str]:
        """The payload behind choice ``index`` (0-based), if still remembered."""
        choices = self._by_user.get(user)
        if index is None or choices is None:
            return None
        if self._clock() - choices.saved_at > self.ttl:
            self._by_user.pop(user, None)
            return None
        if 0 <= index < len(choices.payloads):
            return choices.payloads[index]
        return None

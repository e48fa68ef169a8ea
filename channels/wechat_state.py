"""Per-message, per-user and per-callback state for the WeChat channel.

WeChat gives a callback 5 seconds, then sends the same ``MsgId`` again, up to
three times in all. ``MessageLedger`` makes the first arrival the only one
that runs the dialogue: every arrival of that ``MsgId`` waits for the same
decision (the passive reply text, or ``None`` for "answered later through the
customer-service API"). ``ChoiceMemory`` keeps, per OpenID, the payloads
behind the numbered choices of the bot's latest turn. Both live in this
process's memory and forget old entries, so memory stays bounded by recent
traffic.

The seen-callback memory (``MemoryNonces``, ``RedisNonces``) is different:
WeChat signs each of its retries anew, so a signed query that comes twice is
someone replaying a captured callback. It must be shared by every server
that can receive a callback, so with several Rasa servers (``make scale``)
it lives in Redis: ``XIAOAN_WECHAT_REDIS_URL``. One server: its own memory.
"""
from __future__ import annotations

import asyncio
import math
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Protocol, Tuple

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


# -- signed callbacks already seen -------------------------------------------

NONCE_STORE_ENV = "XIAOAN_WECHAT_REDIS_URL"
NONCE_KEY_PREFIX = "xiaoan:wechat:seen:"


class NonceStoreUnavailable(Exception):
    """The shared store could not say whether a callback is new: refuse it (fail closed)."""


class SeenCallbacks(Protocol):
    """Remembers a signed callback for ``ttl`` seconds; only its first use is accepted."""

    ttl: float

    async def first_use(self, key: str) -> bool:
        ...


class MemoryNonces:
    """One server's memory: fine for ``make run``, wrong behind a load balancer."""

    where = "this process's memory"

    def __init__(self, ttl: float, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._expires: "OrderedDict[str, float]" = OrderedDict()  # one ttl: insertion order is expiry order

    async def first_use(self, key: str) -> bool:
        now = self._clock()
        while self._expires:
            oldest, expires = next(iter(self._expires.items()))
            if expires > now:
                break
            del self._expires[oldest]
        if key in self._expires:
            return False
        self._expires[key] = now + self.ttl
        return True

    def __len__(self) -> int:
        return len(self._expires)


class RedisNonces:
    """Every server's memory: ``SET key NX EX ttl``, one atomic round trip per callback."""

    where = "Redis"

    def __init__(self, url: str, ttl: float, prefix: str = NONCE_KEY_PREFIX, client: object = None) -> None:
        self.ttl = ttl
        self.prefix = prefix
        if client is None:
            from redis.asyncio import Redis

            client = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        self._client = client

    async def first_use(self, key: str) -> bool:
        try:
            created = await self._client.set(  # type: ignore[attr-defined]
                self.prefix + key, b"1", nx=True, ex=max(1, math.ceil(self.ttl))
            )
        except Exception as error:  # connection refused, timeout, auth: no answer is no
            raise NonceStoreUnavailable(str(error) or type(error).__name__) from error
        return bool(created)


def seen_callbacks(ttl: float) -> SeenCallbacks:
    """Redis when ``XIAOAN_WECHAT_REDIS_URL`` is set (several servers), else this process's memory."""
    url = (os.environ.get(NONCE_STORE_ENV) or "").strip()
    return RedisNonces(url, ttl) if url else MemoryNonces(ttl)

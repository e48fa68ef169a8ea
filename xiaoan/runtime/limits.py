"""How much one message, one writer and one address may ask of 小安 (issue 19), checked once per message.

Every message passes one gate (`gate`) before anything reads its text: before OpenCC, masking, jieba
and DIET, before the tracker is loaded, before any action. A message the gate refuses gets one friendly
answer (a response of domain.yml) and nothing else runs; it is not stored either, so a flood does not
grow a conversation.

* **Size**: text longer than ``XIAOAN_MAX_TEXT_CHARS`` characters (default 1000) is answered with
  ``utter_too_long``; metadata (REST ``metadata``, socket.io ``customData``) bigger than
  ``XIAOAN_MAX_METADATA_BYTES`` as UTF-8 JSON (default 8192: an identity token may be 4096
  characters) with ``utter_metadata_too_large``.
* **Rate**: a conversation (sender id) may send ``XIAOAN_RATE_PER_SENDER`` messages a minute
  (default 20), one client address ``XIAOAN_RATE_PER_ADDRESS`` (default 120); over either,
  ``utter_too_fast``. Fixed one-minute windows: a burst at a window's edge may get up to twice the
  rate through, never more. Addresses in ``XIAOAN_RATE_EXEMPT_ADDRESSES`` (default the loopback
  addresses: the load and scale tests and a client on the server itself) have no per-address limit;
  the per-sender one still applies.
* **Hand-over** (the action server, actions/handover.py): a conversation may join the staff queue
  ``XIAOAN_HANDOVERS_PER_SENDER`` times an hour (default 3), one address may put
  ``XIAOAN_HANDOVERS_PER_ADDRESS`` conversations in it an hour (default 10). Asking again while
  queued keeps the place and counts nothing.

A limit set to 0 is off. The counters live in Redis when ``XIAOAN_RATE_REDIS_URL`` is set (several
Rasa servers, ``make scale``: they enforce one limit), one round trip per message (INCR and EXPIRE of
each counter in one pipeline); else in this process's memory. Redis that does not answer lets the
message through (logged): the limits protect the service, they must not take it down.

The address is the TCP peer; ``X-Forwarded-For`` is read only when the peer is a proxy named in
``XIAOAN_TRUSTED_PROXY`` (comma-separated; ``make scale`` names its nginx), and then the client is the
rightmost address that is not one of those proxies. An IPv6 client counts as its /64. WeChat's
callbacks all come from WeChat's servers: that channel notes no address (per-sender only, the OpenID).
A channel notes the address on the message object (`note_address`), never in client-written metadata;
the ingress records, for the action server, a keyed hash of it (`client_key`), never the address.

Channels call `gate` as early as they can (before Rasa's per-conversation lock), the processor calls it
for whatever no channel did (``rasa shell``); the verdict is kept on the message object, so a message is
counted once.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple


import xiaoan.addresses as addresses
from xiaoan import clock as product_clock
from xiaoan.addresses import addresses_named
from xiaoan import content

logger = logging.getLogger(__name__)

MAX_TEXT_ENV, DEFAULT_MAX_TEXT_CHARS = "XIAOAN_MAX_TEXT_CHARS", 1000
MAX_METADATA_ENV, DEFAULT_MAX_METADATA_BYTES = "XIAOAN_MAX_METADATA_BYTES", 8192
PER_SENDER_ENV, DEFAULT_PER_SENDER = "XIAOAN_RATE_PER_SENDER", 20  # messages a minute
PER_ADDRESS_ENV, DEFAULT_PER_ADDRESS = "XIAOAN_RATE_PER_ADDRESS", 120  # messages a minute
HANDOVERS_PER_SENDER_ENV, DEFAULT_HANDOVERS_PER_SENDER = "XIAOAN_HANDOVERS_PER_SENDER", 3  # an hour
HANDOVERS_PER_ADDRESS_ENV, DEFAULT_HANDOVERS_PER_ADDRESS = "XIAOAN_HANDOVERS_PER_ADDRESS", 10  # an hour
EXEMPT_ENV, DEFAULT_EXEMPT = "XIAOAN_RATE_EXEMPT_ADDRESSES", "127.0.0.1,::1"
TRUSTED_PROXY_ENV = "XIAOAN_TRUSTED_PROXY"
REDIS_ENV = "XIAOAN_RATE_REDIS_URL"
KEY_PREFIX = "xiaoan:rate:"
MINUTE, HOUR = 60, 3600

TOO_LONG, METADATA_TOO_LARGE, TOO_FAST = "utter_too_long", "utter_metadata_too_large", "utter_too_fast"
HANDOVER_LIMITED = "utter_handover_limited"

_VERDICT = "_xiaoan_limits"  # on the message object, like the ingress's own marks
_ADDRESS = "_xiaoan_address"


def _setting(name: str, default: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    try:
        return max(0, int(raw)) if raw else default
    except ValueError:
        logger.error("%s=%r is not a whole number: %d used", name, raw, default)
        return default


def max_text_chars() -> int:
    return _setting(MAX_TEXT_ENV, DEFAULT_MAX_TEXT_CHARS)


def max_metadata_bytes() -> int:
    return _setting(MAX_METADATA_ENV, DEFAULT_MAX_METADATA_BYTES)


# -- addresses -------------------------------------------------------------------------------------


def trusted_proxies() -> "frozenset[str]":
    return addresses_named(TRUSTED_PROXY_ENV)


def client_address(peer: Optional[str], forwarded_for: Optional[str],
                   proxies: "Optional[frozenset[str]]" = None) -> str:
    """The TCP peer; behind a trusted proxy (XIAOAN_TRUSTED_PROXY), its client (xiaoan/addresses.py)."""
    return addresses.client_address(peer, forwarded_for, trusted_proxies() if proxies is None else proxies)


def request_address(request: Any) -> str:
    """A Sanic request's client address (`client_address` of its TCP peer and X-Forwarded-For)."""
    peer = getattr(getattr(request, "conn_info", None), "client_ip", None)
    headers = getattr(request, "headers", None) or {}
    return client_address(peer, headers.get("x-forwarded-for"))


def note_address(message: Any, address: Optional[str]) -> None:
    """The channel's word on where a message came from, on the message object (never in its metadata)."""
    setattr(message, _ADDRESS, address)


def address_of(message: Any) -> Optional[str]:
    return getattr(message, _ADDRESS, None)


def carry_verdict(judged: Any, message: Any) -> None:
    """`message` stands for `judged` (Rasa built it from the same request): the gate's verdict and the
    address go with it, so it is not counted twice."""
    for mark in (_VERDICT, _ADDRESS):
        if hasattr(judged, mark):
            setattr(message, mark, getattr(judged, mark))


def client_key(address: Optional[str]) -> Optional[str]:
    """What the ingress records of the address for the action server: a keyed hash, never the address."""
    if not address:
        return None
    from xiaoan.identity.seal import key

    secret = key() or b"xiaoan"
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()[:24]


def exempt(address: Optional[str]) -> bool:
    return address is None or address in addresses_named(EXEMPT_ENV, DEFAULT_EXEMPT)


# -- counters --------------------------------------------------------------------------------------


class MemoryCounters:
    """This process's memory: fixed windows, forgotten once their window is over."""

    where = "this process's memory"

    def __init__(self, clock: Callable[[], float] = product_clock.timestamp, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._counts: Dict[Tuple[str, int], int] = {}

    async def hit(self, keys: Sequence[Tuple[str, int]]) -> Sequence[int]:
        """One more for each (key, window seconds); the counts in the current windows."""
        now = self._clock()
        if len(self._counts) > self._max_keys:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= self._window(k[0], now)}
        counts = []
        for key, window in keys:
            slot = (f"{key}:{window}", int(now // window))
            counts.append(self._counts.get(slot, 0) + 1)
            self._counts[slot] = counts[-1]
        return counts

    @staticmethod
    def _window(slot_key: str, now: float) -> int:
        window = int(slot_key.rsplit(":", 1)[1])
        return int(now // window)


class RedisCounters:
    """Every server's counters: INCR and EXPIRE per key, all in one pipeline (one round trip)."""

    where = "Redis"

    def __init__(self, url: str, client: Any = None, clock: Callable[[], float] = product_clock.timestamp) -> None:
        if client is None:
            from redis.asyncio import Redis

            client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self._client = client
        self._clock = clock

    async def hit(self, keys: Sequence[Tuple[str, int]]) -> Sequence[int]:
        now = self._clock()
        pipe = self._client.pipeline(transaction=False)
        for key, window in keys:
            name = f"{KEY_PREFIX}{key}:{window}:{int(now // window)}"
            pipe.incr(name)
            pipe.expire(name, window + 1)
        results = await pipe.execute()
        return [int(value) for value in results[0::2]]


_counters: Dict[str, Any] = {}


def counters() -> Any:
    """Redis when XIAOAN_RATE_REDIS_URL is set, else this process's memory (one per setting)."""
    url = (os.environ.get(REDIS_ENV) or "").strip()
    found = _counters.get(url)
    if found is None:
        found = _counters[url] = RedisCounters(url) if url else MemoryCounters()
        logger.info("message rates are counted in %s", found.where)
    return found


def reset() -> None:
    """Forget every counter of this process (tests)."""
    _counters.clear()


def _hashed(kind: str, who: str) -> str:
    """Sender ids and addresses come from clients: a fixed-size key, whatever their length."""
    return f"{kind}:{hashlib.blake2b(who.encode(), digest_size=12).hexdigest()}"


_last_failure = [0.0]


async def _counts(keys: Sequence[Tuple[str, int]]) -> Optional[Sequence[int]]:
    """The counts, or None when the shared store does not answer (the message goes through)."""
    try:
        return await counters().hit(keys)
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as error:  # noqa: BLE001 - fail open, once a minute in the log
        if time.monotonic() - _last_failure[0] > MINUTE:
            _last_failure[0] = time.monotonic()
            logger.error("rate counters unavailable (%s): messages are not rate-limited", type(error).__name__)
        return None


# -- the gate --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a message was refused: the domain.yml response, its text, the HTTP status a REST client gets."""

    response: str
    text: str
    status: int
    retry_after: Optional[int] = None




def size_refusal(text: Any, metadata: Any) -> Optional[Refusal]:
    """Too long a text or too big a metadata object: the cheap checks, before any counting."""
    limit = max_text_chars()
    if limit and isinstance(text, str) and len(text) > limit:
        return Refusal(TOO_LONG, content.render(TOO_LONG, max_chars=limit), 413)
    metadata_limit = max_metadata_bytes()
    if metadata_limit and metadata:
        try:
            size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":"), default=str).encode())
        except (TypeError, ValueError, RecursionError):
            size = metadata_limit + 1
        if size > metadata_limit:
            return Refusal(METADATA_TOO_LARGE, content.render(METADATA_TOO_LARGE, max_kb=metadata_limit // 1024), 413)
    return None


async def rate_refusal(sender_id: Optional[str], address: Optional[str]) -> Optional[Refusal]:
    """One more message from this sender and address: a refusal once either is over its rate."""
    keys, limits = [], []
    per_sender = _setting(PER_SENDER_ENV, DEFAULT_PER_SENDER)
    if per_sender and sender_id:
        keys.append((_hashed("sender", str(sender_id)), MINUTE))
        limits.append(per_sender)
    per_address = _setting(PER_ADDRESS_ENV, DEFAULT_PER_ADDRESS)
    if per_address and not exempt(address):
        keys.append((_hashed("address", str(address)), MINUTE))
        limits.append(per_address)
    if not keys:
        return None
    counts = await _counts(keys)
    if counts is None or all(count <= limit for count, limit in zip(counts, limits)):
        return None
    wait = MINUTE - int(time.time() % MINUTE)
    return Refusal(TOO_FAST, content.render(TOO_FAST), 429, max(1, wait))


async def gate(message: Any) -> Optional[Refusal]:
    """The verdict on a `UserMessage`, reached once: size, then rate. None lets it in."""
    if hasattr(message, _VERDICT):
        return getattr(message, _VERDICT)
    refusal = size_refusal(getattr(message, "text", None), getattr(message, "metadata", None))
    if refusal is None:
        refusal = await rate_refusal(getattr(message, "sender_id", None), address_of(message))
    setattr(message, _VERDICT, refusal)
    if refusal is not None:
        logger.info("message of %s refused: %s", getattr(message, "sender_id", None), refusal.response)
    return refusal


async def handover_refusal(sender_id: str, client: Optional[str]) -> bool:
    """One more queue entry for this conversation and this client (`client_key`): True when over a limit."""
    keys, limits = [], []
    per_sender = _setting(HANDOVERS_PER_SENDER_ENV, DEFAULT_HANDOVERS_PER_SENDER)
    if per_sender:
        keys.append((_hashed("handover-sender", sender_id), HOUR))
        limits.append(per_sender)
    per_address = _setting(HANDOVERS_PER_ADDRESS_ENV, DEFAULT_HANDOVERS_PER_ADDRESS)
    if per_address and client:
        keys.append((_hashed("handover-address", client), HOUR))
        limits.append(per_address)
    if not keys:
        return False
    counts = await _counts(keys)
    return counts is not None and any(count > limit for count, limit in zip(counts, limits))


"""AtomicRedisLockStore against the real Redis on 127.0.0.1:6379.

Several store instances, each with its own Redis connection, stand in for
several Rasa servers sharing one Redis (tests/lock_load.py). What Rasa's
stock `RedisLockStore` does under the same load (the race of Rasa issue 9213)
is evidence about upstream, not a check of 小安: bench/evidence/stock_lock_store.py
(`make evidence`) prints it.

No Redis means these tests FAIL (they never skip): the lock store is only
worth anything against a real server.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional

import pytest
import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.core.utils import AvailableEndpoints, _lock_store_is_multi_worker_compatible
from rasa.utils.endpoints import EndpointConfig

import xiaoan.runtime.lock_store as lock_store_module
from tests.lock_load import issue_burst_threads, race_stats, serve_all
from xiaoan.runtime.lock_store import AtomicRedisLockStore

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS_DB = 1  # Rasa's default lock-store db; keys are isolated by a per-test prefix

SERVERS = 8  # concurrent store instances ("Rasa servers")
TICKETS_PER_SERVER = 25


@dataclass
class RedisEnv:
    """Per-test key prefix and store factories; connects lazily so that a
    missing Redis fails inside the test (FAILED, not ERROR or SKIPPED)."""

    prefix: str
    _client: Optional[redis.Redis] = None
    stores: List[RedisLockStore] = field(default_factory=list)

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=2)
            problem = None
            try:
                client.ping()
            except redis.exceptions.RedisError as e:
                problem = e
            if problem is not None:
                pytest.fail(
                    f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({problem}). The lock "
                    f"store tests need a real Redis server there: start one (e.g. `redis-server "
                    f"--daemonize yes`) and rerun.",
                    pytrace=False,
                )
            self._client = client
        return self._client

    def atomic(self, **kwargs: Any) -> AtomicRedisLockStore:
        self.client  # noqa: B018 - fail clearly before constructing stores
        store = AtomicRedisLockStore(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, key_prefix=self.prefix, **kwargs)
        self.stores.append(store)
        return store

    def stock(self) -> RedisLockStore:
        self.client  # noqa: B018
        store = RedisLockStore(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, key_prefix=self.prefix)
        self.stores.append(store)
        return store

    def keys(self) -> List[bytes]:
        return list(self.client.scan_iter(match=f"{self.prefix}:*"))


@pytest.fixture
def env() -> Iterator[RedisEnv]:
    """A unique alphanumeric key prefix per test; its keys are deleted after."""
    e = RedisEnv(prefix=f"xiaoantest{uuid.uuid4().hex[:12]}")
    yield e
    if e._client is not None:
        keys = e.keys()
        if keys:
            e.client.delete(*keys)
        e.client.close()
    for store in e.stores:
        store.red.close()


# --- concurrent ticket issuing ------------------------------------------------


def _process_server(prefix: str, conversation_id: str, per_store: int, barrier: Any, results: Any) -> None:
    """One 'Rasa server' process: its own store and connection."""
    store = AtomicRedisLockStore(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, key_prefix=prefix)
    barrier.wait()
    results.put([store.issue_ticket(conversation_id, 30) for _ in range(per_store)])


def _issue_burst_processes(prefix: str, conversation_id: str, servers: int, per_store: int) -> List[int]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(servers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_process_server, args=(prefix, conversation_id, per_store, barrier, results))
        for _ in range(servers)
    ]
    for p in procs:
        p.start()
    issued: List[int] = []
    for _ in procs:
        issued.extend(results.get(timeout=15))
    for p in procs:
        p.join(timeout=5)
        assert p.exitcode == 0, f"server process exited with {p.exitcode}"
    return issued


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_concurrent_ticket_issue_is_atomic(env: RedisEnv, mode: str) -> None:
    conversation = "burst"
    total = SERVERS * TICKETS_PER_SERVER
    if mode == "threads":
        stores = [env.atomic() for _ in range(SERVERS)]
        assert len({id(s.red.connection_pool) for s in stores}) == SERVERS  # separate connections
        issued = issue_burst_threads(stores, conversation, TICKETS_PER_SERVER)
    else:
        env.client  # noqa: B018
        issued = _issue_burst_processes(env.prefix, conversation, SERVERS, TICKETS_PER_SERVER)

    lock = env.atomic().get_lock(conversation)
    stored = [t.number for t in lock.tickets]
    stats = race_stats(issued, stored)
    assert stats == {"issued": total, "duplicate_numbers": 0, "lost_tickets": 0}, stats
    assert sorted(issued) == list(range(total))
    assert stored == list(range(total)), "queue must hold every ticket in issue order"


# --- serving in order under lock() ---------------------------------------------


def test_lock_serves_one_at_a_time_strictly_in_ticket_order(env: RedisEnv) -> None:
    servers, per_store = 4, 10
    report = serve_all([env.atomic() for _ in range(servers)], "ordered", per_store)

    assert report.other_errors == []
    assert report.cut_off == 0, "lock() calls hung"
    assert report.lock_errors == 0
    assert report.max_inside == 1, "two holders inside the same conversation's lock"
    # ticket 0 was the holder's; the 40 messages got 1..40 and were served in that order
    assert report.served == list(range(1, report.messages + 1))
    assert env.keys() == [], "lock must be deleted once nobody is waiting"


# --- expiry and cleanup ---------------------------------------------------------


def test_expired_tickets_are_dropped_and_the_key_expires(env: RedisEnv, monkeypatch) -> None:
    monkeypatch.setattr(lock_store_module, "KEY_TTL_MARGIN_MS", 50)
    store = env.atomic()
    assert store.issue_ticket("c", 0.2) == 0
    assert 0 < store.red.pttl(store.key_prefix + "c") <= 260  # SET ... PX: key lives as long as its tickets
    time.sleep(0.3)
    assert store.get_lock("c") is None, "key should have expired with its last ticket"

    assert store.issue_ticket("d", 0.2) == 0
    assert store.issue_ticket("d", 30) == 1
    time.sleep(0.3)
    store.update_lock("d")  # drops the expired ticket 0 only
    assert [t.number for t in store.get_lock("d").tickets] == [1]
    assert store.issue_ticket("d", 30) == 2
    assert store.red.pttl(store.key_prefix + "d") > 29_000


def test_expired_holder_hands_the_lock_to_the_next_ticket(env: RedisEnv) -> None:
    crashed_server, live_server = env.atomic(), env.atomic()
    crashed_server.issue_ticket("c", 0.3)  # never released

    async def take() -> float:
        start = time.monotonic()
        async with live_server.lock("c", lock_lifetime=30, wait_time_in_seconds=0.02) as lock:
            assert lock.now_serving == 1
            return time.monotonic() - start

    waited = asyncio.run(take())
    assert 0.2 <= waited < 2
    assert env.keys() == []


def test_a_waiting_ticket_lives_while_its_owner_polls(env: RedisEnv) -> None:
    """A killed server's ticket and the tickets queued behind it were issued at about
    the same time; with lifetimes counted from issue they all expired together and
    every waiter failed (seen in the scale-out test). A poll renews the waiter's ticket."""
    crashed, live = env.atomic(), env.atomic()
    crashed.issue_ticket("c", 0.5)  # a server killed while it held the conversation

    async def take() -> int:
        async with live.lock("c", lock_lifetime=0.3, wait_time_in_seconds=0.02) as lock:
            return lock.now_serving

    start = time.monotonic()
    assert asyncio.run(take()) == 1  # waited longer than its own lifetime, still served
    assert time.monotonic() - start >= 0.45
    assert env.keys() == []


@pytest.mark.parametrize("holder_lifetime", [30, 0.2], ids=["long ticket", "renewed ticket"])
def test_a_waiter_never_overtakes_a_live_holder(env: RedisEnv, holder_lifetime: float) -> None:
    """With a 0.2 s ticket the holder outlives it three times: its renewals keep it."""
    holder_store, waiter_store = env.atomic(), env.atomic()
    order: List[str] = []

    async def hold() -> None:
        async with holder_store.lock("c", lock_lifetime=holder_lifetime, wait_time_in_seconds=0.02):
            order.append("holder in")
            await asyncio.sleep(0.7)  # longer than the waiter's lifetime, and 3 x 0.2 s
            order.append("holder out")

    async def wait() -> None:
        await asyncio.sleep(0.05)
        async with waiter_store.lock("c", lock_lifetime=0.2, wait_time_in_seconds=0.02):
            order.append("waiter in")

    async def main() -> None:
        await asyncio.gather(hold(), wait())

    asyncio.run(main())
    assert order == ["holder in", "holder out", "waiter in"]
    assert env.keys() == []


def test_ticket_lifetime_setting_replaces_rasas_60_seconds(env: RedisEnv) -> None:
    env.client  # noqa: B018
    store = AtomicRedisLockStore(endpoint_config=EndpointConfig(
        url=REDIS_HOST, type="xiaoan.runtime.lock_store.AtomicRedisLockStore", port=REDIS_PORT, db=REDIS_DB,
        key_prefix=env.prefix, ticket_lifetime="0.3"))
    env.stores.append(store)
    assert store.ticket_lifetime == 0.3

    async def take() -> float:
        async with store.lock("c"):  # Rasa's call: the default 60 s lifetime, replaced by 0.3
            seconds, micros = env.client.time()
            return store.tickets("c")[0]["expires"] - (seconds + micros / 1e6)

    assert 0 < asyncio.run(take()) <= 0.31
    with pytest.raises(ValueError):
        AtomicRedisLockStore(ticket_lifetime="0")


def test_cleanup_deletes_the_lock_only_when_nobody_waits(env: RedisEnv) -> None:
    a, b = env.atomic(), env.atomic()
    first = a.issue_ticket("c", 30)
    second = b.issue_ticket("c", 30)
    assert (first, second) == (0, 1)
    assert a.is_someone_waiting("c")

    a.cleanup("c", first)
    lock = b.get_lock("c")
    assert isinstance(lock, TicketLock)
    assert lock.now_serving == second and not lock.is_locked(second)

    b.finish_serving("c", 99)  # unknown ticket: no change
    assert [t.number for t in b.get_lock("c").tickets] == [second]
    b.cleanup("c", second)
    assert b.get_lock("c") is None and env.keys() == []
    b.cleanup("c", second)  # releasing twice is harmless


def test_late_release_of_expired_holder_keeps_the_new_holders_ticket(env: RedisEnv) -> None:
    """Numbers restart at 0 once a queue empties; the token stops a holder
    whose ticket expired from releasing the next holder's ticket 0."""
    slow, fast = env.atomic(), env.atomic()
    events: List[str] = []

    async def no_heartbeat(*_args: Any) -> None:  # a holder whose renewals stopped (event loop stuck)
        return None

    slow._keep_alive = no_heartbeat  # type: ignore[method-assign]

    async def slow_message() -> None:
        async with slow.lock("c", lock_lifetime=0.2, wait_time_in_seconds=0.01) as lock:
            assert lock.now_serving == 0
            await asyncio.sleep(0.5)  # outlives its ticket
        events.append("slow released")

    async def fast_message() -> None:
        await asyncio.sleep(0.3)  # slow's ticket has expired by now
        async with fast.lock("c", lock_lifetime=30, wait_time_in_seconds=0.01) as lock:
            assert lock.now_serving == 0  # same number as slow's expired ticket
            await asyncio.sleep(0.3)
            events.append("fast still holds")
            assert [t["number"] for t in fast.tickets("c")] == [0], "fast's ticket was released by slow"

    async def main() -> None:
        await asyncio.gather(slow_message(), fast_message())

    asyncio.run(main())
    assert events == ["slow released", "fast still holds"]
    assert env.keys() == []


# --- configuration --------------------------------------------------------------


def test_created_from_endpoint_config_like_rasa_does(env: RedisEnv) -> None:
    env.client  # noqa: B018
    config = EndpointConfig(
        type="xiaoan.runtime.lock_store.AtomicRedisLockStore",
        url=REDIS_HOST,
        port=str(REDIS_PORT),  # values from ${ENV} substitution arrive as strings
        db=str(REDIS_DB),
        password="",
        use_ssl="false",
        key_prefix=env.prefix,
    )
    store = LockStore.create(config)
    env.stores.append(store)
    assert isinstance(store, AtomicRedisLockStore)
    assert _lock_store_is_multi_worker_compatible(store)  # Rasa allows SANIC_WORKERS > 1
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (REDIS_HOST, REDIS_PORT, REDIS_DB, None)
    assert store.key_prefix == f"{env.prefix}:lock:"

    assert store.issue_ticket("c") == 0
    assert env.client.exists(f"{env.prefix}:lock:c")
    # the stored JSON is Rasa's TicketLock format: the stock store reads it
    assert [t.number for t in env.stock().get_lock("c").tickets] == [0]


def test_endpoints_yml_snippet_and_redis_url(env: RedisEnv, tmp_path, monkeypatch) -> None:
    env.client  # noqa: B018
    monkeypatch.setenv("REDIS_HOST", REDIS_HOST)
    monkeypatch.setenv("REDIS_PREFIX", env.prefix)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n"
        "  type: xiaoan.runtime.lock_store.AtomicRedisLockStore\n"
        "  url: ${REDIS_HOST}\n"
        f"  port: {REDIS_PORT}\n"
        f"  db: {REDIS_DB}\n"
        "  key_prefix: ${REDIS_PREFIX}\n"
        "  use_ssl: false\n",
        encoding="utf-8",
    )
    store = LockStore.create(AvailableEndpoints.read_endpoints(str(endpoints)).lock_store)
    env.stores.append(store)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == f"{env.prefix}:lock:"
    assert store.issue_ticket("c") == 0

    by_url = LockStore.create(
        EndpointConfig(
            type="xiaoan.runtime.lock_store.AtomicRedisLockStore",
            url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            key_prefix=env.prefix,
        )
    )
    env.stores.append(by_url)
    kwargs = by_url.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == (REDIS_HOST, REDIS_PORT, REDIS_DB)
    assert by_url.issue_ticket("c") == 1


def test_unreachable_redis_fails_loudly_when_used() -> None:
    """A wrong address surfaces as Rasa's LockError, not as a silent no-lock."""
    store = AtomicRedisLockStore(host="127.0.0.1", port=1, socket_timeout=0.5)
    with pytest.raises(LockError, match="Error while acquiring lock"):
        store.issue_ticket("c")

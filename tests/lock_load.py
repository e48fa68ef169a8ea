"""Concurrent load on Redis lock stores, as several Rasa servers sharing one Redis put on it.

Each store instance has its own Redis connection and stands in for one Rasa
server. Used by tests/test_lock_store.py (our AtomicRedisLockStore must come
through exactly) and by bench/evidence/stock_lock_store.py (what Rasa's own
RedisLockStore does under the same load: Rasa issue 9213).
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List

from rasa.core.lock_store import LockError, RedisLockStore


def issue_burst_threads(stores: List[RedisLockStore], conversation_id: str, per_store: int) -> List[int]:
    """Every store issues `per_store` tickets from its own thread, all released at once."""
    barrier = threading.Barrier(len(stores))
    issued: List[int] = []
    guard = threading.Lock()

    def server(store: RedisLockStore) -> None:
        barrier.wait()
        mine = [store.issue_ticket(conversation_id, 30) for _ in range(per_store)]
        with guard:
            issued.extend(mine)

    threads = [threading.Thread(target=server, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    if any(t.is_alive() for t in threads):
        raise RuntimeError("issuing threads hung")
    return issued


def race_stats(issued: List[int], stored_tickets: List[int]) -> Dict[str, int]:
    """How many tickets were handed out, how many numbers twice, how many never made it into the queue."""
    return {
        "issued": len(issued),
        "duplicate_numbers": len(issued) - len(set(issued)),
        "lost_tickets": len(issued) - len(stored_tickets),
    }


@dataclass
class ServeReport:
    messages: int
    served: List[int] = field(default_factory=list)  # ticket numbers, in the order they got the lock
    max_inside: int = 0  # most lock() holders inside the critical section at once
    lock_errors: int = 0
    cut_off: int = 0  # lock() calls still waiting at the timeout (then cancelled)
    other_errors: List[BaseException] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """One holder at a time, every message served once, in ticket order."""
        return (
            not self.other_errors
            and self.cut_off == 0
            and self.max_inside == 1
            and self.lock_errors == 0
            and self.served == list(range(1, self.messages + 1))
        )

    def summary(self) -> Dict[str, int]:
        counts = Counter(self.served)
        return {
            "messages": self.messages,
            "got_lock": len(self.served),
            "max_concurrent_holders": self.max_inside,
            "duplicate_served_numbers": sum(c - 1 for c in counts.values() if c > 1),
            "lock_errors": self.lock_errors,
            "still_waiting_at_cut_off": self.cut_off,
            "other_errors": len(self.other_errors),
        }


def serve_all(
    stores: List[RedisLockStore],
    conversation_id: str,
    per_store: int,
    lock_lifetime: float = 30,
    timeout: float = 15,
) -> ServeReport:
    """Each store (own thread, own event loop) runs `per_store` concurrent
    `lock()` calls, as Rasa's MessageProcessor does for each message.

    A first ticket is held until every server has queued, so all tickets are
    issued concurrently and then served one by one. Calls still waiting
    `timeout` seconds after the holder let go are cancelled (as a client
    disconnect would), so no thread outlives the call. Waiters poll every
    3 ms, not Rasa's default 1 s, which widens a racy store's windows.
    """
    report = ServeReport(messages=len(stores) * per_store)
    guard = threading.Lock()
    inside = 0
    queued = [threading.Event() for _ in stores]
    stop = threading.Event()
    holder_store = stores[0]
    holder = holder_store.issue_ticket(conversation_id, 30)

    async def message(store: RedisLockStore) -> None:
        nonlocal inside
        try:
            async with store.lock(conversation_id, lock_lifetime=lock_lifetime, wait_time_in_seconds=0.003) as lock:
                with guard:
                    inside += 1
                    report.max_inside = max(report.max_inside, inside)
                    report.served.append(lock.now_serving)
                await asyncio.sleep(0.002)
                with guard:
                    inside -= 1
        except LockError:
            with guard:
                report.lock_errors += 1
        except asyncio.CancelledError:
            with guard:
                report.cut_off += 1
            raise
        except Exception as e:  # noqa: BLE001 - reported
            with guard:
                report.other_errors.append(e)

    def server(index: int, store: RedisLockStore) -> None:
        async def main() -> None:
            tasks = [asyncio.ensure_future(message(store)) for _ in range(per_store)]
            await asyncio.sleep(0)  # every task has now issued its ticket and is waiting
            queued[index].set()
            pending = set(tasks)
            while pending and not stop.is_set():
                _, pending = await asyncio.wait(pending, timeout=0.02)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(main())

    threads = [threading.Thread(target=server, args=(i, s), daemon=True) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for event in queued:
        if not event.wait(10):
            raise RuntimeError("a server never queued its tickets")
    holder_store.cleanup(conversation_id, holder)
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    stop.set()
    for t in threads:
        t.join(timeout=10)
    if any(t.is_alive() for t in threads):
        raise RuntimeError("server threads did not stop")
    return report

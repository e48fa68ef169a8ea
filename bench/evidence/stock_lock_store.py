"""What Rasa's own RedisLockStore does when several servers share one Redis (Rasa issue 9213).

    .venv/bin/python bench/evidence/stock_lock_store.py [--rounds 5]    # part of `make evidence`

Evidence about upstream, not a check of 小安: it prints figures and never
fails on them, so a fixed Rasa or a faster machine cannot break `make test`.
The product check (our AtomicRedisLockStore hands out exactly 0..199, in
order, under the same load) is tests/test_lock_store.py.

Two loads, each run through Rasa's `RedisLockStore` and through
`xiaoan.runtime.lock_store.AtomicRedisLockStore` (tests/lock_load.py):

* burst: 8 store instances ("Rasa servers", own connection each) issue 25
  tickets each for one conversation at the same moment: how many of the 200
  tickets got a number someone else also got, and how many never made it
  into the stored queue;
* serve: 4 stores x 10 concurrent `lock()` calls for one conversation (what
  Rasa's processor does per message), lifetime 1 s, cut off 2 s after the
  first holder lets go: how many got the lock, how many held it at once,
  how many were still waiting.

Needs Redis on 127.0.0.1:6379 (db 1; keys under a fresh `xiaoanevidence…`
prefix, deleted afterwards). Figures go to stdout and
results/bench/evidence/lock_store.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rasa.core.lock_store import RedisLockStore  # noqa: E402

from tests.lock_load import issue_burst_threads, race_stats, serve_all  # noqa: E402
from xiaoan.runtime.lock_store import AtomicRedisLockStore  # noqa: E402

HOST, PORT, DB = "127.0.0.1", 6379, 1
SERVERS, TICKETS_PER_SERVER = 8, 25
SERVE_SERVERS, SERVE_PER_SERVER = 4, 10
OUT = ROOT / "results" / "bench" / "evidence" / "lock_store.json"

KINDS: Dict[str, type] = {"stock RedisLockStore": RedisLockStore, "AtomicRedisLockStore": AtomicRedisLockStore}


def run(rounds: int) -> Dict[str, Any]:
    prefix = f"xiaoanevidence{uuid.uuid4().hex[:12]}"
    client = redis.Redis(host=HOST, port=PORT, db=DB, socket_connect_timeout=2)
    stores: List[RedisLockStore] = []

    def factory(kind: type) -> Callable[[], RedisLockStore]:
        def make() -> RedisLockStore:
            store = kind(host=HOST, port=PORT, db=DB, key_prefix=prefix)
            stores.append(store)
            return store
        return make

    figures: Dict[str, Any] = {"servers": SERVERS, "tickets_per_server": TICKETS_PER_SERVER, "rounds": rounds}
    try:
        for name, kind in KINDS.items():
            make = factory(kind)
            bursts = []
            for attempt in range(rounds):
                conversation = f"burst-{kind.__name__}-{attempt}"
                burst_stores = [make() for _ in range(SERVERS)]
                issued = issue_burst_threads(burst_stores, conversation, TICKETS_PER_SERVER)
                lock = burst_stores[0].get_lock(conversation)
                bursts.append(race_stats(issued, [t.number for t in lock.tickets] if lock else []))
            serves = []
            for attempt in range(rounds):
                report = serve_all([make() for _ in range(SERVE_SERVERS)], f"serve-{kind.__name__}-{attempt}",
                                   SERVE_PER_SERVER, lock_lifetime=1, timeout=2)
                serves.append({**report.summary(), "clean": report.clean})
            figures[name] = {"burst": bursts, "serve": serves}
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        for store in stores:
            store.red.close()
        client.close()
    return figures


def report(figures: Dict[str, Any]) -> str:
    total = figures["servers"] * figures["tickets_per_server"]
    lines = []
    for name in KINDS:
        bursts, serves = figures[name]["burst"], figures[name]["serve"]
        lost = [b["lost_tickets"] for b in bursts]
        duplicated = [b["duplicate_numbers"] for b in bursts]
        lines.append(
            f"{name}, {figures['servers']} servers x {figures['tickets_per_server']} tickets at once, "
            f"{len(bursts)} rounds: lost {', '.join(map(str, lost))} of {total}; "
            f"duplicate numbers {', '.join(map(str, duplicated))} of {total}"
        )
        messages = serves[0]["messages"] if serves else 0
        lines.append(
            f"{name}, {SERVE_SERVERS} servers x {SERVE_PER_SERVER} lock() calls: clean in "
            f"{sum(s['clean'] for s in serves)} of {len(serves)} rounds; got the lock "
            f"{', '.join(str(s['got_lock']) for s in serves)} of {messages}; most holders at once "
            f"{max((s['max_concurrent_holders'] for s in serves), default=0)}; LockError "
            f"{', '.join(str(s['lock_errors']) for s in serves)}; still waiting at the cut-off "
            f"{', '.join(str(s['still_waiting_at_cut_off']) for s in serves)}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        redis.Redis(host=HOST, port=PORT, db=DB, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        print(f"Redis is not reachable at {HOST}:{PORT} ({error}): start it, e.g. "
              "`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`",
              file=sys.stderr)
        return 2
    figures = run(args.rounds)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(report(figures))
    print(f"(figures: {OUT.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed on this machine: REST latency, throughput, NLU parse time, start-up time, memory.

Starts its OWN action server (127.0.0.1:5255) and Rasa server (127.0.0.1:5205, REST +
the project's credentials.yml channels, --enable-api), both as `python -m xiaoan.runtime`
(the runtime users talk to) under `nice -n 10`, with a
temporary endpoints file under results/bench/latency/ (action server on 5255, the project's
MaskingSQLTrackerStore on a fresh SQLite file there, back office SQLite there too). The model
is the newest models/*.tar.gz (what `make train` built) unless --model is given.

Per repeat (servers restarted each time, so start-up is measured each time):
  start-up      process start of both servers → first non-empty REST answer
  REST latency  per message, from request sent to full answer, at 1, 10 and 50 concurrent
                conversations (each conversation sends its next turn after the previous
                answer), for two kinds of conversation:
                  action     bench/load_test.py's realistic scripts (back-office checks,
                             error codes, fraud warning, tickets)
                  no_action  small talk only (greet/thanks/bot challenge/goodbye: responses
                             from the domain, no custom action chosen by the policies)
                Every message, of both kinds, also makes one action-server call:
                action_validate_slot_mappings (the domain's custom slot mappings).
                The custom actions per message actually run are counted from the stored trackers.
  paced         the action scripts again at 10 and 50 conversations, each turn after a pause of
                1-4 s (seeded per conversation: the same pauses every run), as people chat;
                the loads above are back-to-back (no pause): a stress test, not a chat
  msg/s         messages answered / wall time of that load
  parse         POST /model/parse, one request at a time, over held-out texts
  RSS           psutil, peak resident memory of the Rasa server and of the action server
                (with children) sampled every 0.25 s

Figures: per repeat, then median and min–max over repeats (results/bench/latency[_TAG].json).

    .venv/bin/python bench/latency.py                  # 3 repeats
    .venv/bin/python bench/latency.py --quick          # 1 repeat, small loads
    .venv/bin/python bench/latency.py --tag memory --tracker memory    # a variant
"""
from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ACTION_PORT,
    HELD_OUT,
    NICE,
    PYTHON,
    OUT,
    RASA_PORT,
    ROOT,
    bench_env,
    log,
    machine,
    percentile,
    summary,
    write_json,
)
from load_test import script_for  # noqa: E402

BASE = f"http://127.0.0.1:{RASA_PORT}"
ACTION_BASE = f"http://127.0.0.1:{ACTION_PORT}"
LAT_OUT = OUT / "latency"

NO_ACTION_SCRIPT = ["你好", "你是机器人吗", "谢谢", "再见", "您好", "你是真人吗", "谢谢你", "拜拜",
                    "在吗", "好的谢谢"]
CONCURRENCY = (1, 10, 50)
# Paced loads: conversations as people hold them, a pause before each turn (read, then type).
# 1-4 s is quicker than people type Chinese on a phone (5-20 s), so it errs on the busy side.
THINK_S = (1.0, 4.0)
PACED_LEVELS = (10, 50)


MODEL_PIN = OUT / "model_pin.txt"


def newest_model() -> Path:
    """The newest models/*.tar.gz, pinned for the whole run (results/bench/model_pin.txt, which
    bench/run_all.py removes when it starts), so a `make train` elsewhere mid-run changes nothing."""
    if MODEL_PIN.exists():
        pinned = Path(MODEL_PIN.read_text(encoding="utf-8").strip())
        if pinned.exists():
            return pinned
    models = sorted(glob.glob(str(ROOT / "models" / "*.tar.gz")), key=os.path.getmtime)
    if not models:
        raise SystemExit("no model in models/: run `make train` first")
    MODEL_PIN.parent.mkdir(parents=True, exist_ok=True)
    copy = OUT / "latency-model" / Path(models[-1]).name
    copy.parent.mkdir(parents=True, exist_ok=True)
    if not copy.exists():
        shutil.copy2(models[-1], copy)
    MODEL_PIN.write_text(str(copy), encoding="utf-8")
    return copy


# ---------------------------------------------------------------- servers

def write_endpoints(directory: Path, tracker: str, lock: str) -> Path:
    lines = [f'action_endpoint:\n  url: "{ACTION_BASE}/webhook"\n  enable_selective_domain: true\n',
             "nlg:\n  type: xiaoan.runtime.nlg.FactsNaturalLanguageGenerator\n"]
    if tracker == "sqlite":
        lines.append("tracker_store:\n  type: xiaoan.runtime.tracker_store.MaskingSQLTrackerStore\n"
                     f"  dialect: sqlite\n  db: {directory / 'tracker.db'}\n")
    elif tracker == "postgres":
        lines.append("tracker_store:\n  type: xiaoan.runtime.tracker_store.MaskingSQLTrackerStore\n"
                     "  dialect: postgresql\n  url: 127.0.0.1\n  port: 5432\n  db: xiaoan_bench\n"
                     "  username: postgres\n")
    # tracker == "memory": no tracker_store section → Rasa's InMemoryTrackerStore
    if lock == "redis":
        lines.append("lock_store:\n  type: xiaoan.runtime.lock_store.AtomicRedisLockStore\n  url: 127.0.0.1\n"
                     "  port: 6379\n  db: 7\n  key_prefix: xiaoanbench\n")
    path = directory / "endpoints.yml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Servers:
    """The benchmark's own action server and Rasa server; stopped by stop() (only these pids)."""

    def __init__(self, model: Path, tracker: str, lock: str, env_extra: Dict[str, str], tag: str):
        self.model, self.tracker, self.lock, self.env_extra, self.tag = model, tracker, lock, env_extra, tag
        self.dir = LAT_OUT / (tag or "baseline")
        self.procs: Dict[str, subprocess.Popen] = {}
        self.peak_rss: Dict[str, int] = {"rasa": 0, "actions": 0}
        self._sampling = False

    def start(self) -> float:
        """Starts both servers; returns seconds from process start to the first non-empty answer."""
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        endpoints = write_endpoints(self.dir, self.tracker, self.lock)
        env = bench_env(
            SANIC_KEEP_ALIVE_TIMEOUT="75",
            XIAOAN_BACKOFFICE_URL=f"sqlite:///{self.dir / 'backoffice.db'}",
            **{v: os.environ.get(v, "") for v in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_ENCODING_AES_KEY",
                                                  "WECHAT_APP_SECRET", "WECHAT_API_BASE")},
        )
        env.update(self.env_extra)
        started = time.perf_counter()
        self.procs["actions"] = subprocess.Popen(
            # both servers on the project's runtime entry (the action server gets its version check)
            NICE + [PYTHON, "-m", "xiaoan.runtime", "run", "actions", "--actions", "actions", "--port", str(ACTION_PORT)],
            cwd=ROOT, env=env, stdout=open(self.dir / "actions.log", "w"), stderr=subprocess.STDOUT)
        self.procs["rasa"] = subprocess.Popen(
            # the project's own server entry (xiaoan.runtime: busy answer, replay, cached validator, no jax)
            NICE + [PYTHON, "-m", "xiaoan.runtime", "run", "--enable-api", "-i", "127.0.0.1", "-p", str(RASA_PORT),
                    "-m", str(self.model),
                    "--credentials", "credentials.yml", "--endpoints", str(endpoints)],
            cwd=ROOT, env=env, stdout=open(self.dir / "rasa.log", "w"), stderr=subprocess.STDOUT)
        self._start_sampling()
        startup = asyncio.run(self._first_answer(started))
        return startup

    async def _first_answer(self, started: float, limit: float = 300.0) -> float:
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() - started < limit:
                for name, proc in self.procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{name} server exited; see {self.dir}/{name}.log")
                try:
                    async with session.post(f"{BASE}/webhooks/rest/webhook",
                                            json={"sender": f"startup-{uuid.uuid4().hex[:6]}", "message": "你好"},
                                            timeout=aiohttp.ClientTimeout(total=30)) as response:
                        if response.status == 200:
                            body = await response.json()
                            if isinstance(body, list) and body:
                                return time.perf_counter() - started
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    pass
                await asyncio.sleep(0.25)
        raise RuntimeError(f"no answer within {limit:.0f} s; see {self.dir}/rasa.log")

    def _start_sampling(self) -> None:
        import psutil

        self._sampling = True

        def sample() -> None:
            while self._sampling:
                for name, proc in self.procs.items():
                    try:
                        p = psutil.Process(proc.pid)
                        rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
                        self.peak_rss[name] = max(self.peak_rss[name], rss)
                    except (psutil.Error, OSError):
                        pass
                time.sleep(0.25)

        threading.Thread(target=sample, daemon=True).start()

    def rss_now_mb(self) -> Dict[str, int]:
        import psutil

        out = {}
        for name, proc in self.procs.items():
            try:
                p = psutil.Process(proc.pid)
                out[name] = round((p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True)))
                                  / 2**20)
            except psutil.Error:
                out[name] = None
        return out

    def rasa_pid(self) -> int:
        return self.procs["rasa"].pid

    def stop(self) -> None:
        self._sampling = False
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------- load

async def _talk(session, sender: str, messages: List[str], latencies: List[float], errors: List[str],
                pauses: Optional[List[float]] = None) -> None:
    """One conversation: each message after the previous answer (and after a pause, when paced)."""
    for turn, message in enumerate(messages):
        if pauses:
            await asyncio.sleep(pauses[turn % len(pauses)])
        started = time.perf_counter()
        try:
            async with session.post(f"{BASE}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                                    timeout=aiohttp.ClientTimeout(total=120)) as response:
                body = await response.text()
                if response.status != 200:
                    errors.append(f"HTTP {response.status}: {body[:120]}")
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            errors.append(f"{type(error).__name__}: {error}")


async def _custom_actions_per_message(session, senders: List[str]) -> Optional[float]:
    """Custom actions (action_* run on the action server) per user message, from stored trackers."""
    actions = users = 0
    for sender in senders[:5]:
        async with session.get(f"{BASE}/conversations/{sender}/tracker", params={"include_events": "ALL"}) as r:
            if r.status != 200:
                return None
            events = (await r.json()).get("events") or []
        users += sum(1 for e in events if e.get("event") == "user")
        actions += sum(1 for e in events if e.get("event") == "action" and (e.get("name") or "").startswith("action_")
                       and e.get("name") not in ("action_listen", "action_session_start", "action_extract_slots",
                                                 "action_default_fallback", "action_deactivate_loop",
                                                 "action_restart", "action_back"))
    return round(actions / users, 2) if users else None


def think_times(index: int, turns: int) -> List[float]:
    """Seconds a person takes before each turn (reading the answer, typing): uniform in THINK_S,
    seeded per conversation so every run and variant replays the same pauses."""
    import random

    rng = random.Random(2611 + index)
    return [round(rng.uniform(*THINK_S), 3) for _ in range(turns)]


async def _load(kind: str, conversations: int, turns: int, serial_rounds: int = 1,
                paced: bool = False) -> Dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    latencies: List[float] = []
    errors: List[str] = []
    senders: List[str] = []
    connector = aiohttp.TCPConnector(limit=conversations + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        for round_ in range(serial_rounds):
            tasks = []
            for i in range(conversations):
                index = round_ * conversations + i
                sender = f"bench-{kind}-{run}-{index:03d}"
                senders.append(sender)
                if kind == "action":
                    messages = script_for(index, turns)
                else:
                    shift = index % len(NO_ACTION_SCRIPT)
                    messages = (NO_ACTION_SCRIPT[shift:] + NO_ACTION_SCRIPT[:shift]) * 3
                    messages = messages[:turns]
                pauses = think_times(index, turns) if paced else None
                tasks.append(_talk(session, sender, messages, latencies, errors, pauses))
            await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
        per_message = await _custom_actions_per_message(session, senders)
    return {
        "kind": kind,
        "paced": paced,
        "think_s": list(THINK_S) if paced else None,
        "conversations": conversations,
        "turns": turns,
        "messages": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": round(wall, 2),
        "msg_per_s": round(len(latencies) / wall, 2) if wall else None,
        "p50_ms": _r(percentile(latencies, 50)),
        "p95_ms": _r(percentile(latencies, 95)),
        "p99_ms": _r(percentile(latencies, 99)),
        "custom_actions_per_message": per_message,
    }


def _r(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


async def _parse(texts: List[str]) -> Dict[str, Any]:
    times = []
    async with aiohttp.ClientSession() as session:
        for text in texts[:3]:  # warm-up
            async with session.post(f"{BASE}/model/parse", json={"text": text}) as r:
                await r.read()
        for text in texts:
            started = time.perf_counter()
            async with session.post(f"{BASE}/model/parse", json={"text": text}) as r:
                await r.read()
                if r.status != 200:
                    continue
            times.append((time.perf_counter() - started) * 1000)
    return {"n": len(times), "p50_ms": _r(percentile(times, 50)), "p95_ms": _r(percentile(times, 95)),
            "p99_ms": _r(percentile(times, 99))}


def held_out_texts(limit: int) -> List[str]:
    import yaml

    data = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    import re

    texts = []
    for block in data.get("nlu", []):
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                texts.append(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line[2:]))
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


PLANS = {
    # kind -> {concurrency: (conversations, turns, serial_rounds)}
    "full": {1: (1, 10, 2), 10: (10, 8, 1), 50: (50, 4, 1)},
    "quick": {1: (1, 5, 1), 10: (10, 3, 1), 50: (50, 2, 1)},
}


def one_repeat(servers: Servers, plan: Dict[int, tuple], kinds: List[str], levels: List[int],
               parse_n: int) -> Dict[str, Any]:
    figures: Dict[str, Any] = {"load_avg_1m_before": round(os.getloadavg()[0], 2)}
    log(f"  starting servers ({servers.tag or 'baseline'})")
    figures["startup_s"] = round(servers.start(), 2)
    log(f"  first answer after {figures['startup_s']} s")
    try:
        figures["rss_idle_mb"] = servers.rss_now_mb()
        asyncio.run(_load("action", 2, 3))  # warm-up: every code path once
        figures["parse"] = asyncio.run(_parse(held_out_texts(parse_n)))
        log(f"  parse p50 {figures['parse']['p50_ms']} ms")
        for kind in kinds:
            for level in levels:
                conversations, turns, rounds = plan[level]
                result = asyncio.run(_load(kind, conversations, turns, rounds))
                figures[f"{kind}_c{level}"] = result
                log(f"  {kind} c={level}: p50 {result['p50_ms']} p95 {result['p95_ms']} ms, "
                    f"{result['msg_per_s']} msg/s, errors {result['errors']}, "
                    f"custom actions/msg {result['custom_actions_per_message']}")
        if "action" in kinds:
            for level in [lv for lv in PACED_LEVELS if lv in levels]:
                conversations, turns, _rounds = plan[level]
                result = asyncio.run(_load("action", conversations, max(turns, 6), 1, paced=True))
                figures[f"paced_c{level}"] = result
                log(f"  paced c={level}: p50 {result['p50_ms']} p95 {result['p95_ms']} ms, "
                    f"{result['msg_per_s']} msg/s, errors {result['errors']}")
    finally:
        servers.stop()
    figures["rss_mb"] = {k: round(v / 2**20) for k, v in servers.peak_rss.items()}
    log(f"  peak RSS {figures['rss_mb']}")
    return figures


def aggregate(repeats: List[Dict[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"startup_s": summary(r.get("startup_s") for r in repeats)}
    out["parse_p50_ms"] = summary(r["parse"]["p50_ms"] for r in repeats if r.get("parse"))
    out["parse_p95_ms"] = summary(r["parse"]["p95_ms"] for r in repeats if r.get("parse"))
    out["rss_rasa_mb"] = summary(r["rss_mb"]["rasa"] for r in repeats)
    out["rss_actions_mb"] = summary(r["rss_mb"]["actions"] for r in repeats)
    out["rss_rasa_idle_mb"] = summary(r["rss_idle_mb"]["rasa"] for r in repeats)
    out["load_avg_1m_before"] = summary(r.get("load_avg_1m_before") for r in repeats)
    keys = sorted({k for r in repeats for k in r if k.startswith(("action_c", "no_action_c", "paced_c"))})
    for key in keys:
        runs = [r[key] for r in repeats if key in r]
        out[key] = {stat: summary(run[stat] for run in runs)
                    for stat in ("p50_ms", "p95_ms", "p99_ms", "msg_per_s", "errors", "custom_actions_per_message")}
        out[key]["messages_per_run"] = runs[0]["messages"]
        out[key]["conversations"] = runs[0]["conversations"]
        out[key]["turns"] = runs[0]["turns"]
    return out


def run(tag: str = "", model: Optional[Path] = None, tracker: str = "sqlite", lock: str = "memory",
        env_extra: Optional[Dict[str, str]] = None, repeats: int = 3, quick: bool = False,
        kinds: Optional[List[str]] = None, levels: Optional[List[int]] = None, note: str = "") -> Dict[str, Any]:
    model = model or newest_model()
    servers = Servers(model, tracker, lock, env_extra or {}, tag)
    plan = PLANS["quick" if quick else "full"]
    kinds = kinds or ["action", "no_action"]
    levels = levels or list(CONCURRENCY)
    results: Dict[str, Any] = {
        "tag": tag or "baseline", "note": note, "model": str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else str(model),
        "tracker_store": tracker, "lock_store": lock, "env": env_extra or {}, "machine": machine(),
        "plan": {str(k): {"conversations": v[0], "turns": v[1], "serial_rounds": v[2]} for k, v in plan.items()},
        "repeats": [],
    }
    for number in range(repeats):
        log(f"latency {tag or 'baseline'}: repeat {number + 1}/{repeats}")
        results["repeats"].append(one_repeat(servers, plan, kinds, levels, 30 if quick else 100))
    results["summary"] = aggregate(results["repeats"])
    write_json(OUT / f"latency{'_' + tag if tag else ''}.json", results)
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--tag", default="")
    parser.add_argument("--tracker", choices=["sqlite", "memory", "postgres"], default="sqlite")
    parser.add_argument("--lock", choices=["memory", "redis"], default="memory")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for both servers (e.g. SANIC_WORKERS=2)")
    parser.add_argument("--kinds", default="action,no_action")
    parser.add_argument("--levels", default="1,10,50")
    args = parser.parse_args(argv)
    env_extra = dict(item.split("=", 1) for item in args.env)
    repeats = args.repeats or (1 if args.quick else 3)
    run(args.tag, args.model, args.tracker, args.lock, env_extra, repeats, args.quick,
        args.kinds.split(","), [int(x) for x in args.levels.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the Prometheus metrics cost: throughput with metrics on vs off, in one run.

    .venv/bin/python bench/metrics_overhead.py                  # 3 repeats per arm, ~10 min on 2 cores
    .venv/bin/python bench/metrics_overhead.py --repeats 2 --conversations 10 --turns 6   # quicker

One Rasa server and one action server of their own (ports 5305/5355, SQLite
in results/bench/metrics_overhead/), started as `make run` starts them
(``python -m xiaoan.runtime``, JSON logs), alternately with
``XIAOAN_METRICS=on`` and ``off`` (off: nothing recorded, no /metrics route):
on, off, on, off, … so that a change of the machine's load hits both arms.
Each arm serves the same REST load (bench/load_test.py: N conversations x T
turns, every tracker read back) while a scraper asks every server for
/metrics once a second, ten times as often as ops/monitoring/prometheus.yml
does (in the "off" arm the same requests get a 404). Throughput is the load
test's messages per second; the ratio on/off is the median of each arm, and
each on/off pair's own ratio shows the spread. The scrape's own time and the
page's size are recorded too.

Writes results/bench/metrics_overhead.json and its copy bench/records/metrics_overhead.json
(kept in git, so bench/report.py can rebuild docs/benchmarks.md anywhere),
then puts the section "Metrics endpoint: cost" into docs/benchmarks.md
(bench/report.py writes the same section, last, from the same figures).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import OUT, ROOT, machine, read_json, write_json  # noqa: E402

from ops.services import ServiceError, action_server, rasa_server, sqlite_tracker_store, write_endpoints  # noqa: E402

RASA_PORT, ACTION_PORT = 5305, 5355
WORK = OUT / "metrics_overhead"
RESULT = OUT / "metrics_overhead.json"
RECORD = ROOT / "bench" / "records" / "metrics_overhead.json"
SECTION_TITLE = "## Metrics endpoint: cost (`bench/metrics_overhead.py`, run separately)"
SCRAPE_EVERY_S = 1.0
# Pairs whose ratios stay inside this band of 1.0 are within what one arm varies by itself here.
NOISE_BAND = 0.05


def load_average() -> float:
    return os.getloadavg()[0]


class Scraper(threading.Thread):
    """GET /metrics on both servers every second, as an over-eager Prometheus would."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.times_ms: List[float] = []
        self.sizes: List[int] = []
        self.statuses: List[int] = []

    def run(self) -> None:
        while not self.stopping.wait(SCRAPE_EVERY_S):
            for port in (RASA_PORT, ACTION_PORT):
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
                        body = answer.read()
                        self.statuses.append(answer.status)
                except urllib.error.HTTPError as error:
                    body = error.read()
                    self.statuses.append(error.code)
                except OSError:
                    self.statuses.append(0)
                    continue
                if port == RASA_PORT:
                    self.times_ms.append((time.perf_counter() - started) * 1000)
                    self.sizes.append(len(body))


def one_arm(metrics_on: bool, repeat: int, args: argparse.Namespace) -> Dict[str, Any]:
    arm = "on" if metrics_on else "off"
    folder = WORK / f"{arm}-{repeat}"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db*"):
        stale.unlink()
    env = {"XIAOAN_METRICS": arm, "XIAOAN_LOG_FORMAT": "json", "PYTHONWARNINGS": "ignore::DeprecationWarning",
           "SANIC_HOST": "127.0.0.1"}
    endpoints = write_endpoints(folder / "endpoints.yml", ACTION_PORT, sqlite_tracker_store(folder / "tracker.db"))
    actions = action_server(ACTION_PORT, folder / "actions.log",
                            {**env, "XIAOAN_BACKOFFICE_URL": f"sqlite:///{folder / 'backoffice.db'}"})
    rasa = rasa_server(RASA_PORT, endpoints, folder / "rasa.log", env=env)
    try:
        actions.start()
        rasa.start()
        actions.wait_ready(120)
        rasa.wait_ready(600)
        # warm-up: the first messages load lazy parts; not measured
        subprocess.run([sys.executable, str(ROOT / "bench" / "load_test.py"), "--url", f"http://127.0.0.1:{RASA_PORT}",
                        "--conversations", "4", "--turns", "3"], cwd=ROOT, capture_output=True, timeout=600)
        load_before = load_average()
        scraper = Scraper()
        scraper.start()
        out = folder / "load.json"
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "load_test.py"), "--url", f"http://127.0.0.1:{RASA_PORT}",
             "--conversations", str(args.conversations), "--turns", str(args.turns), "--json-out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=1800,
        )
        scraper.stopping.set()
        scraper.join(15)
        figures = json.loads(out.read_text(encoding="utf-8"))
    finally:
        rasa.stop()
        actions.stop()
    result = {
        "arm": arm, "repeat": repeat, "load_avg_1m_before": round(load_before, 2),
        "msg_per_s": figures["messages_per_second"], "p50_ms": figures["latency_ms"]["p50"],
        "p95_ms": figures["latency_ms"]["p95"], "errors": figures["errors"], "failed": figures["failed"],
        "scrapes": len(scraper.statuses), "scrape_statuses": sorted(set(scraper.statuses)),
        "scrape_ms_p50": round(statistics.median(scraper.times_ms), 2) if scraper.times_ms else None,
        "scrape_ms_max": round(max(scraper.times_ms), 2) if scraper.times_ms else None,
        "page_bytes": max(scraper.sizes) if scraper.sizes and metrics_on else None,
        "load_exit": done.returncode,
    }
    print(f"  metrics {arm:<3} #{repeat}: {result['msg_per_s']} msg/s, p50 {result['p50_ms']} ms, "
          f"p95 {result['p95_ms']} ms, errors {result['errors']}, load avg {result['load_avg_1m_before']}", flush=True)
    return result


def summarise(runs: List[Dict[str, Any]], args: argparse.Namespace) -> Dict[str, Any]:
    on = [r for r in runs if r["arm"] == "on"]
    off = [r for r in runs if r["arm"] == "off"]

    def median(rows: List[Dict[str, Any]], key: str) -> Optional[float]:
        values = [r[key] for r in rows if r.get(key) is not None]
        return round(statistics.median(values), 2) if values else None

    pairs = [round(a["msg_per_s"] / b["msg_per_s"], 3) for a, b in zip(on, off) if b["msg_per_s"]]
    ratio = round(median(on, "msg_per_s") / median(off, "msg_per_s"), 3) if median(off, "msg_per_s") else None
    # how much one arm varies by itself: the spread of the off arm's repeats around their median
    off_values = [r["msg_per_s"] for r in off]
    own_spread = round((max(off_values) - min(off_values)) / statistics.median(off_values), 3) if len(off_values) > 1 else None
    measurable = ratio is not None and abs(1 - ratio) > max(NOISE_BAND, own_spread or 0)
    return {
        "machine": machine(), "conversations": args.conversations, "turns": args.turns, "repeats": args.repeats,
        "scrape_every_s": SCRAPE_EVERY_S, "runs": runs,
        "on": {"msg_per_s": median(on, "msg_per_s"), "p50_ms": median(on, "p50_ms"), "p95_ms": median(on, "p95_ms")},
        "off": {"msg_per_s": median(off, "msg_per_s"), "p50_ms": median(off, "p50_ms"), "p95_ms": median(off, "p95_ms")},
        "ratio_on_off": ratio, "paired_ratios": pairs, "off_arm_own_spread": own_spread,
        "scrape_ms_p50": median(on, "scrape_ms_p50"), "scrape_ms_max": max((r["scrape_ms_max"] or 0) for r in on) if on else None,
        "page_bytes": max((r["page_bytes"] or 0) for r in on) if on else None,
        "errors": sum(r["errors"] for r in runs), "failed_conversations": sum(r["failed"] for r in runs),
        "verdict": "measurable" if measurable else "not measurable",
    }


# ---------------------------------------------------------------- the report section

def latest() -> Optional[Dict[str, Any]]:
    """This machine's results/bench/ figures, else the copy in git; the later when both exist."""
    found = [d for d in (read_json(RESULT), read_json(RECORD)) if d and d.get("runs")]
    return max(found, key=lambda d: (d.get("machine") or {}).get("when", "")) if found else None


def section(data: Optional[Dict[str, Any]]) -> List[str]:
    """The "Metrics endpoint: cost" section of docs/benchmarks.md (empty without figures)."""
    if not data:
        return []
    when = (data.get("machine") or {}).get("when", "")
    L = ["", SECTION_TITLE, "",
         f"One run ({when}, 2 cores shared with other work): one Rasa server and its action server, started as "
         f"`make run` starts them, alternately with `XIAOAN_METRICS=on` and `off` ({data['repeats']} times each, "
         f"on and off in turn); each time {data['conversations']} concurrent conversations x {data['turns']} turns "
         f"over REST (bench/load_test.py, every tracker read back) while /metrics is requested every "
         f"{data['scrape_every_s']:g} s (ten times Prometheus' interval in ops/monitoring/; a 404 when off).", "",
         "| arm | load avg before | msg/s | p50 | p95 | errors |", "|---|---|---|---|---|---|"]
    for run in data["runs"]:
        L.append(f"| metrics {run['arm']} #{run['repeat']} | {run['load_avg_1m_before']} | {run['msg_per_s']} | "
                 f"{run['p50_ms']:.0f} ms | {run['p95_ms']:.0f} ms | {run['errors']} |")
    ratio = data.get("ratio_on_off")
    pairs = ", ".join(f"{p:.2f}" for p in data.get("paired_ratios") or [])
    spread = data.get("off_arm_own_spread")
    L += ["",
          f"**Throughput ratio, metrics on / off: {ratio:.2f}** (median {data['on']['msg_per_s']} vs "
          f"{data['off']['msg_per_s']} msg/s; each on/off pair: {pairs}). The off arm alone varies by "
          f"{spread:.0%} between its repeats, so the difference is **{data['verdict']}**"
          + (" (inside the run-to-run noise)." if data["verdict"] == "not measurable" else "."),
          f"A scrape of one Rasa server's page ({data['page_bytes']} bytes) takes {data['scrape_ms_p50']} ms "
          f"(median; at most {data['scrape_ms_max']} ms). Recording is a few counter and histogram updates per "
          f"message (xiaoan/runtime/metrics.py); the page is built only when it is asked for.",
          "",
          "    .venv/bin/python bench/metrics_overhead.py      # this section, again (about 10 minutes)"]
    return L


def splice(lines: List[str], path: Path) -> None:
    """Replaces the section in docs/benchmarks.md, or adds it at the end (where bench/report.py puts it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = "\n".join(lines).strip("\n") + "\n"
    if SECTION_TITLE in text:
        before, rest = text.split(SECTION_TITLE, 1)
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        text = before.rstrip("\n") + "\n\n" + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    print(f"metrics on vs off: {args.repeats} x 2 arms of {args.conversations} x {args.turns} turns", flush=True)
    runs = []
    try:
        for repeat in range(1, args.repeats + 1):
            for metrics_on in (True, False):
                runs.append(one_arm(metrics_on, repeat, args))
    except ServiceError as problem:
        print(problem, file=sys.stderr)
        return 1
    data = summarise(runs, args)
    write_json(RESULT, data)
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    write_json(RECORD, data)
    print(f"ratio on/off {data['ratio_on_off']} (pairs {data['paired_ratios']}, off arm's own spread "
          f"{data['off_arm_own_spread']}): {data['verdict']}; scrape p50 {data['scrape_ms_p50']} ms, "
          f"page {data['page_bytes']} bytes")
    if not args.no_docs:
        splice(section(data), ROOT / "docs" / "benchmarks.md")
        print("docs/benchmarks.md: section updated")
    return 0 if data["errors"] == 0 and data["failed_conversations"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

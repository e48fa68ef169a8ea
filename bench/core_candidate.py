"""A candidate config that changes the dialogue model: train it whole, run the test stories, time it.

For configs whose effect on latency needs a full model (NLU + policies), e.g.
bench/configs/f_no_ted.yml (no TEDPolicy):
  1. `rasa train --config CONFIG --augmentation 0` (niced, no training cache) into
     results/bench/candidates/<tag>/ (never models/)
  2. `rasa test core --stories tests/test_stories.yml --fail-on-prediction-errors` on it: how many
     test stories still pass (the project's make test-stories criterion)
  3. bench/latency.py on it and, in the same sitting, on the project's model (newest models/*.tar.gz),
     both with the cached-validator patch, action scripts at 1/10/50 concurrent, --repeats each

    .venv/bin/python bench/core_candidate.py --config bench/configs/f_no_ted.yml --tag no_ted

Writes results/bench/candidates/<tag>.json (bench/run_all.py never deletes it; the report shows it
with its own date). Slow (~10 min): not part of the default `make bench` run.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NICE, OUT, RASA, ROOT, bench_env, log, machine, write_json  # noqa: E402
import latency  # noqa: E402

CAND_OUT = OUT / "candidates"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    out_dir = CAND_OUT / args.tag
    out_dir.mkdir(parents=True, exist_ok=True)
    config_copy = out_dir / "config.yml"
    config_copy.write_text((ROOT / args.config).read_text(encoding="utf-8"), encoding="utf-8")
    result = {"tag": args.tag, "config": str(args.config), "machine": machine()}

    log(f"{args.tag}: rasa train (full) with {args.config}")
    started = time.perf_counter()
    with open(out_dir / "train.log", "w") as handle:
        rc = subprocess.run(NICE + [RASA, "train", "--config", str(config_copy), "--augmentation", "0",
                                    "--out", str(out_dir), "--fixed-model-name", args.tag],
                            cwd=ROOT, env=bench_env(), stdout=handle, stderr=subprocess.STDOUT).returncode
    result["train_seconds"] = round(time.perf_counter() - started, 1)
    model = out_dir / f"{args.tag}.tar.gz"
    if rc != 0 or not model.exists():
        result["error"] = f"training failed (exit {rc}); see {out_dir / 'train.log'}"
        write_json(CAND_OUT / f"{args.tag}.json", result)
        return 1
    result["model_mb"] = round(model.stat().st_size / 2**20, 2)

    log(f"{args.tag}: test stories")
    stories_out = out_dir / "core"
    with open(out_dir / "stories.log", "w") as handle:
        rc = subprocess.run(NICE + [RASA, "test", "core", "--model", str(model), "--stories",
                                    "tests/test_stories.yml", "--out", str(stories_out),
                                    "--fail-on-prediction-errors"],
                            cwd=ROOT, env=bench_env(), stdout=handle, stderr=subprocess.STDOUT).returncode
    result["stories_exit"] = rc
    total = re.findall(r"(?m)^\s*- story: (.+)", (ROOT / "tests/test_stories.yml").read_text(encoding="utf-8"))
    failed_file = stories_out / "failed_test_stories.yml"
    failed = (re.findall(r"(?m)^\s*- story: (.+)", failed_file.read_text(encoding="utf-8"))
              if failed_file.exists() else [])
    result["stories_passed"] = f"{len(total) - len(failed)} / {len(total)}"
    result["failed_stories"] = failed[:20]

    for tag, path in ((f"{args.tag}_ref", latency.newest_model()), (args.tag, model)):
        log(f"{args.tag}: latency of {path.name}")
        figures = latency.run(tag=f"cand_{tag}", model=path, repeats=args.repeats, kinds=["action"])
        result[f"latency_{'reference' if tag.endswith('_ref') else 'candidate'}"] = {
            "model": figures["model"], "summary": figures["summary"]}
        (OUT / f"latency_cand_{tag}.json").unlink(missing_ok=True)  # keep it out of the main run's tables
    write_json(CAND_OUT / f"{args.tag}.json", result)
    log(f"wrote {CAND_OUT / (args.tag + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runtime redesign (issue 10): the serving figures before and after, measured in one sitting.

One git worktree per side (--side NAME=REV, in turn order; default before=ce66112, the last commit
before the redesign, and after=HEAD): committed code only, so nobody's uncommitted edits leak in.
Each gets a symlink to this checkout's .venv and its own model, trained the way that commit's
Makefile trains (`rasa train --augmentation 0` before the runtime existed, `python -m
xiaoan.runtime train --augmentation 0` after; niced, its own Rasa cache under --trees, never into
models/ here). --rule-check-off NAME trains that side with RulePolicy's contradiction check off,
in its worktree only: for a commit whose stories and rules contradict each other, so that
`train` refuses it.

Then the sides take turns, before, after, before, after, … (--rounds, default 3): each turn runs
THAT SIDE's own `bench/latency.py --repeats 1` from its worktree, so each side's servers start
the way its `make run` starts them (before: `rasa run actions` + `python -m xiaoan.serve run`,
endpoints with `xiaoan.tracker_store`; after: `python -m xiaoan.runtime run actions` +
`python -m xiaoan.runtime run`, endpoints with the facts NLG and `xiaoan.runtime.tracker_store`).
The load and measuring code of the two latency.py files is the same (`git diff` shows only the
server start and the endpoints file differ). Ports 5205/5255, one side at a time; the 1-min load
average is recorded before every turn (which first waits, up to --max-wait, for the load to fall
to --max-load: other engineers share the machine). Then, unless --no-profile, each side's own
bench/profile_server.py runs once (py-spy, 10 conversations), and the collapsed stacks are grouped
with one table that knows both layouts (xiaoan/*.py before; xiaoan/runtime, xiaoan/text after).

Figures (per side: median [min–max] over the rounds; ratio = median of a side / median of the
first side, and the same ratio within each round): paced p50/p95 at 10 conversations (1-4 s
before each turn), back-to-back p95 at 10, POST /model/parse p50, msg/s at 50 back-to-back, peak
RSS of the Rasa server, start-up (both processes started → first non-empty REST answer). A figure
"moved" when the two sides' ranges do not overlap, every round's pair moved the same way and the
medians differ by 3 % or more; anything else is within this machine's noise.

Writes results/bench/runtime_before_after.json and a copy in bench/records/ (results/ is not in
git); bench/report.py renders it, with bench/runtime_before_after.md (the reading of the figures,
by hand), as the section "Runtime redesign (issue 10)" of docs/benchmarks.md.

    .venv/bin/python bench/runtime_before_after.py                      # before=ce66112 after=HEAD, 3 rounds
    .venv/bin/python bench/runtime_before_after.py --side before=ce66112 --side after=4f5c044 \
        --side head=0615145 --rule-check-off head --cleanup             # the run on the page (2026-12-02)
    .venv/bin/python bench/report.py                                    # the page again

About 4-5 min per turn and 5-10 min per training on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NICE, OUT, ROOT, log, machine, summary, write_json  # noqa: E402

RESULT = OUT / "runtime_before_after.json"
RECORD = ROOT / "bench" / "records" / "runtime_before_after.json"
BEFORE_REV = "ce66112"

# (key, label, where in one latency.py repeat, unit, digits, better)
FIGURES: List[Tuple[str, str, Tuple[str, ...], str, int, str]] = [
    ("paced10_p50", "p50 reply, 10 conversations paced 1-4 s, action scripts", ("paced_c10", "p50_ms"), "ms", 0, "lower"),
    ("paced10_p95", "p95 reply, 10 conversations paced 1-4 s, action scripts (target < 150 ms)",
     ("paced_c10", "p95_ms"), "ms", 0, "lower"),
    ("stress10_p95", "p95 reply, 10 conversations back-to-back (stress)", ("action_c10", "p95_ms"), "ms", 0, "lower"),
    ("parse_p50", "NLU parse p50, POST /model/parse (target < 15 ms)", ("parse", "p50_ms"), "ms", 1, "lower"),
    ("msgs50", "messages/s, one Rasa server, 50 conversations back-to-back, action scripts (target ≥ 40)",
     ("action_c50", "msg_per_s"), "msg/s", 1, "higher"),
    ("rss_peak", "Rasa server RSS, peak under load (target < 1.5 GB)", ("rss_mb", "rasa"), "MB", 0, "lower"),
    ("startup", "start-up: both servers started → first non-empty REST answer", ("startup_s",), "s", 1, "lower"),
]
# Shown in a second table: context for the figures above.
MORE: List[Tuple[str, str, Tuple[str, ...], str, int, str]] = [
    ("single_p50", "p50 reply, 1 conversation, action scripts", ("action_c1", "p50_ms"), "ms", 0, "lower"),
    ("single_p95", "p95 reply, 1 conversation, action scripts", ("action_c1", "p95_ms"), "ms", 0, "lower"),
    ("stress10_p50", "p50 reply, 10 back-to-back", ("action_c10", "p50_ms"), "ms", 0, "lower"),
    ("stress10_msgs", "messages/s, 10 back-to-back", ("action_c10", "msg_per_s"), "msg/s", 1, "higher"),
    ("stress50_p95", "p95 reply, 50 back-to-back", ("action_c50", "p95_ms"), "ms", 0, "lower"),
    ("smalltalk50_msgs", "messages/s, 50 back-to-back, small talk (no custom action)",
     ("no_action_c50", "msg_per_s"), "msg/s", 1, "higher"),
    ("paced50_p95", "p95 reply, 50 conversations paced 1-4 s", ("paced_c50", "p95_ms"), "ms", 0, "lower"),
    ("parse_p95", "NLU parse p95", ("parse", "p95_ms"), "ms", 1, "lower"),
    ("rss_idle", "Rasa server RSS after start-up (idle)", ("rss_idle_mb", "rasa"), "MB", 0, "lower"),
    ("rss_actions", "action server RSS, peak", ("rss_mb", "actions"), "MB", 0, "lower"),
    ("custom_actions", "custom actions per message (action scripts, 10 back-to-back)",
     ("action_c10", "custom_actions_per_message"), "", 2, "none"),
    ("errors50", "errors at 50 back-to-back", ("action_c50", "errors"), "", 0, "lower"),
]
MOVE_MIN = 0.03  # a median ratio closer to 1 than this is never called a move

# Profile categories that know both layouts (before: xiaoan/*.py; after: xiaoan/runtime, xiaoan/text).
EXTRA_CATEGORIES = {
    "tracker store: save (SQL write, masking)": ["save (xiaoan/tracker_store.py", "save (xiaoan/runtime/tracker_store.py",
                                                 "save (rasa/core/tracker_store.py", "stream_events"],
    "  xiaoan text components": ["xiaoan/components/", "xiaoan/normalize.py", "xiaoan/masking.py", "xiaoan/text/"],
    "ingress (admit: normalise, mask, fraud signals)": ["ingress.py"],
    "response rendering (NLG)": ["rasa/core/nlg/", "xiaoan/runtime/nlg.py", "xiaoan/content.py"],
    "action-reply validation (jsonschema)": ["jsonschema/", "_validate_action_result"],
    "event class lookup (resolve_by_type)": ["resolve_by_type", "fast_events.py", "all_subclasses"],
    "metrics / health (xiaoan/runtime)": ["xiaoan/runtime/metrics.py", "xiaoan/runtime/metrics/", "xiaoan/runtime/health.py",
                                          "prometheus_client/"],
    "domain (Domain methods)": ["rasa/shared/core/domain.py"],
}


# ---------------------------------------------------------------- set-up

def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def worktree(path: Path, rev: str) -> Path:
    """A detached worktree of `rev` at `path` (made if missing) with this checkout's .venv linked in."""
    if not path.exists():
        git("worktree", "add", "--detach", str(path), rev)
    have, want = git("rev-parse", "HEAD", cwd=path), git("rev-parse", rev)
    if have != want:
        raise SystemExit(f"{path} is at {have[:7]}, not {rev} ({want[:7]}): remove it first")
    venv = path / ".venv"
    if not venv.exists():
        venv.symlink_to(ROOT / ".venv")
    return path


RULE_CHECK_OFF = "    check_for_contradictions: false\n"


def rule_check_off(tree: Path) -> str:
    """RulePolicy's contradiction check off in that worktree's config.yml (only there): for a commit
    whose stories and rules contradict each other, so that `train` refuses it. Returns the change."""
    config = tree / "config.yml"
    text = config.read_text(encoding="utf-8")
    if RULE_CHECK_OFF not in text:
        anchor = "  - name: RulePolicy\n"
        if text.count(anchor) != 1:
            raise SystemExit(f"{config}: no single RulePolicy entry to change")
        config.write_text(text.replace(anchor, anchor + RULE_CHECK_OFF), encoding="utf-8")
    return "config.yml: RulePolicy check_for_contradictions: false (in the worktree only)"


def train_command(tree: Path) -> List[str]:
    """How that commit's Makefile trains: `python -m xiaoan.runtime train` once the runtime exists,
    plain `rasa train` before it (ce66112's Makefile: RASA := $(BIN)/rasa)."""
    if (tree / "xiaoan" / "runtime" / "__main__.py").exists():
        return [str(tree / ".venv" / "bin" / "python"), "-m", "xiaoan.runtime", "train", "--augmentation", "0"]
    return [str(tree / ".venv" / "bin" / "rasa"), "train", "--augmentation", "0"]


def side_env(cache: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1",
               RASA_TELEMETRY_ENABLED="false", RASA_CACHE_DIRECTORY=str(cache))
    env.pop("PYTHONPATH", None)
    return env


def model_of(tree: Path, cache: Path, retrain: bool) -> Dict[str, Any]:
    """The worktree's own model: the newest models/*.tar.gz there, trained first if there is none."""
    models = sorted((tree / "models").glob("*.tar.gz"), key=os.path.getmtime)
    info: Dict[str, Any] = {"command": " ".join(train_command(tree)).replace(str(tree) + "/", "")}
    recorded = tree / "train_info.json"  # written below when this script trained it
    if models and not retrain:
        info.update(json.loads(recorded.read_text(encoding="utf-8")) if recorded.exists() else {})
        info.update(model=str(models[-1]), model_mb=round(models[-1].stat().st_size / 2**20, 1))
        info.setdefault("trained", "earlier, in this worktree")
        return info
    command = NICE + train_command(tree)
    log(f"training in {tree}: {' '.join(command)}")
    info["load_avg_1m_before"] = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    with open(tree / "train.log", "w", encoding="utf-8") as handle:
        result = subprocess.run(command, cwd=tree, env=side_env(cache), stdout=handle, stderr=subprocess.STDOUT)
    info["train_seconds"] = round(time.perf_counter() - started, 1)
    if result.returncode != 0:
        raise SystemExit(f"training failed in {tree} (exit {result.returncode}); see {tree / 'train.log'}")
    models = sorted((tree / "models").glob("*.tar.gz"), key=os.path.getmtime)
    info.update(trained=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    write_json(recorded, info)
    info.update(model=str(models[-1]), model_mb=round(models[-1].stat().st_size / 2**20, 1))
    return info


def ports_free(ports: Tuple[int, ...] = (5205, 5255), wait_s: float = 600.0) -> None:
    """Waits until nobody listens on the benchmark's ports (another `make bench` may be running)."""
    deadline = time.time() + wait_s
    while True:
        busy = []
        for port in ports:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    busy.append(port)
        if not busy:
            return
        if time.time() > deadline:
            raise SystemExit(f"ports {busy} still in use after {wait_s:.0f} s")
        log(f"ports {busy} in use; waiting")
        time.sleep(15)


# ---------------------------------------------------------------- measuring

def calm(max_load: float, wait_s: float) -> float:
    """Waits (up to wait_s) for the 1-min load average to fall to max_load; returns the seconds waited."""
    started = time.time()
    while os.getloadavg()[0] > max_load and time.time() - started < wait_s:
        time.sleep(10)
    return round(time.time() - started)


def stop_left_over(tree: Path) -> None:
    """Servers a crashed latency.py left running: only processes started from this side's worktree
    on the benchmark's ports, by pid."""
    import psutil

    for proc in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(proc.info.get("cmdline") or [])
        if str(tree) in line and ("5205" in line or "5255" in line):
            log(f"stopping left-over pid {proc.pid}: {line[:120]}")
            try:
                proc.terminate()
                proc.wait(20)
            except psutil.Error:
                pass


def one_turn(side: str, tree: Path, model: str, cache: Path, round_: int, max_load: float,
             wait_s: float, quick: bool = False) -> Dict[str, Any]:
    """That side's own bench/latency.py, one repeat (its servers restarted, so start-up counts)."""
    ports_free()
    waited = calm(max_load, wait_s)
    tag = f"rba_{side}"
    load = round(os.getloadavg()[0], 2)
    log(f"round {round_} {side}: load {load}")
    command = NICE + [str(tree / ".venv" / "bin" / "python"), "bench/latency.py", "--repeats", "1",
                      "--tag", tag, "--model", model] + (["--quick"] if quick else [])
    started = time.perf_counter()
    with open(OUT / "runtime_before_after" / f"{side}_{round_}.log", "w", encoding="utf-8") as handle:
        result = subprocess.run(command, cwd=tree, env=side_env(cache), stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        stop_left_over(tree)
        raise SystemExit(f"{side} round {round_}: bench/latency.py failed (exit {result.returncode})")
    data = json.loads((tree / "results" / "bench" / f"latency_{tag}.json").read_text(encoding="utf-8"))
    repeat = data["repeats"][0]
    repeat["load_avg_1m_before_turn"] = load
    repeat["waited_for_load_s"] = waited
    repeat["load_avg_1m_after_turn"] = round(os.getloadavg()[0], 2)
    repeat["turn_seconds"] = round(time.perf_counter() - started, 1)
    repeat["round"] = round_
    repeat["started_at"] = data["machine"]["when"]
    return repeat


def dig(repeat: Dict[str, Any], path: Tuple[str, ...]) -> Optional[float]:
    value: Any = repeat
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, (int, float)) else None


def compare(figures: List[Tuple[str, str, Tuple[str, ...], str, int, str]], runs: Dict[str, List[Dict[str, Any]]],
            reference: str) -> Dict[str, Any]:
    """Per figure: each side's summary and runs; for every other side its ratio to the reference
    (medians), the ratio within each round, and the verdict."""
    out: Dict[str, Any] = {}
    for key, label, path, unit, digits, better in figures:
        values = {side: [dig(r, path) for r in side_runs] for side, side_runs in runs.items()}
        entry: Dict[str, Any] = {"label": label, "unit": unit, "digits": digits, "better": better,
                                 "summary": {side: summary(v) for side, v in values.items()}, "runs": values,
                                 "ratio": {}, "paired_ratios": {}, "verdict": {}}
        sb = entry["summary"][reference]
        for side in runs:
            sa = entry["summary"][side]
            if side == reference or not sb["median"] or sa["median"] is None:
                continue
            pairs = [a / b for a, b in zip(values[side], values[reference]) if a is not None and b]
            entry["ratio"][side] = round(sa["median"] / sb["median"], 3)
            entry["paired_ratios"][side] = [round(x, 3) for x in pairs]
            entry["verdict"][side] = verdict(sb, sa, pairs, better)
        out[key] = entry
    return out


def verdict(sb: Dict[str, Any], sa: Dict[str, Any], pairs: List[float], better: str) -> str:
    """'better' / 'worse' when the ranges do not overlap, every round's pair moved the same way and
    the medians differ by MOVE_MIN or more; otherwise 'within noise'."""
    if better == "none" or not pairs:
        return "n/a"
    ratio = sa["median"] / sb["median"]
    up = sa["min"] > sb["max"] and all(p > 1 for p in pairs) and ratio >= 1 + MOVE_MIN
    down = sa["max"] < sb["min"] and all(p < 1 for p in pairs) and ratio <= 1 - MOVE_MIN
    if not (up or down):
        return "within noise"
    return "better" if (up and better == "higher") or (down and better == "lower") else "worse"


# ---------------------------------------------------------------- profiles

def profile(side: str, tree: Path, model: str, cache: Path, seconds: int, max_load: float,
            wait_s: float) -> Dict[str, Any]:
    """That side's own bench/profile_server.py; the stacks grouped with one table for both sides."""
    import profile_server

    ports_free()
    calm(max_load, wait_s)
    tag = f"rba_{side}"
    load = round(os.getloadavg()[0], 2)
    command = NICE + [str(tree / ".venv" / "bin" / "python"), "bench/profile_server.py", "--tag", tag,
                      "--seconds", str(seconds), "--model", model]
    with open(OUT / "runtime_before_after" / f"profile_{side}.log", "w", encoding="utf-8") as handle:
        subprocess.run(command, cwd=tree, env=side_env(cache), stdout=handle, stderr=subprocess.STDOUT)
    raw = tree / "results" / "bench" / f"profile_{tag}.txt"
    if not raw.exists():
        return {"error": "no profile"}
    kept = OUT / "runtime_before_after" / f"profile_{side}.txt"
    shutil.copy2(raw, kept)
    categories = dict(profile_server.CATEGORIES)
    categories.update(EXTRA_CATEGORIES)
    saved = profile_server.CATEGORIES
    profile_server.CATEGORIES = categories
    try:
        figures = profile_server.aggregate(kept)
    finally:
        profile_server.CATEGORIES = saved
    own = json.loads((tree / "results" / "bench" / f"profile_{tag}.json").read_text(encoding="utf-8"))
    figures["load"] = [r.get("msg_per_s") for r in own.get("load", [])]
    figures["load_avg_1m_before"] = load
    figures["stacks"] = str(kept.relative_to(ROOT))
    figures["top_inclusive"] = figures["top_inclusive"][:40]
    return figures


# ---------------------------------------------------------------- main

def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", action="append", metavar="NAME=REV",
                        help=f"a side and its commit, in turn order; the first is the reference "
                             f"(default: before={BEFORE_REV} after=HEAD)")
    parser.add_argument("--rule-check-off", action="append", default=[], metavar="NAME",
                        help="train that side with RulePolicy's contradiction check off (worktree only)")
    parser.add_argument("--note", action="append", default=[], metavar="NAME=TEXT", help="what a side is, for the page")
    parser.add_argument("--trees", type=Path, default=Path("/tmp"), help="where the worktrees go (bench_NAME)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--retrain", action="store_true", help="train even if the worktree has a model")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--profile-seconds", type=int, default=25)
    parser.add_argument("--max-load", type=float, default=2.5,
                        help="before each turn, wait for the 1-min load average to fall to this (default %(default)s)")
    parser.add_argument("--max-wait", type=float, default=300.0,
                        help="... but no longer than this many seconds, then measure anyway (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="latency.py --quick (small loads): a smoke test only")
    parser.add_argument("--cleanup", action="store_true", help="git worktree remove --force every side's worktree at the end")
    args = parser.parse_args(argv)

    (OUT / "runtime_before_after").mkdir(parents=True, exist_ok=True)
    pairs = [item.split("=", 1) for item in (args.side or [f"before={BEFORE_REV}", "after=HEAD"])]
    names = [name for name, _ in pairs]
    reference = names[0]
    notes = dict(item.split("=", 1) for item in args.note)
    revs = {name: git("rev-parse", rev) for name, rev in pairs}
    trees = {name: worktree(args.trees / f"bench_{name}", revs[name]) for name in names}
    caches = {name: args.trees / f"bench_{name}_cache" for name in names}
    result: Dict[str, Any] = {
        "what": "runtime redesign (issue 10): before vs after, one sitting, sides alternated",
        "machine": machine(),
        "command": "bench/runtime_before_after.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "reference": reference,
        "sides": {name: {"commit": revs[name], "subject": git("log", "-1", "--format=%s", revs[name])[:160],
                         "note": notes.get(name, "")} for name in names},
        "order": [],
    }
    for name in names:
        if name in args.rule_check_off:
            result["sides"][name]["changed"] = rule_check_off(trees[name])
        result["sides"][name]["training"] = model_of(trees[name], caches[name], args.retrain)
    started = time.perf_counter()
    runs: Dict[str, List[Dict[str, Any]]] = {name: [] for name in names}
    for round_ in range(1, args.rounds + 1):
        for name in names:
            model = result["sides"][name]["training"]["model"]
            runs[name].append(one_turn(name, trees[name], model, caches[name], round_, args.max_load, args.max_wait,
                                        args.quick))
            result["order"].append(f"{name}{round_}")
            last = runs[name][-1]
            log(f"  {name}: paced p95 {dig(last, ('paced_c10', 'p95_ms'))} ms, stress p95 "
                f"{dig(last, ('action_c10', 'p95_ms'))} ms, parse {dig(last, ('parse', 'p50_ms'))} ms, "
                f"{dig(last, ('action_c50', 'msg_per_s'))} msg/s, RSS {dig(last, ('rss_mb', 'rasa'))} MB, "
                f"start-up {last.get('startup_s')} s")
    result["load_avg_1m_before_turns"] = {name: [r["load_avg_1m_before_turn"] for r in runs[name]] for name in names}
    result["figures"] = compare(FIGURES, runs, reference)
    result["more"] = compare(MORE, runs, reference)
    result["runs"] = runs
    if args.profile:
        result["profiles"] = {name: profile(name, trees[name], result["sides"][name]["training"]["model"],
                                            caches[name], args.profile_seconds, args.max_load, args.max_wait)
                              for name in names}
    result["seconds"] = round(time.perf_counter() - started, 1)
    for name in names:  # the worktrees (and the models in them) go away
        result["sides"][name]["training"]["model"] = Path(result["sides"][name]["training"]["model"]).name
    write_json(RESULT, result)
    write_json(RECORD, result)
    log(f"wrote {RESULT.relative_to(ROOT)} and {RECORD.relative_to(ROOT)}")
    for key, entry in result["figures"].items():
        log(f"  {key}: " + ", ".join(f"{n} {entry['summary'][n]['median']}" for n in names)
            + "; ratios " + ", ".join(f"{n} {entry['ratio'].get(n)} ({entry['verdict'].get(n)})" for n in names[1:]))
    if args.cleanup:
        for tree in trees.values():
            git("worktree", "remove", "--force", str(tree))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A/B: a reference commit against the work tree, side by side in one sitting, as ratios.

Why: on a shared 2-core machine an absolute figure says little; two sides measured
in turn, alternating, in the same minutes, give ratios that do. `make bench-ab`
(and `make bench`) runs it.

The reference (`--base`, default the last release tag, else origin/main, else main)
gets a detached worktree under --trees with this checkout's .venv linked in and its
own model, trained the way its Makefile trains (`python -m xiaoan.runtime train
--augmentation 0`, niced) unless it has one. The work tree is this checkout with its
newest models/*.tar.gz (`make train` first). Each side's servers start from its own
tree (`bench/cpu_load.py`), then, per turn:

  start-up   both servers started → first non-empty REST answer
  stress     --conversations conversations × --turns turns back-to-back over REST, every
             message with a verified identity: msg/s, p95, CPU ms per message (Rasa +
             action server, user + system)
  paced      --paced conversations, 1-4 s before each turn: p95
  RSS        the Rasa server's, after the loads and at its peak

Sides alternate (base, head, base, head, ...) for --rounds rounds; figures are medians
over rounds, ratios head / base of the medians, with each round's own ratio beside it.
Writes results/bench/ab.json (and --record: bench/records/ab.json).

    .venv/bin/python bench/ab.py --base main --rounds 2
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NICE, OUT, ROOT, log, machine, write_json  # noqa: E402
from cpu_load import TreeServers, measured_load  # noqa: E402

RESULT = OUT / "ab.json"
RECORD = ROOT / "bench" / "records" / "ab.json"
# (key, label, better)
FIGURES: List[Tuple[str, str, str]] = [
    ("cpu_ms_per_msg", "CPU per message, Rasa + action server (ms)", "lower"),
    ("cpu_ms_rasa", "  of which the Rasa server (ms)", "lower"),
    ("cpu_ms_actions", "  of which the action server (ms)", "lower"),
    ("msg_per_s", "messages/s, one Rasa server, back-to-back", "higher"),
    ("stress_p95_ms", "p95 reply, back-to-back (ms)", "lower"),
    ("paced_p95_ms", "p95 reply, paced 1-4 s (ms)", "lower"),
    ("rss_mb", "Rasa server RSS after the loads (MB)", "lower"),
    ("rss_peak_mb", "Rasa server RSS, peak (MB)", "lower"),
    ("startup_s", "start-up to first answer (s)", "lower"),
]


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def default_base() -> str:
    """The last release tag, else origin/main, else main."""
    try:
        return git("describe", "--tags", "--abbrev=0")
    except subprocess.CalledProcessError:
        pass
    for ref in ("origin/main", "main"):
        try:
            git("rev-parse", "--verify", "--quiet", ref)
            return ref
        except subprocess.CalledProcessError:
            continue
    raise SystemExit("no --base given and no tag, origin/main or main to compare with")


def base_tree(rev: str, trees: Path) -> Path:
    """A detached worktree of `rev` (made once per commit) with this checkout's .venv linked in."""
    commit = git("rev-parse", rev)
    path = trees / f"ab_base_{commit[:10]}"
    if not path.exists():
        git("worktree", "add", "--detach", str(path), commit)
    if not (path / ".venv").exists():
        (path / ".venv").symlink_to(ROOT / ".venv")
    return path


def newest_model(tree: Path) -> Optional[Path]:
    models = sorted((tree / "models").glob("*.tar.gz"), key=os.path.getmtime)
    return models[-1] if models else None


def ensure_model(tree: Path) -> Path:
    """The tree's newest model, trained (niced, its own Rasa cache) when it has none."""
    model = newest_model(tree)
    if model is not None:
        return model
    log(f"training in {tree} (no model there yet)")
    env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2", RASA_TELEMETRY_ENABLED="false",
               RASA_CACHE_DIRECTORY=str(tree / ".rasa_cache"))
    with open(tree / "train.log", "w", encoding="utf-8") as handle:
        subprocess.run(NICE + [str(tree / ".venv" / "bin" / "python"), "-m", "xiaoan.runtime", "train", "--quiet",
                               "--augmentation", "0"], cwd=tree, env=env, stdout=handle, stderr=subprocess.STDOUT,
                       check=True)
    model = newest_model(tree)
    if model is None:
        raise SystemExit(f"training in {tree} wrote no model; see {tree / 'train.log'}")
    return model


def one_turn(tree: Path, model: Path, args: argparse.Namespace, offset: int,
             env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    servers = TreeServers(tree=tree, model=model, folder=OUT / "ab" / tree.name)
    try:
        startup = servers.start(env or {})
        measured_load(servers, 4, 3, offset=offset + 900)  # warm-up: first calls load lazily, not measured
        stress = measured_load(servers, args.conversations, args.turns, offset=offset)
        paced = measured_load(servers, args.paced, args.paced_turns, paced=True, offset=offset + 500)
        return {
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "startup_s": round(startup, 2),
            "cpu_ms_per_msg": stress["cpu_ms_per_msg"],
            "cpu_ms_rasa": stress["cpu_ms_per_msg_by_server"].get("rasa"),
            "cpu_ms_actions": stress["cpu_ms_per_msg_by_server"].get("actions"),
            "msg_per_s": stress["msg_per_s"],
            "stress_p95_ms": stress["p95_ms"],
            "paced_p95_ms": paced["p95_ms"],
            "rss_mb": servers.rss_mb("rasa"),
            "rss_peak_mb": round(servers.peak_rss["rasa"] / 2**20),
            "errors": stress["errors"] + paced["errors"],
            "error_samples": stress["error_samples"] + paced["error_samples"],
        }
    finally:
        servers.stop()


def median(values: List[float]) -> Optional[float]:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def compare(runs: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Any]:
    out = {}
    for key, label, better in FIGURES:
        base = [r.get(key) for r in runs["base"]]
        head = [r.get(key) for r in runs["head"]]
        mb, mh = median(base), median(head)
        out[key] = {"label": label, "better": better, "base": base, "head": head, "base_median": mb,
                    "head_median": mh, "ratio": round(mh / mb, 3) if mb and mh is not None else None,
                    "round_ratios": [round(h / b, 3) for b, h in zip(base, head) if b and h is not None]}
    return out


def print_table(figures: Dict[str, Any]) -> None:
    print(f"{'figure':52} {'base':>9} {'head':>9} {'head/base':>9}  per round")
    for entry in figures.values():
        b, h = entry["base_median"], entry["head_median"]
        b, h = (round(x, 2) if isinstance(x, float) else x for x in (b, h))
        print(f"{entry['label']:52} {b if b is not None else '-':>9} {h if h is not None else '-':>9} "
              f"{entry['ratio'] if entry['ratio'] is not None else '-':>9}  {entry['round_ratios']}")


NOTES = ROOT / "bench" / "lean_path.md"


def latest() -> Optional[Dict[str, Any]]:
    """This machine's last A/B (results/bench/ab.json), else the one recorded in git."""
    for path in (RESULT, RECORD):
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def section(data: Optional[Dict[str, Any]]) -> List[str]:
    """'Lean path (issue 21)': the hand-written reading (bench/lean_path.md), then the A/B's table."""
    L: List[str] = []
    if NOTES.exists():
        L += ["", NOTES.read_text(encoding="utf-8").strip()]
    if not data or not data.get("figures"):
        return L
    m, load = data.get("machine") or {}, data.get("load") or {}
    L += ["", f"### The A/B as `make bench-ab` last ran it ({m.get('when', 'n/a')})", "",
          f"`{data.get('command')}`: base {data['base']['rev']} ({data['base']['commit'][:7]}, model "
          f"{data['base']['model']}) against the work tree ({data['head']['commit'][:7]}"
          f"{', with uncommitted changes' if data['head'].get('dirty') else ''}, model {data['head']['model']}); "
          f"{load.get('conversations')} conversations × {load.get('turns')} turns back-to-back and "
          f"{load.get('paced')} paced (1-4 s) × {load.get('paced_turns')}, verified identities; sides alternated, "
          f"1-min load average per turn: " + ", ".join(
              f"{name} {[r.get('load_avg_1m') for r in data['runs'][name]]}" for name in ("base", "head")) + ".", "",
          "| figure | base | head | head / base | per round |", "|---|---|---|---|---|"]
    for entry in data["figures"].values():
        L.append(f"| {entry['label']} | {entry['base_median']} | {entry['head_median']} | **{entry['ratio']}** | "
                 f"{', '.join(str(r) for r in entry['round_ratios'])} |")
    return L


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="the reference commit (default: last tag, else origin/main, else main)")
    parser.add_argument("--trees", type=Path, default=Path("/tmp"), help="where the reference worktree goes")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--paced", type=int, default=50, help="paced conversations (1-4 s before each turn)")
    parser.add_argument("--paced-turns", type=int, default=6)
    parser.add_argument("--record", action="store_true", help="also write bench/records/ab.json")
    parser.add_argument("--lever", help="one lever instead of two commits: both sides are the work tree, "
                        "told apart by --base-model/--head-model and --base-env/--head-env; NAME for the files")
    parser.add_argument("--base-model", type=Path)
    parser.add_argument("--head-model", type=Path)
    parser.add_argument("--base-env", action="append", default=[], metavar="K=V")
    parser.add_argument("--head-env", action="append", default=[], metavar="K=V")
    args = parser.parse_args(argv)

    rev = "work tree" if args.lever else (args.base or default_base())
    sides = {"base": ROOT if args.lever else base_tree(rev, args.trees), "head": ROOT}
    models = {name: ensure_model(tree) for name, tree in sides.items()}
    models["base"] = args.base_model or models["base"]
    models["head"] = args.head_model or models["head"]
    envs = {"base": dict(kv.split("=", 1) for kv in args.base_env),
            "head": dict(kv.split("=", 1) for kv in args.head_env)}
    result: Dict[str, Any] = {
        "what": "A/B: reference commit vs the work tree, one sitting, sides alternated",
        "machine": machine(),
        "command": "bench/ab.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "lever": args.lever,
        "base": {"rev": rev, "commit": git("rev-parse", "HEAD" if args.lever else rev), "model": models["base"].name,
                 "env": envs["base"]},
        "head": {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
                 "model": models["head"].name, "env": envs["head"]},
        "load": {"conversations": args.conversations, "turns": args.turns, "paced": args.paced,
                 "paced_turns": args.paced_turns},
    }
    runs: Dict[str, List[Dict[str, Any]]] = {"base": [], "head": []}
    started = time.perf_counter()
    for round_ in range(1, args.rounds + 1):
        for name in ("base", "head"):
            log(f"round {round_}: {name} (load {os.getloadavg()[0]:.2f})")
            turn = one_turn(sides[name], models[name], args, offset=round_ * 1000, env=envs[name])
            runs[name].append(turn)
            log(f"  {name}: {json.dumps({k: v for k, v in turn.items() if k != 'error_samples'})}")
    result["runs"] = runs
    result["figures"] = compare(runs)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result_path = OUT / f"ab_{args.lever}.json" if args.lever else RESULT
    write_json(result_path, result)
    if args.record:
        write_json(ROOT / "bench" / "records" / result_path.name, result)
    print_table(result["figures"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

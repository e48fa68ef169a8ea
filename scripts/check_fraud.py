#!/usr/bin/env python3
"""Precision and recall of the fraud path on the hand-written fraud set.

usage: check_fraud.py [--model models] [--part dev|test|all] [--min-precision P] [--min-recall R]
                      [--verbose] [--json-out FILE]

The set (`tests/fraud/`, never trained on) holds scam reports (`fraud_report`)
and harmless messages that mention fees, refunds, unfreezing, links, codes,
apps or screen sharing (`not_fraud`), in two parts written the same way:
`dev.yml` is the part the detector was tuned on, `test.yml` the part that is
only reported.

Each message goes through the runtime users talk to (`xiaoan.runtime`: the
ingress records the text-level fraud signals of `xiaoan.text.fraud`, then the
trained pipeline: the classifier, `FraudPatternIntent`, the fallback). The
fraud path is taken when the parse's intent is `fraud_report`: that is the
intent the rules answer with `action_fraud_warning`. A scam report that falls
back (`nlu_fallback`) or gets any other intent is a miss.

Besides the decision, it prints where each catch came from: an urgent text
signal (promoted to fraud_report whatever the classifier said) or the
classifier alone. Exit status 1 when a floor given is not met on the part(s)
measured. `--verbose` lists the misses and the false alarms (use it on dev).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parent.parent
FRAUD_SET = ROOT / "tests" / "fraud"
FRAUD = "fraud_report"
HARMLESS = "not_fraud"
PARTS = ("dev", "test")


@dataclass
class Outcome:
    part: str
    label: str  # fraud_report | not_fraud
    text: str
    intent: str  # the parse's intent: what the dialogue acts on
    classified_as: str  # the classifier's own intent, before any promotion or fallback
    signals: List[str]  # the fraud signals the ingress recorded

    @property
    def flagged(self) -> bool:
        return self.intent == FRAUD


def examples(part: str) -> List[tuple]:
    """(label, text) of every example of one part."""
    doc = yaml.safe_load((FRAUD_SET / f"{part}.yml").read_text(encoding="utf-8")) or {}
    out = []
    for block in doc.get("nlu") or []:
        for line in str(block.get("examples") or "").splitlines():
            if line.strip().startswith("- "):
                out.append((block["intent"], line.strip()[2:]))
    return out


def newest(model: Path) -> Path:
    if model.is_dir():
        found = sorted(model.glob("*.tar.gz"), key=os.path.getmtime)
        if not found:
            raise SystemExit(f"no model in {model}")
        return found[-1]
    return model


def parse_all(model: Path, texts: List[str]) -> List[dict]:
    """The runtime's parse of every text: ingress, pipeline, fraud promotion, fallback."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from xiaoan.runtime import install

    install(server=True)
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    logging.getLogger().setLevel(logging.WARNING)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))

    async def run() -> List[dict]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def outcome(part: str, label: str, text: str, parsed: dict) -> Outcome:
    intent = (parsed.get("intent") or {}).get("name") or ""
    classified = (parsed.get("classified_as") or {}).get("name") or intent
    return Outcome(part, label, text, intent, classified, list(parsed.get("fraud_signals") or []))


def figures(outcomes: List[Outcome]) -> Dict[str, float]:
    tp = sum(o.flagged and o.label == FRAUD for o in outcomes)
    fp = sum(o.flagged and o.label == HARMLESS for o in outcomes)
    fn = sum(not o.flagged and o.label == FRAUD for o in outcomes)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    from xiaoan.text.fraud import is_urgent

    by_signal = sum(o.flagged and o.label == FRAUD and is_urgent(o.signals) for o in outcomes)
    signal_fp = sum(o.label == HARMLESS and is_urgent(o.signals) for o in outcomes)
    return {
        "scam": sum(o.label == FRAUD for o in outcomes),
        "harmless": sum(o.label == HARMLESS for o in outcomes),
        "true_positive": tp,
        "false_positive": fp,
        "false_negative": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "caught_by_text_signal": by_signal,
        "caught_by_classifier_alone": tp - by_signal,
        "text_signal_false_alarms": signal_fp,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models", help="model .tar.gz or folder (newest)")
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--min-precision", type=float, help="floor on the part(s) measured")
    parser.add_argument("--min-recall", type=float, help="floor on the part(s) measured")
    parser.add_argument("--floor-part", choices=[*PARTS, "all"], default="test",
                        help="the part the floors apply to (default test)")
    parser.add_argument("--verbose", action="store_true", help="list misses and false alarms")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    parts = PARTS if args.part == "all" else (args.part,)
    items = [(part, label, text) for part in parts for label, text in examples(part)]
    model = newest(args.model)
    parses = parse_all(model, [text for _, _, text in items])
    outcomes = [outcome(part, label, text, parsed) for (part, label, text), parsed in zip(items, parses)]

    report: Dict[str, Dict[str, float]] = {}
    print(f"fraud path on tests/fraud (model {model.name}): decision = parse intent is {FRAUD}")
    for part in [*parts, *(["all"] if len(parts) > 1 else [])]:
        chosen = [o for o in outcomes if part in ("all", o.part)]
        report[part] = figures(chosen)
        f = report[part]
        print(f"  {part:4}  scam {f['scam']:3}  harmless {f['harmless']:3}  "
              f"precision {f['precision']:.4f}  recall {f['recall']:.4f}  "
              f"(TP {f['true_positive']}, FP {f['false_positive']}, FN {f['false_negative']}; "
              f"caught by a text signal {f['caught_by_text_signal']}, by the classifier alone "
              f"{f['caught_by_classifier_alone']}; text-signal false alarms {f['text_signal_false_alarms']})")
    if args.verbose:
        for o in outcomes:
            if o.flagged != (o.label == FRAUD):
                kind = "MISS " if o.label == FRAUD else "FALSE"
                print(f"  {kind} [{o.part}] {o.text}  -> {o.intent} (classifier {o.classified_as}; signals {o.signals})")

    ok = True
    floor_part = args.floor_part if args.floor_part in report else parts[-1]
    measured = report[floor_part]
    if args.min_precision is not None and measured["precision"] < args.min_precision:
        print(f"FAILED: fraud precision {measured['precision']:.4f} on {floor_part} below {args.min_precision}",
              file=sys.stderr)
        ok = False
    if args.min_recall is not None and measured["recall"] < args.min_recall:
        print(f"FAILED: fraud recall {measured['recall']:.4f} on {floor_part} below {args.min_recall}", file=sys.stderr)
        ok = False
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps({
            "model": model.name,
            "parts": report,
            "floors": {"part": floor_part, "precision": args.min_precision, "recall": args.min_recall},
            "errors": [asdict(o) for o in outcomes if o.flagged != (o.label == FRAUD) and o.part == "dev"],
        }, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

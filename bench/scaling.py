"""Scaling: training time and parse latency of 小安's NLU pipeline at 25 / 50 / 100 % of data/nlu.

Subsets keep that share of every intent's examples (stratified, seeded with 2611; at least
one example per intent); regexes, synonyms and lookup tables are kept whole. Each subset is
written to results/bench/scaling/<pct>/nlu.yml and trained NLU-only with config.yml
(`rasa train nlu`, niced, no training cache). The 100 % point is the (a) model that
bench/nlu_compare.py trained in the same run when it is there, else it is trained here.
Parse latency: in-process `processor.parse_message` over the held-out texts (no HTTP), after a
warm-up; also the held-out macro-F1 of each subset model.

    .venv/bin/python bench/scaling.py [--quick]

Writes results/bench/scaling.json.
"""
from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    OUT,
    ROOT,
    SEED,
    TRAIN_DATA,
    log,
    percentile,
    quick_config,
    read_json,
    setup_inprocess_env,
    train_nlu,
    training_fingerprint,
    write_json,
)

FRACTIONS = (25, 50, 100)
SCALE_OUT = OUT / "scaling"  # --quick: OUT / "scaling-quick"


def subset(training_data, percent: int):
    from rasa.shared.nlu.training_data.training_data import TrainingData

    by_intent: Dict[str, List[Any]] = defaultdict(list)
    for example in training_data.intent_examples:
        by_intent[example.get("intent")].append(example)
    rng = random.Random(SEED + percent)
    kept: List[Any] = []
    for intent in sorted(by_intent):
        examples = by_intent[intent]
        count = max(1, round(len(examples) * percent / 100))
        kept.extend(rng.sample(examples, count) if count < len(examples) else examples)
    return TrainingData(
        training_examples=kept,
        entity_synonyms=training_data.entity_synonyms,
        regex_features=training_data.regex_features,
        lookup_tables=training_data.lookup_tables,
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 epochs: a smoke run")
    parser.add_argument("--retrain", action="store_true", help="train even if a model from the same inputs exists")
    args = parser.parse_args(argv)
    setup_inprocess_env()
    import nlu_compare

    nlu_compare.use_quick_dir(args.quick)
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data

    training = load_data(str(TRAIN_DATA))
    test_data = nlu_compare.load_held_out()
    texts = [m.get("text") for m in test_data.intent_examples]
    global SCALE_OUT
    if args.quick:
        SCALE_OUT = OUT / "scaling-quick"
    config = ROOT / "config.yml"
    if args.quick:
        config = quick_config(config, SCALE_OUT / "quick_config.yml")
    results: Dict[str, Any] = {"quick": args.quick, "points": {}}
    for percent in FRACTIONS:
        directory = SCALE_OUT / str(percent)
        directory.mkdir(parents=True, exist_ok=True)
        data = subset(training, percent)
        entry: Dict[str, Any] = {"examples": len(data.intent_examples)}
        reused = read_json(nlu_compare.NLU_OUT / "a" / "train.json") if percent == 100 else None
        if reused and reused.get("model") and Path(reused["model"]).exists():
            log(f"scaling {percent} %: reusing the (a) model from nlu_compare")
            figures = dict(reused, reused_from="results/bench/nlu/a")
        else:
            nlu_file = directory / "nlu.yml"
            RasaYAMLWriter().dump(nlu_file, data)
            fingerprint = training_fingerprint(config, nlu_file)
            previous = read_json(directory / "train.json")
            model = directory / f"scale{percent}.tar.gz"
            if previous and previous.get("fingerprint") == fingerprint and model.exists() and not args.retrain:
                log(f"scaling {percent} %: reusing {model.relative_to(ROOT)} (same inputs, "
                    f"trained {previous.get('trained_at')})")
                figures = dict(previous, reused_from="earlier run, same inputs")
            else:
                log(f"scaling {percent} %: training on {entry['examples']} examples")
                figures = train_nlu(config, directory, f"scale{percent}", nlu=nlu_file)
                figures["fingerprint"] = fingerprint
                write_json(directory / "train.json", figures)
        entry.update({k: figures.get(k) for k in ("train_seconds", "model_mb", "returncode", "error", "reused_from",
                                                  "trained_at", "load_avg_1m_before")})
        if figures.get("model"):
            processor = nlu_compare.load_processor(figures["model"])
            times = nlu_compare.parse_times_ms(processor, texts)
            entry["parse_ms_p50"] = round(percentile(times, 50), 2)
            entry["parse_ms_p95"] = round(percentile(times, 95), 2)
            scores = nlu_compare.evaluate_rasa(processor, test_data, "EntityFinisher")
            entry["intent_macro_f1"] = scores["intent_macro_f1"]
            entry["entity_f1"] = scores["entity_f1"]
            del processor
        results["points"][str(percent)] = entry
        log(f"scaling {percent} %: {entry}")
    write_json(OUT / "scaling.json", results)
    log("wrote results/bench/scaling.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

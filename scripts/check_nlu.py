"""Fail when the held-out NLU scores fall below the floor.

Reads the reports `rasa test nlu` wrote: intent macro-F1 from
intent_report.json and entity F1 (micro average over entity types) from the
EntityFinisher report, which scores the entities the bot actually uses.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--intent-f1", type=float, required=True)
    parser.add_argument("--entity-f1", type=float, required=True)
    args = parser.parse_args()

    intents = json.loads((args.results / "intent_report.json").read_text(encoding="utf-8"))
    intent_f1 = intents["macro avg"]["f1-score"]
    entity_file = args.results / "EntityFinisher_report.json"
    entities = json.loads(entity_file.read_text(encoding="utf-8"))
    entity_f1 = entities.get("micro avg", entities.get("weighted avg"))["f1-score"]

    print(f"held-out intent macro-F1 {intent_f1:.4f} (floor {args.intent_f1})")
    print(f"held-out entity F1       {entity_f1:.4f} (floor {args.entity_f1})")
    worst = sorted(
        (v["f1-score"], k) for k, v in intents.items() if isinstance(v, dict) and "f1-score" in v and k[0].islower() and " " not in k
    )[:5]
    print("weakest intents: " + ", ".join(f"{k} {f:.2f}" for f, k in worst))
    ok = intent_f1 >= args.intent_f1 and entity_f1 >= args.entity_f1
    if not ok:
        print("FAILED: held-out NLU below the floor", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Fail when the held-out NLU scores fall below the floor.

Reads the reports `rasa test nlu` wrote: intent macro-F1 from
intent_report.json and entity F1 (micro average over entity types) from the
EntityFinisher report, which scores the entities the bot actually uses.

`rasa test nlu` undoes the FallbackClassifier's decision before scoring
(rasa/nlu/test.py: "Revert fallback prediction"), so its figures count a
message the bot would answer with "没太明白" as right when the top intent was
right. With `--model` (a .tar.gz, or a folder: its newest one) and `--nlu`
(the held-out folder or file), this script parses every held-out message
through the same runtime (`xiaoan.runtime`: ingress, pipeline, fallback) and
also prints accuracy with `nlu_fallback` counted as a miss and how many
messages fell back; `--max-fallback N` fails when more than N fell back.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
FALLBACK = "nlu_fallback"


def held_out(path: Path) -> list[tuple[str, str]]:
    """(intent, plain text) of every example in the held-out YAML file(s)."""
    files = [path] if path.is_file() else sorted(path.rglob("*.yml"))
    out = []
    for file in files:
        for block in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
            if not isinstance(block, dict) or "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    out.append((block["intent"], _ANNOTATION.sub(r"\1", line.strip()[2:])))
    return out


def newest(model: Path) -> Path:
    if model.is_dir():
        models = sorted(model.glob("*.tar.gz"), key=os.path.getmtime)
        if not models:
            raise SystemExit(f"no model in {model}")
        return models[-1]
    return model


def parse_all(model: Path, examples: list[tuple[str, str]]) -> list[dict]:
    """The runtime's parse of every example (fallback left in place)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from xiaoan.runtime import install

    install(server=True)
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    logging.getLogger().setLevel(logging.WARNING)
    configure_structlog(logging.WARNING)  # no per-message debug lines

    agent = Agent.load(str(model))

    async def run() -> list[dict]:
        return [await agent.parse_message(text) for _, text in examples]

    return asyncio.run(run())


def fallback_figures(model: Path, nlu: Path) -> tuple[float, int, int, list[str]]:
    examples = held_out(nlu)
    parses = parse_all(model, examples)
    correct = fell_back = 0
    lines = []
    for (intent, text), parsed in zip(examples, parses):
        predicted = (parsed.get("intent") or {}).get("name")
        if predicted == FALLBACK:
            fell_back += 1
            ranking = parsed.get("intent_ranking") or []
            top = next((r for r in ranking if r.get("name") != FALLBACK), {})
            lines.append(f"  fallback  [{intent}] {text}  (top: {top.get('name')} {top.get('confidence', 0):.2f})")
        elif predicted == intent:
            correct += 1
    return correct / len(examples), fell_back, len(examples), lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--intent-f1", type=float, required=True)
    parser.add_argument("--entity-f1", type=float, required=True)
    parser.add_argument("--model", type=Path, help="model .tar.gz or folder (newest): count nlu_fallback")
    parser.add_argument("--nlu", type=Path, default=ROOT / "tests" / "nlu", help="held-out file or folder")
    parser.add_argument("--max-fallback", type=int, help="fail when more held-out messages fall back")
    parser.add_argument("--verbose", action="store_true", help="list the messages that fell back")
    args = parser.parse_args()

    intents = json.loads((args.results / "intent_report.json").read_text(encoding="utf-8"))
    intent_f1 = intents["macro avg"]["f1-score"]
    entity_file = args.results / "EntityFinisher_report.json"
    entities = json.loads(entity_file.read_text(encoding="utf-8"))
    entity_f1 = entities.get("micro avg", entities.get("weighted avg"))["f1-score"]

    print(f"held-out intent macro-F1 {intent_f1:.4f} (floor {args.intent_f1})")
    print(f"held-out entity F1       {entity_f1:.4f} (floor {args.entity_f1})")
    rasa_accuracy = intents.get("accuracy", intents.get("micro avg", {}).get("f1-score", float("nan")))
    print(f"held-out accuracy        {rasa_accuracy:.4f} (rasa test nlu: fallback undone)")
    worst = sorted(
        (v["f1-score"], k) for k, v in intents.items() if isinstance(v, dict) and "f1-score" in v and k[0].islower() and " " not in k
    )[:5]
    print("weakest intents: " + ", ".join(f"{k} {f:.2f}" for f, k in worst))
    ok = intent_f1 >= args.intent_f1 and entity_f1 >= args.entity_f1
    if not ok:
        print("FAILED: held-out NLU below the floor", file=sys.stderr)

    if args.model is not None:
        model = newest(args.model)
        accuracy, fell_back, total, lines = fallback_figures(model, args.nlu)
        print(f"held-out accuracy        {accuracy:.4f} (nlu_fallback counted as a miss; model {model.name})")
        print(f"held-out fallbacks       {fell_back} of {total}"
              + (f" (ceiling {args.max_fallback})" if args.max_fallback is not None else ""))
        if args.verbose:
            print("\n".join(lines))
        if args.max_fallback is not None and fell_back > args.max_fallback:
            print("FAILED: too many held-out messages fall back", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

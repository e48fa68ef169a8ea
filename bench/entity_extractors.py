"""Regex vs spaCy for the structured identifiers, on the held-out NLU file.

Both run on the same normalised, masked text the pipeline gives them and are
scored on exact spans of card_tail, card_number, terminal_id,
reference_number and error_code (the free-form entities are DIET's job).

    .venv/bin/python bench/entity_extractors.py [tests/nlu/test_nlu.yml]
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402

from bench.components.spacy_identifiers import spacy_identifiers  # noqa: E402
from xiaoan.text.identifiers import find_identifiers  # noqa: E402
from xiaoan.text.masking import mask_text  # noqa: E402
from xiaoan.text.normalize import normalize_text  # noqa: E402

TYPES = ("card_tail", "card_number", "terminal_id", "reference_number", "error_code")


def regex_spans(text: str) -> set[tuple]:
    return {(f.entity, f.start, f.end) for f in find_identifiers(text)}


def spacy_spans(text: str) -> set[tuple]:
    return {(e["entity"], e["start"], e["end"]) for e in spacy_identifiers(text)}


def score(extract, examples) -> tuple[dict[str, tuple[float, float, float]], float, float]:
    tp, fp, fn = Counter(), Counter(), Counter()
    started = time.perf_counter()
    for text, gold in examples:
        predicted = extract(text)
        for item in predicted & gold:
            tp[item[0]] += 1
        for item in predicted - gold:
            fp[item[0]] += 1
        for item in gold - predicted:
            fn[item[0]] += 1
    elapsed_ms = (time.perf_counter() - started) * 1000 / max(1, len(examples))

    def prf(t, p, n):
        precision = t / (t + p) if t + p else 0.0
        recall = t / (t + n) if t + n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    per_type = {k: prf(tp[k], fp[k], fn[k]) for k in TYPES}
    micro = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))[2]
    return per_type, micro, elapsed_ms


def held_out(path: Path) -> list[tuple[str, set[tuple]]]:
    data = load_data(str(path))
    examples = []
    for message in data.intent_examples:
        text = mask_text(normalize_text(message.get("text")))
        gold = {(e["entity"], e["start"], e["end"]) for e in message.get("entities") or [] if e["entity"] in TYPES}
        examples.append((text, gold))
    return examples


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or [ROOT / "tests/nlu/test_nlu.yml", ROOT / "data/nlu"]
    spacy_spans("预热")  # build the blank pipeline outside the timing
    for path in paths:
        examples = held_out(path)
        print(f"\n{path.relative_to(ROOT) if path.is_absolute() else path}: {len(examples)} messages, "
              f"{sum(len(g) for _, g in examples)} structured entities\n")
        print("| extractor | " + " | ".join(f"{t} F1" for t in TYPES) + " | micro F1 | ms/message |")
        print("|---" * (len(TYPES) + 3) + "|")
        for name, extract in (("regex (StructuredEntityExtractor)", regex_spans), ("spaCy blank zh + Matcher", spacy_spans)):
            per_type, micro, ms = score(extract, examples)
            cells = " | ".join(f"{per_type[t][2]:.3f}" for t in TYPES)
            print(f"| {name} | {cells} | {micro:.3f} | {ms:.3f} |")


if __name__ == "__main__":
    main()

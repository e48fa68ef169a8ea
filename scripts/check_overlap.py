#!/usr/bin/env python3
"""Fail when the held-out NLU file overlaps the training data.

usage: check_overlap.py [--train data/nlu] [--held-out tests/nlu] [--threshold 0.8]

The rule (a held-out example is rejected when either holds):

1. exact: it equals a training example after normalisation, or another
   held-out example;
2. near copy: its character-level similarity to a training example,
   difflib.SequenceMatcher(None, a, b).ratio() = 2*M/(len(a)+len(b)),
   is at or above THRESHOLD (default 0.8).

Normalisation (applied to both sides before either test): entity annotations
are replaced by their text; Unicode NFKC (full-width digits, letters and
punctuation to half-width); the project's own reader
(xiaoan.text.normalize: Traditional to Simplified, 帐 to 账, Latin lower
case); whitespace and punctuation removed; every run of digits replaced by
one "#" (so 尾号5678 and 尾号1234 are the same sentence).

This is stricter than ../shared/tools/overlap_check.py (threshold 0.9, no
digit folding). Exit status 1 with every offending pair listed, 0 when clean.
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from xiaoan.text.normalize import normalize_text  # noqa: E402

DEFAULT_THRESHOLD = 0.8

# [text](entity), [text](entity:value), [text]{"entity": ...}
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
# Whitespace and punctuation, ASCII and CJK (after NFKC most are ASCII already).
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Example:
    intent: str
    text: str  # as written, annotations included
    source: str  # file:line
    key: str  # normalised


@dataclass(frozen=True)
class Overlap:
    kind: str  # "exact" | "near" | "duplicate"
    ratio: float
    held_out: Example
    training: Example


def normalise(text: str) -> str:
    """The comparison form of an example (see the module docstring)."""
    text = _ANNOTATION.sub(lambda m: m.group(1), text)
    text = unicodedata.normalize("NFKC", text)
    text = normalize_text(text)
    text = _NOISE.sub("", text)
    return _DIGITS.sub("#", text)


def similarity(a: str, b: str) -> float:
    """difflib's ratio on the normalised forms: 2*matches / (len(a)+len(b))."""
    return difflib.SequenceMatcher(None, normalise(a), normalise(b), autojunk=False).ratio()


def _example_lines(block_examples) -> list[str]:
    if isinstance(block_examples, str):
        return [
            line.strip()[2:]
            for line in block_examples.splitlines()
            if line.strip().startswith("- ")
        ]
    if isinstance(block_examples, list):  # examples with metadata
        return [e["text"] for e in block_examples if isinstance(e, dict) and "text" in e]
    return []


def read_examples(folder: Path) -> list[Example]:
    """Every intent example of every Rasa NLU YAML file under folder."""
    out: list[Example] = []
    paths = [folder] if folder.is_file() else sorted(folder.rglob("*.yml")) + sorted(folder.rglob("*.yaml"))
    for path in paths:
        raw = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(raw) or {}
        lines = raw.splitlines()
        for block in doc.get("nlu", []) or []:
            if not isinstance(block, dict) or "intent" not in block:
                continue
            for text in _example_lines(block.get("examples")):
                lineno = next(
                    (i + 1 for i, line in enumerate(lines) if line.strip() == f"- {text}"), 0
                )
                out.append(Example(block["intent"], text, f"{path}:{lineno}", normalise(text)))
    return out


def find_overlaps(
    training: list[Example], held_out: list[Example], threshold: float = DEFAULT_THRESHOLD
) -> list[Overlap]:
    """Every held-out example that breaks the rule, with the example it copies."""
    by_key = {}
    for t in training:
        by_key.setdefault(t.key, t)
    found: list[Overlap] = []
    seen: dict[str, Example] = {}
    for h in held_out:
        if h.key in seen:
            found.append(Overlap("duplicate", 1.0, h, seen[h.key]))
            continue
        seen[h.key] = h
        if h.key in by_key:
            found.append(Overlap("exact", 1.0, h, by_key[h.key]))
            continue
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(h.key)
        best: tuple[float, Example] | None = None
        for t in training:
            total = len(t.key) + len(h.key)
            if not total:
                continue
            # Upper bound on the ratio from the lengths alone.
            if 2 * min(len(t.key), len(h.key)) / total < threshold:
                continue
            matcher.set_seq1(t.key)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio >= threshold and (best is None or ratio > best[0]):
                best = (ratio, t)
        if best is not None:
            found.append(Overlap("near", best[0], h, best[1]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--held-out", type=Path, default=ROOT / "tests" / "nlu")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)

    training = read_examples(args.train)
    held_out = read_examples(args.held_out)
    overlaps = find_overlaps(training, held_out, args.threshold)
    for o in overlaps:
        print(
            f"{o.kind:9} {o.ratio:.2f}  held-out {o.held_out.source} [{o.held_out.intent}] "
            f"{o.held_out.text!r}\n{'':16}~ {o.training.source} [{o.training.intent}] {o.training.text!r}"
        )
    counts = {k: sum(o.kind == k for o in overlaps) for k in ("exact", "near", "duplicate")}
    print(
        f"held_out={len(held_out)} training={len(training)} threshold={args.threshold} "
        + " ".join(f"{k}={v}" for k, v in counts.items())
    )
    if overlaps:
        print("FAILED: the held-out file copies training examples (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

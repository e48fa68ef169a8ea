"""Robustness: the held-out file transformed the way users type, and each system's F1 drop.

Variants of tests/nlu/test_nlu.yml (deterministic: seed 2611 + example index), written to
results/bench/robustness/<variant>.yml:
  traditional   Simplified → Traditional characters (OpenCC s2t, character by character)
  fullwidth     ASCII digits and letters → full-width (１２３４, ＰＯＳ)
  pinyin        one word outside the entities → toneless pinyin (pypinyin), either the whole
                word (转账 → zhuanzhang) or its first character (转账 → zhuan账)
  typo          one Chinese character outside the entities dropped or doubled
  all           the four above, in that order

Annotated entities keep their type; their offsets follow the rewritten text. Each system
trained by bench/nlu_compare.py (results/bench/nlu/<key>/) is scored on the original and on
every variant with the same code; drop = original − variant (positive = worse).

    .venv/bin/python bench/robustness.py [--systems a,b,c,d,e]

Writes results/bench/robustness.json.
"""
from __future__ import annotations

import argparse
import pickle
import random
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, SEED, log, read_json, setup_inprocess_env, write_json  # noqa: E402

VARIANTS = ["traditional", "fullwidth", "pinyin", "typo", "all"]
ROBUST_OUT = OUT / "robustness"


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


# Each transform maps (text, protected char flags, rng) to one replacement string per
# original character ("" drops it, two characters double it), so entity offsets can follow.
Pieces = List[str]


def t_traditional(text: str, protected: List[bool], rng: random.Random) -> Pieces:
    from opencc import OpenCC

    converter = _cached("s2t", lambda: OpenCC("s2t"))
    whole = converter.convert(text)
    if len(whole) == len(text):
        return list(whole)
    return [c if len(c := converter.convert(ch)) == 1 else ch for ch in text]


def t_fullwidth(text: str, protected: List[bool], rng: random.Random) -> Pieces:
    return [chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch for ch in text]


def t_pinyin(text: str, protected: List[bool], rng: random.Random) -> Pieces:
    import jieba
    from pypinyin import lazy_pinyin

    pieces = list(text)
    words: List[Tuple[int, int]] = []
    position = 0
    for word in jieba.lcut(text):
        start, end = position, position + len(word)
        position = end
        if all(_is_han(c) for c in word) and not any(protected[start:end]):
            words.append((start, end))
    if not words:
        return pieces
    multi = [w for w in words if w[1] - w[0] >= 2]
    start, end = rng.choice(multi or words)
    if end - start >= 2 and rng.random() < 0.5:
        pieces[start] = "".join(lazy_pinyin(text[start]))  # zhuan账
    else:
        pieces[start] = "".join(lazy_pinyin(text[start:end]))  # zhuanzhang
        for i in range(start + 1, end):
            pieces[i] = ""
    return pieces


def t_typo(text: str, protected: List[bool], rng: random.Random) -> Pieces:
    pieces = list(text)
    candidates = [i for i, ch in enumerate(text) if _is_han(ch) and not protected[i]]
    if not candidates:
        return pieces
    i = rng.choice(candidates)
    if len(text) > 3 and rng.random() < 0.5:
        pieces[i] = ""
    else:
        pieces[i] = text[i] * 2
    return pieces


TRANSFORMS: Dict[str, List[Callable[[str, List[bool], random.Random], Pieces]]] = {
    "traditional": [t_traditional],
    "fullwidth": [t_fullwidth],
    "pinyin": [t_pinyin],
    "typo": [t_typo],
    "all": [t_traditional, t_fullwidth, t_pinyin, t_typo],
}

_CACHE: Dict[str, Any] = {}


def _cached(key: str, make: Callable[[], Any]) -> Any:
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def apply(text: str, entities: List[Dict[str, Any]], transform, rng: random.Random):
    """(new text, new entities) after one transform."""
    protected = [False] * len(text)
    for entity in entities:
        for i in range(entity["start"], entity["end"]):
            if 0 <= i < len(text):
                protected[i] = True
    pieces = transform(text, protected, rng)
    offsets = [0]
    for piece in pieces:
        offsets.append(offsets[-1] + len(piece))
    new_text = "".join(pieces)
    new_entities = []
    for entity in entities:
        moved = dict(entity)
        moved["start"], moved["end"] = offsets[entity["start"]], offsets[entity["end"]]
        moved["value"] = new_text[moved["start"]:moved["end"]]
        new_entities.append(moved)
    return new_text, new_entities


def make_variant(test_data, name: str):
    """A transformed copy of the held-out TrainingData (and how many examples changed)."""
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = []
    changed = 0
    for index, example in enumerate(test_data.nlu_examples):
        rng = random.Random(SEED * 1000 + index + VARIANTS.index(name) * 100000)
        text = example.get("text")
        entities = [dict(e) for e in example.get("entities") or []]
        for transform in TRANSFORMS[name]:
            text, entities = apply(text, entities, transform, rng)
        changed += text != example.get("text")
        data = {"text": text, "intent": example.get("intent")}
        if entities:
            data["entities"] = entities
        examples.append(Message(data=data))
    return TrainingData(training_examples=examples), changed


def write_variant(data, path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    RasaYAMLWriter().dump(path, data)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", default="a,b,c,d,e")
    parser.add_argument("--quick", action="store_true", help="score the --quick models (results/bench/nlu-quick)")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.systems.split(",") if k.strip()]

    setup_inprocess_env()
    import nlu_compare

    nlu_compare.use_quick_dir(args.quick)
    test_data = nlu_compare.load_held_out()
    variants = {"original": (test_data, 0)}
    for name in VARIANTS:
        data, changed = make_variant(test_data, name)
        write_variant(data, ROBUST_OUT / f"{name}.yml")
        variants[name] = (data, changed)
    samples = {}
    for name in VARIANTS:
        data = variants[name][0]
        samples[name] = [(a.get("text"), b.get("text")) for a, b in
                         zip(test_data.nlu_examples[:60:12], data.nlu_examples[:60:12])]

    results: Dict[str, Any] = {
        "seed": SEED,
        "examples": len(test_data.nlu_examples),
        "changed": {name: variants[name][1] for name in VARIANTS},
        "samples": samples,
        "systems": {},
    }
    for key in keys:
        spec = nlu_compare.SYSTEMS[key]
        entry: Dict[str, Any] = {"label": spec["label"], "scores": {}}
        if key == "d":
            path = nlu_compare.NLU_OUT / "d.pkl"
            if not path.exists():
                log("d: no model (run nlu_compare first)")
                continue
            with open(path, "rb") as handle:
                model = pickle.load(handle)
            score = lambda data: nlu_compare.evaluate_sklearn(model, data)  # noqa: E731
        else:
            model_path = nlu_compare.NLU_OUT / key / f"{key}.tar.gz"
            if not model_path.exists():
                log(f"{key}: no model (run nlu_compare first)")
                continue
            processor = nlu_compare.load_processor(str(model_path))
            score = lambda data, p=processor, x=spec["extractor"]: nlu_compare.evaluate_rasa(p, data, x)  # noqa: E731
        for name, (data, _changed) in variants.items():
            figures = score(data)
            entry["scores"][name] = {k: figures.get(k) for k in ("intent_accuracy", "intent_macro_f1", "entity_f1")}
            log(f"{key} {name}: macro-F1 {figures['intent_macro_f1']} entity-F1 {figures.get('entity_f1')}")
        base = entry["scores"]["original"]
        entry["drop"] = {
            name: {
                "intent_macro_f1": round(base["intent_macro_f1"] - s["intent_macro_f1"], 4),
                "entity_f1": (round(base["entity_f1"] - s["entity_f1"], 4)
                              if base.get("entity_f1") is not None and s.get("entity_f1") is not None else None),
            }
            for name, s in entry["scores"].items() if name != "original"
        }
        results["systems"][key] = entry
    old = read_json(OUT / "robustness.json") or {}
    if old.get("systems"):
        merged = dict(old["systems"])
        merged.update(results["systems"])
        results["systems"] = merged
    write_json(OUT / "robustness.json", results)
    log("wrote results/bench/robustness.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

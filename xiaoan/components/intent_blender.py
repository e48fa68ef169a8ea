"""A second, different intent classifier whose probabilities are averaged with DIET's.

Why: on this data a plain TF-IDF character n-gram + logistic regression model
scores as well as DIET on the held-out file, and the two make different
mistakes (DIET reads words in context, the linear model reads surface
n-grams). Averaging two such classifiers is the oldest reliable way to gain
accuracy. The linear model also sees the pinyin of the text (as the
PinyinFeaturizer does for DIET), so "zhuan账" does not throw it off, and it
reads the text after UserTextReader, like every other step.
It costs about a millisecond per message and seconds of training.

Placed after DIETClassifier: it replaces `intent` and `intent_ranking` with
the blend (1 - weight) * DIET + weight * linear model. The entity steps,
FraudPatternIntent and FallbackClassifier run after it unchanged.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xiaoan.components.fingerprint import code_fingerprint
from xiaoan.components.pinyin_featurizer import pinyin_string

logger = logging.getLogger(__name__)

MODEL_FILE = "intent_blender.joblib"
CONFIDENCE = "confidence"


def build_linear_model(c: float, seed: int):
    """TF-IDF of character 1-3-grams of the text and 2-4-grams of its pinyin → logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)),
        ("pinyin", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                   preprocessor=pinyin_string)),
    ])
    return Pipeline([("features", features),
                     ("classifier", LogisticRegression(C=c, max_iter=3000, random_state=seed))])


class LinearIntentModel:
    """The fitted pipeline's arithmetic without sklearn's per-call overhead.

    sklearn validates its input and rebuilds the IDF diagonal on every call,
    several times the cost of the arithmetic for one short message. This keeps
    each vectorizer's analyzer, vocabulary and IDF and the classifier's weights,
    and computes the same probabilities (tests/test_intent_blender.py compares them).
    """

    def __init__(self, pipeline: Any) -> None:
        import numpy as np

        self._np = np
        union = pipeline.named_steps["features"]
        classifier = pipeline.named_steps["classifier"]
        self.parts = []
        offset = 0
        for _name, vectorizer in union.transformer_list:
            if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"):
                raise ValueError("LinearIntentModel expects sublinear TF-IDF with l2 norm")
            self.parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset))
            offset += len(vectorizer.vocabulary_)
        self.weights = np.ascontiguousarray(classifier.coef_.T)  # features × classes
        self.intercept = classifier.intercept_
        self.classes_ = list(classifier.classes_)
        self.multinomial = len(self.classes_) > 2 and getattr(classifier, "multi_class", "auto") in ("auto", "multinomial")

    def predict_proba(self, texts: List[str]) -> Any:
        np = self._np
        rows = []
        for text in texts:
            scores = self.intercept.astype(float)  # a new array
            for analyzer, vocabulary, idf, offset in self.parts:
                counts: Dict[int, int] = {}
                for gram in analyzer(text):
                    index = vocabulary.get(gram)
                    if index is not None:
                        counts[index] = counts.get(index, 0) + 1
                if not counts:
                    continue
                indices = np.fromiter(counts, dtype=np.int64, count=len(counts))
                values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * idf[indices]
                values /= np.sqrt(values @ values)
                scores += values @ self.weights[indices + offset]
            if self.multinomial:
                exp = np.exp(scores - scores.max())
                rows.append(exp / exp.sum())
            else:  # one-vs-rest, as sklearn: sigmoid per class, normalised
                sig = 1.0 / (1.0 + np.exp(-scores))
                rows.append(sig / sig.sum())
        return np.vstack(rows) if rows else np.zeros((0, len(self.classes_)))


def blend(diet_ranking: List[Dict[str, Any]], linear: Dict[str, float], weight: float,
          ranking_length: int) -> List[Dict[str, Any]]:
    """(1 - weight) * DIET confidence + weight * linear probability, best first.

    An intent missing from DIET's (truncated) ranking counts as 0 there.
    """
    diet = {r[INTENT_NAME_KEY]: float(r.get(CONFIDENCE) or 0.0) for r in diet_ranking if r.get(INTENT_NAME_KEY)}
    names = set(diet) | set(linear)
    scores = {name: (1.0 - weight) * diet.get(name, 0.0) + weight * linear.get(name, 0.0) for name in names}
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [{INTENT_NAME_KEY: name, CONFIDENCE: round(score, 6)} for name, score in ranked[:ranking_length]]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentBlender(GraphComponent):
    """Averages DIET's intent ranking with a character/pinyin n-gram logistic regression."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"weight": 0.5, "C": 10.0, "random_seed": 2611, "ranking_length": 10}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "pypinyin", "joblib"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        return code_fingerprint()

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if not 0.0 <= float(config["weight"]) <= 1.0:
            raise ValueError("IntentBlender weight must be within [0, 1]")

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Any = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self._model = LinearIntentModel(model) if model is not None else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "IntentBlender":
        cls.validate_config({**cls.get_default_config(), **config})
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            logger.warning("IntentBlender: fewer than two intents to learn; it will pass DIET's ranking through")
            return self._resource
        import joblib

        model = build_linear_model(float(self.config["C"]), int(self.config["random_seed"]))
        model.fit([m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples])
        self._model = LinearIntentModel(model)
        with self._storage.write_to(self._resource) as directory:
            joblib.dump(model, directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "IntentBlender":
        import joblib

        model = None
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("IntentBlender: no trained model found; it will pass DIET's ranking through")
        return cls(config, model_storage, resource, model)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        texts = [m.get(TEXT) for m in messages]
        todo = [i for i, text in enumerate(texts) if text and messages[i].get(INTENT_RANKING_KEY)]
        if not todo:
            return messages
        probabilities = self._model.predict_proba([texts[i] for i in todo])
        classes = list(self._model.classes_)
        weight = float(self.config["weight"])
        for row, index in zip(probabilities, todo):
            message = messages[index]
            linear = {name: float(p) for name, p in zip(classes, row)}
            ranking = blend(message.get(INTENT_RANKING_KEY), linear, weight, int(self.config["ranking_length"]))
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

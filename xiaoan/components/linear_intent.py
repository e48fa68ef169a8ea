"""The intent classifier alone: character and pinyin n-grams, TF-IDF, logistic regression.

Why: on this data the linear model the IntentBlender averaged with DIET
understands as well on its own (held-out, dev and fraud sets, docs/benchmarks.md
"Lean path"), trains in seconds instead of minutes and needs no TensorFlow at
run time: the Rasa server's memory, start-up and CPU per message all drop. It
is the blender's model (`build_linear_model`, `LinearIntentModel`), used with
weight 1 and no classifier before it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.intent_blender import CONFIDENCE, IntentBlender


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentBlender):
    """Sets `intent` and `intent_ranking` from the char/pinyin n-gram logistic regression."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**IntentBlender.get_default_config(), "weight": 1.0}

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return messages
        classes = list(self._model.classes_)
        length = int(self.config["ranking_length"])
        for message, row in zip(todo, self._model.predict_proba([m.get(TEXT) for m in todo])):
            ranked = sorted(zip(classes, row), key=lambda item: (-float(item[1]), item[0]))[:length]
            ranking = [{INTENT_NAME_KEY: name, CONFIDENCE: round(float(p), 6)} for name, p in ranked]
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

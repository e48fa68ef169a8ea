"""Sparse character n-grams of the message's pinyin: 转账, zhuan账 and zhuanzhang look alike.

Users type pinyin or Latin letters for characters they cannot find (zhuan账,
pos机 shuaka). The (already normalised) text is turned into toneless pinyin with
pypinyin (characters → syllables, Latin letters and digits kept), joined without
spaces, and character n-grams of that string (2-4) are counted with a vocabulary
learnt from the training data: one sparse sentence-level feature per message
beside the word and character n-grams (no sequence features, so DIET's entity
tagging is unchanged). Measured in docs/benchmarks.md: the F1 drop on held-out
text with pinyin in it fell from 0.058 to 0.006, for about 1 ms per message.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

VOCAB_FILE = "pinyin_vocabulary.json"


def pinyin_string(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text.lower())).replace(" ", "")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class PinyinFeaturizer(SparseFeaturizer, GraphComponent):
    """Counts character n-grams of the message's pinyin transliteration."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**SparseFeaturizer.get_default_config(), "min_ngram": 2, "max_ngram": 4, "min_df": 1}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["pypinyin", "sklearn"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config["min_ngram"]) > int(config["max_ngram"]):
            raise ValueError("min_ngram must not exceed max_ngram")

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, vocabulary: Optional[Dict[str, int]] = None) -> None:
        super().__init__(execution_context.node_name, config)
        self._storage, self._resource = model_storage, resource
        self._vectorizer = self._make(vocabulary) if vocabulary else None

    def _make(self, vocabulary: Optional[Dict[str, int]] = None):
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(analyzer="char", ngram_range=(int(self._config["min_ngram"]),
                                                             int(self._config["max_ngram"])),
                               lowercase=False, min_df=self._config["min_df"], vocabulary=vocabulary)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GraphComponent:
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> GraphComponent:
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            vocabulary = None
        return cls(config, model_storage, resource, execution_context, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        texts = [pinyin_string(m.get(TEXT)) for m in training_data.training_examples if m.get(TEXT)]
        self._vectorizer = self._make()
        self._vectorizer.fit(texts)
        vocabulary = {k: int(v) for k, v in self._vectorizer.vocabulary_.items()}
        with self._storage.write_to(self._resource) as directory:
            (directory / VOCAB_FILE).write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
        return self._resource

    def _featurize(self, messages: List[Message]) -> None:
        if self._vectorizer is None:
            return
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return
        matrix = self._vectorizer.transform([pinyin_string(m.get(TEXT)) for m in todo])
        for row, message in enumerate(todo):
            self.add_features_to_message(None, scipy.sparse.coo_matrix(matrix[row]), TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages

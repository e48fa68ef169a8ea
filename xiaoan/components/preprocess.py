"""Pipeline steps that rewrite the message text before tokenising.

Both are length-preserving, so entity annotations in training data and the
offsets of extracted entities stay valid.
"""
from __future__ import annotations

from typing import List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xiaoan.components.base import StatelessComponent
from xiaoan.masking import mask_secrets
from xiaoan.normalize import normalize_text

SECRETS_FOUND = "secrets_found"


class _TextRewriter(StatelessComponent):
    """Applies `rewrite` to the text of every training example and message."""

    def rewrite(self, message: Message) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            if example.get(TEXT):
                before = example.get(TEXT)
                self.rewrite(example)
                self._follow_entity_values(example, before)
        return training_data

    @staticmethod
    def _follow_entity_values(example: Message, before: Text) -> None:
        """An annotated value that was the literal span follows the rewritten text.

        Otherwise `[５６７８](card_tail)` would teach EntitySynonymMapper that
        5678 is a synonym of ５６７８.
        """
        after = example.get(TEXT)
        for entity in example.get(ENTITIES) or []:
            start, end = entity.get("start"), entity.get("end")
            if start is None or end is None:
                continue
            if entity.get("value") == before[start:end]:
                entity["value"] = after[start:end]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(TEXT):
                self.rewrite(message)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TextNormalizer(_TextRewriter):
    """Full-width to half-width, Traditional to Simplified, Latin to lower case."""

    def rewrite(self, message: Message) -> None:
        message.set(TEXT, normalize_text(message.get(TEXT)))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SecretMasker(_TextRewriter):
    """Masks card numbers (keeping the last 4), PINs, CVVs and SMS codes.

    Runs before tokenising so no classifier, featurizer or parse result ever
    holds the secret; the kinds found are kept on the message for the bot.
    """

    def rewrite(self, message: Message) -> None:
        result = mask_secrets(message.get(TEXT))
        if result.changed:
            message.set(TEXT, result.text)
            message.set(SECRETS_FOUND, sorted(result.found), add_to_output=True)

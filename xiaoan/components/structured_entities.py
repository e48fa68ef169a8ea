"""Context-aware extraction of card tails, terminal ids, references and codes.

Rasa's RegexEntityExtractor matches a pattern anywhere; a 4-digit number is
only a card tail after 尾号/后四位 (or as a bare answer), and a 2-character
code only after 错误码/提示/显示. The patterns live in `xiaoan.text.identifiers`.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.base import StatelessComponent
from xiaoan.text.identifiers import find_identifiers


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class StructuredEntityExtractor(StatelessComponent, EntityExtractorMixin):
    """Finds the contract's structured identifiers by pattern and context."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            found = [
                {"entity": f.entity, "start": f.start, "end": f.end, "value": f.value, "confidence_entity": 1.0}
                for f in find_identifiers(text)
            ]
            if found:
                entities = self.add_extractor_name(found)
                message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

"""Sums of money and bank names, found by `xiaoan.text.money` and `xiaoan.text.banks`.

Why: these were the two entities DIET learnt; patterns that know the sums'
grammar and the closed list of banks find them as well or better without a
neural network (docs/benchmarks.md "Lean path"). The values are the spans as
typed; EntitySynonymMapper gives banks their full names and EntityFinisher
normalises sums and resolves overlaps with the structured identifiers.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.base import StatelessComponent
from xiaoan.text.banks import find_banks
from xiaoan.text.money import find_amounts
from xiaoan.text.normalize import lower_latin


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PhraseEntityExtractor(StatelessComponent, EntityExtractorMixin):
    """Finds `amount` and `bank` spans by pattern and lookup."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            lowered = lower_latin(text)  # the ingress normalised it; training text too (UserTextReader)
            found = [{"entity": "amount", "start": s, "end": e, "value": text[s:e], "confidence_entity": 1.0}
                     for s, e, _ in find_amounts(lowered)]
            found += [{"entity": "bank", "start": s, "end": e, "value": text[s:e], "confidence_entity": 1.0}
                      for s, e, _ in find_banks(lowered)]
            if found:
                found.sort(key=lambda entity: entity["start"])
                message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found), add_to_output=True)
        return messages

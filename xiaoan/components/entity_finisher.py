"""One consistent entity list from several extractors, with normalised values.

DIET learns the free-form entities (amounts, bank names); the structured
extractor knows the identifiers. This step keeps one entity per span
(structured first), drops malformed values and writes the values the slots
and actions expect: amounts as `3500.00`, codes upper case, card numbers as
their masked form (a tail only). The result carries this component's name
as its extractor, so `rasa test nlu` scores what the bot actually uses.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, EXTRACTOR, TEXT
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.base import StatelessComponent
from xiaoan.text.amounts import format_amount, parse_amount
from xiaoan.text.identifiers import clean_identifier

STRUCTURED = {"card_number", "card_tail", "terminal_id", "reference_number", "error_code"}
PREFERRED_EXTRACTORS = ("StructuredEntityExtractor", "RegexEntityExtractor")


def finish_value(entity: Dict[Text, Any], text: Text) -> Optional[Any]:
    """The normalised value of one entity, or None to drop it."""
    name = entity.get("entity")
    raw = entity.get("value")
    if name == "amount":
        parsed = parse_amount(str(raw)) or parse_amount(text[entity["start"] : entity["end"]])
        return format_amount(parsed) if parsed is not None else None
    if name == "card_number":
        digits = "".join(ch for ch in str(raw) if ch.isdigit() or ch == "*")
        return "*" * max(0, len(digits) - 4) + digits[-4:] if len(digits) >= 16 else None
    if name in STRUCTURED:
        return clean_identifier(name, raw)
    return raw if raw not in (None, "") else None


def _priority(entity: Dict[Text, Any]) -> tuple:
    structured_source = entity.get(EXTRACTOR) in PREFERRED_EXTRACTORS
    length = entity["end"] - entity["start"]
    return (0 if structured_source else 1, -length, entity["start"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityFinisher(StatelessComponent, EntityExtractorMixin):
    """Merges, validates and normalises the entities of a parsed message."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            if entities:
                message.set(ENTITIES, self.finish(entities, message.get(TEXT) or ""), add_to_output=True)
        return messages

    def finish(self, entities: List[Dict[Text, Any]], text: Text) -> List[Dict[Text, Any]]:
        kept: List[Dict[Text, Any]] = []
        for entity in sorted(
            (e for e in entities if "start" in e and "end" in e), key=_priority
        ):
            if any(entity["start"] < k["end"] and k["start"] < entity["end"] for k in kept):
                continue
            value = finish_value(entity, text)
            if value is None:
                continue
            finished = dict(entity, value=value, source=entity.get(EXTRACTOR))
            kept.append(finished)
        kept.sort(key=lambda e: e["start"])
        return self.add_extractor_name(kept) if kept else []

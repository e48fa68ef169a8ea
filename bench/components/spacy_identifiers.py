"""The structured identifiers found with spaCy: `spacy.blank("zh")` plus a Matcher.

No trained Chinese spaCy model can be installed here, so this uses the blank
Chinese pipeline (character segmentation) and token patterns: context
characters (尾号, 终端号, 参考号, 错误码 ...) followed by an exact count of
digit tokens. Kept beside the regex extractor so the two can be measured on
the held-out file (`bench/entity_extractors.py`); see the README for which won.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List

import spacy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.matcher import Matcher

from xiaoan.components.base import StatelessComponent


def _chars(word: str) -> List[Dict[str, Any]]:
    return [{"TEXT": ch} for ch in word]


def _digits(n: int) -> List[Dict[str, Any]]:
    return [{"IS_DIGIT": True}] * n


_GAP = {"TEXT": {"IN": ["是", "为", ":", "：", " ", "的"]}, "OP": "?"}
_CODE_SHAPES = ([{"IS_DIGIT": True}, {"IS_DIGIT": True}], [{"TEXT": {"REGEX": "^[a-z]$"}}, {"IS_DIGIT": True}])

# (label, context word, value pattern, value length in tokens)
_CONTEXT_PATTERNS = [
    ("card_tail", ctx, _digits(4), 4) for ctx in ("尾号", "尾数", "后四位", "后4位", "卡号后")
] + [
    ("terminal_id", ctx, _digits(8), 8) for ctx in ("终端号", "终端", "编号", "机号")
] + [
    ("reference_number", ctx, _digits(12), 12) for ctx in ("参考号", "流水号", "检索号")
] + [
    ("error_code", ctx, shape, 2)
    for ctx in ("错误码", "返回码", "应答码", "代码", "错误", "报错", "错", "提示", "显示", "出现", "报")
    for shape in _CODE_SHAPES
]
# Bare runs: the length alone tells what they are.
_BARE_PATTERNS = [("card_number", 19), ("card_number", 18), ("card_number", 17), ("card_number", 16),
                  ("reference_number", 12), ("terminal_id", 8)]


@lru_cache(maxsize=1)
def _pipeline() -> tuple[Any, Matcher]:
    nlp = spacy.blank("zh")  # character segmentation, no model download
    matcher = Matcher(nlp.vocab)
    for label, ctx, value, length in _CONTEXT_PATTERNS:
        matcher.add(f"{label}|{length}", [_chars(ctx) + [_GAP] + value])
    for label, length in _BARE_PATTERNS:
        matcher.add(f"{label}|{length}|bare", [_digits(length)])
    # A card number the ingress already masked: stars, then the 4-digit tail.
    matcher.add("card_number|0|masked", [[{"TEXT": "*", "OP": "+"}] + _digits(4)])
    return nlp, matcher


def spacy_identifiers(text: str) -> List[Dict[str, Any]]:
    """Entities found in normalised `text`, one per span, context matches first."""
    nlp, matcher = _pipeline()
    doc = nlp(text)
    candidates = []
    for match_id, start, end in matcher(doc):
        label, length, *bare = nlp.vocab.strings[match_id].split("|")
        value_start = start if bare == ["masked"] else end - int(length)
        if bare == ["masked"] and (value_start > 0 and doc[value_start - 1].text == "*"):
            continue  # only the longest run of stars
        span = doc[value_start:end]
        before = doc[value_start - 1].text if value_start > 0 else ""
        after = doc[end].text if end < len(doc) else ""
        if before.isdigit() or after.isdigit() or (label == "error_code" and after.isalnum() and after.isascii()):
            continue  # part of a longer number
        candidates.append((1 if bare else 0, -(span.end_char - span.start_char), span.start_char, label, span))
    taken: List[Dict[str, Any]] = []
    for _, _, _, label, span in sorted(candidates, key=lambda c: c[:3]):
        if any(span.start_char < t["end"] and t["start"] < span.end_char for t in taken):
            continue
        taken.append({"entity": label, "start": span.start_char, "end": span.end_char,
                      "value": span.text, "confidence_entity": 1.0})
    return sorted(taken, key=lambda e: e["start"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class SpacyIdentifierExtractor(StatelessComponent, EntityExtractorMixin):
    """Alternative to StructuredEntityExtractor built on spaCy's Matcher."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = spacy_identifiers(message.get(TEXT) or "")
            if found:
                message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found), add_to_output=True)
        return messages

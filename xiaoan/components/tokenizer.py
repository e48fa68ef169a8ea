"""Jieba tokenising without whitespace tokens, split where scripts change.

Rasa's JiebaTokenizer passes jieba's whitespace tokens through for mixed
Chinese/Latin text such as `POS机 刷卡` (Rasa issue 7910), which shifts
features and entity tags. This subclass drops them, and splits tokens where
digits, Latin letters and Chinese meet (`8000元` → `8000` `元`, `err04` →
`err` `04`), so amounts and codes line up with token boundaries.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.fingerprint import code_fingerprint, files_fingerprint


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class CleanJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer that never emits whitespace-only tokens."""

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        """The dictionary's content and this code, so editing either retrains."""
        folder = config.get("dictionary_path")
        files = list(Path(folder).glob("*")) if folder else []
        return files_fingerprint(files) + code_fingerprint()

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        kept = [piece for token in tokens if token.text.strip() for piece in _split_scripts(token)]
        return kept or tokens  # an all-whitespace text keeps what it had


_SCRIPT_RUN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|\*+|[^\da-z*\s]+", re.IGNORECASE)


def _split_scripts(token: Token) -> List[Token]:
    pieces = [Token(m.group(), token.start + m.start()) for m in _SCRIPT_RUN.finditer(token.text)]
    return pieces if len(pieces) > 1 else [token]

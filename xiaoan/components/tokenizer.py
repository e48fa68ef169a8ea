"""Jieba tokenising without whitespace tokens.

Rasa's JiebaTokenizer passes jieba's whitespace tokens through for mixed
Chinese/Latin text such as `POS机 刷卡` (Rasa issue 7910), which shifts
features and entity tags. This subclass drops them.
"""
from __future__ import annotations

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
        kept = [token for token in tokens if token.text.strip()]
        return kept or tokens  # an all-whitespace text keeps what it had

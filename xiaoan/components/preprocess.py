"""The NLU's view of the ingress: training text read exactly like live text.

At run time every message has been read by the runtime's ingress
(`xiaoan.runtime.ingress`) before the pipeline sees it: normalised, secrets
masked, fraud signals recorded in its metadata. Training examples never pass
the ingress, so `UserTextReader` applies the same function
(`xiaoan.text.reading.read_user_text`) to them; the model learns from text in
the form it will be given. At run time it only copies the recorded
text it read (normalised, masked) and its fraud signals onto the message for
the rest of the pipeline and `FraudPatternIntent`; a message that did not come
through the ingress (Rasa started without `xiaoan.runtime`) is read here, by
the same function.

Reading is length-preserving, so entity annotations stay valid.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xiaoan.components.base import StatelessComponent
from xiaoan.text.reading import read_user_text

FRAUD_SIGNALS = "fraud_signals"
INGRESS_KEY = "xiaoan"  # the runtime ingress's record in a message's metadata


def ingress_record(message: Message) -> Optional[Dict[str, Any]]:
    record = (message.get("metadata") or {}).get(INGRESS_KEY)
    return record if isinstance(record, dict) else None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class UserTextReader(StatelessComponent):
    """Training examples read as the ingress reads live messages; live ones passed through."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            before = example.get(TEXT)
            if before:
                example.set(TEXT, read_user_text(before).text)
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
            record = ingress_record(message)
            if record is not None:
                if isinstance(record.get("text"), str) and message.get(TEXT):
                    message.set(TEXT, record["text"])
                signals = list(record.get("fraud_signals") or [])
            else:
                reading = read_user_text(message.get(TEXT))
                if message.get(TEXT):
                    message.set(TEXT, reading.text)
                signals = list(reading.fraud_signals)
            if signals:
                message.set(FRAUD_SIGNALS, signals, add_to_output=True)
        return messages

"""A scam pattern in any message makes it a fraud report.

Someone asking the user for a code or PIN, a "safe account", a fee to
unfreeze or refund, a link or screen sharing must be answered with a
warning at once, whatever the user was otherwise talking about. The
classifier may read "转账失败了，客服让我转到安全账户" as a failed transfer; this
step promotes such a message to `fraud_report` (the classifier's own guess
stays in the ranking), so the dialogue runs `action_fraud_warning` first.

The signals are the ones the ingress recorded (`UserTextReader` puts them on
the message); nothing is detected twice.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.base import StatelessComponent
from xiaoan.components.preprocess import FRAUD_SIGNALS
from xiaoan.text.fraud import is_urgent

FRAUD_INTENT = "fraud_report"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FraudPatternIntent(StatelessComponent):
    """Overrides the intent with fraud_report when an urgent scam pattern is present."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            signals = message.get(FRAUD_SIGNALS) or []
            intent = message.get(INTENT) or {}
            if is_urgent(signals) and intent.get(INTENT_NAME_KEY) != FRAUD_INTENT:
                promoted = {INTENT_NAME_KEY: FRAUD_INTENT, "confidence": 1.0}
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != FRAUD_INTENT]
                message.set(INTENT, promoted, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [promoted, *ranking], add_to_output=True)
        return messages

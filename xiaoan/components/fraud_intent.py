"""The fraud decision: the text-level signals and the classifier, combined.

It runs last in the pipeline, after `FallbackClassifier`, on what the
classifier (DIET + blender) and the fallback decided, and on the fraud
signals the ingress recorded (`UserTextReader` puts them on the message;
nothing is detected twice). The message becomes a `fraud_report` when

1. an urgent scam pattern is present (`xiaoan.text.fraud.URGENT_KINDS`:
   someone asking for a code, card details, a "safe" or new account, a fee
   first, 刷流水, a link or app, screen sharing, an ATM run, a police threat),
   whatever the classifier said and even when it fell back; or
2. the classifier says `fraud_report` itself (confident enough not to fall
   back); or
3. the classifier's best guess is `fraud_report` but it fell back, and the
   text has someone claiming to be police, a court, a courier or a bank
   ("自称…", "说是…的"): the two sources agree, so "没太明白" would be the
   wrong answer.

It is never a `fraud_report` when the message is only the user's own question
with nobody in it who did anything (`xiaoan.text.fraud.is_question_only`:
"退款要手续费吗", "银行会打电话找我要验证码吗", "领POS机还要交激活费，正常吗"): a
classifier that says so is overruled, and the message gets the classifier's
next intent, or `nlu_fallback` when that one is below the fallback threshold.

Otherwise the classifier's decision stands. A message promoted from another
intent keeps the classifier's ranking after `fraud_report` (without the
fallback entry), so `action_fraud_warning` can still answer the question the
user asked alongside the report; the classifier's own top intent is kept in
``classified_as``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from xiaoan.components.base import StatelessComponent
from xiaoan.components.preprocess import FRAUD_SIGNALS
from xiaoan.text.fraud import claims_identity, is_question_only, is_urgent

FRAUD_INTENT = "fraud_report"
FALLBACK_INTENT = "nlu_fallback"
CLASSIFIED_AS = "classified_as"  # the classifier's own top intent, before fallback and promotion
FALLBACK_THRESHOLD = 0.20  # FallbackClassifier's threshold in config.yml (tests/test_components.py checks)
# A scam alert is strong medicine: a fraud_report the classifier is less sure of than this is an unsure
# reading, which needs an explicit claim (自称/说是…) like a fallback does. Tuned on tests/fraud/dev.yml when
# the fallback threshold was 0.45; kept when the fallback threshold went down, so that cutting "didn't
# understand" answers does not turn harmless questions into scam alerts.
FRAUD_SURE = 0.45


def classifier_top(message: Message) -> Optional[Dict[str, Any]]:
    """The classifier's best intent: the first of the ranking that is not the fallback."""
    for entry in message.get(INTENT_RANKING_KEY) or []:
        if entry.get(INTENT_NAME_KEY) != FALLBACK_INTENT:
            return dict(entry)
    intent = message.get(INTENT) or {}
    return dict(intent) if intent.get(INTENT_NAME_KEY) not in (None, FALLBACK_INTENT) else None


def is_fraud_report(message: Message) -> bool:
    """The fraud decision (see the module docstring)."""
    signals = message.get(FRAUD_SIGNALS) or []
    if is_urgent(signals):
        return True
    if is_question_only(signals):
        return False
    intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    if intent == FRAUD_INTENT:
        sure = float((message.get(INTENT) or {}).get("confidence") or 0.0) >= FRAUD_SURE
        return sure or claims_identity(signals)
    top = classifier_top(message)
    return intent == FALLBACK_INTENT and top is not None and top.get(INTENT_NAME_KEY) == FRAUD_INTENT \
        and claims_identity(signals)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FraudPatternIntent(StatelessComponent):
    """Makes the message a fraud_report when the signals and the classifier say so (after the fallback)."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            top = classifier_top(message)
            if top is not None:
                message.set(CLASSIFIED_AS, top, add_to_output=True)
            intent = message.get(INTENT) or {}
            reported = is_fraud_report(message)
            if intent.get(INTENT_NAME_KEY) == FRAUD_INTENT and not reported:
                self._overrule(message)
            elif intent.get(INTENT_NAME_KEY) != FRAUD_INTENT and reported:
                self._promote(message)
            elif not reported and is_question_only(message.get(FRAUD_SIGNALS) or []):
                # Unsure about the user's own question: a "suspicious call" reading is no reading of it.
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != FRAUD_INTENT]
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    @staticmethod
    def _promote(message: Message) -> None:
        promoted = {INTENT_NAME_KEY: FRAUD_INTENT, "confidence": 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                   if r.get(INTENT_NAME_KEY) not in (FRAUD_INTENT, FALLBACK_INTENT)]
        message.set(INTENT, promoted, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [promoted, *ranking], add_to_output=True)

    @staticmethod
    def _overrule(message: Message) -> None:
        """The user's own question called a report: the next intent, or the fallback when that one is unsure."""
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                   if r.get(INTENT_NAME_KEY) not in (FRAUD_INTENT, FALLBACK_INTENT)]
        nxt = ranking[0] if ranking else None
        if nxt is not None and float(nxt.get("confidence") or 0.0) >= FALLBACK_THRESHOLD:
            message.set(INTENT, dict(nxt), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            return
        fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, "confidence": FALLBACK_THRESHOLD}
        message.set(INTENT, fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)

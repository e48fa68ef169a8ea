"""TEDPolicy that remembers its prediction for each dialogue state it has seen.

Why: TED runs a TensorFlow model two to four times per user message (once per
predicted action), and py-spy put about a third of the Rasa server's CPU there.
When TED does not read the user's text (no end-to-end stories), its input is
only the featurized dialogue states: intents, entity names, slot features,
active loop and previous action over `max_history` turns. The same states
always give the same prediction, and support conversations walk the same
states again and again, so a bounded cache of state → prediction skips the
model on a repeat without changing any answer.

A model trained with text features (end-to-end stories) bypasses the cache:
its prediction then depends on the words too. `XIAOAN_TED_CACHE_SIZE=0` in the
Rasa server's environment turns the cache off without retraining (the
benchmark's A/B uses it).
"""
from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from typing import Any, Dict, Optional, Text

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction, SupportedData
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

CACHE_SIZE_KEY = "prediction_cache_size"
DEFAULT_CACHE_SIZE = 4096


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class CachedTEDPolicy(TEDPolicy):
    """TEDPolicy plus an LRU cache of predictions keyed by the featurized dialogue states."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        config = TEDPolicy.get_default_config()
        config[CACHE_SIZE_KEY] = DEFAULT_CACHE_SIZE
        return config

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        override = os.environ.get("XIAOAN_TED_CACHE_SIZE", "").strip()
        if override.isdigit():
            self.config[CACHE_SIZE_KEY] = int(override)
        self._predictions: "OrderedDict[str, PolicyPrediction]" = OrderedDict()
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    def _cacheable(self) -> bool:
        """Only a model whose input is the states alone: no text features."""
        return (
            self.model is not None
            and int(self.config.get(CACHE_SIZE_KEY) or 0) > 0
            and not self.only_e2e
            and TEXT not in (self.fake_features or {})
        )

    def state_key(
        self, tracker: DialogueStateTracker, domain: Domain, rule_only_data: Optional[Dict[Text, Any]]
    ) -> str:
        """The states TED featurizes for this prediction, as a canonical string."""
        ml_only = self.supported_data() == SupportedData.ML_DATA
        states = self.featurizer.prediction_states(
            [tracker],
            domain,
            use_text_for_last_user_input=False,
            ignore_rule_only_turns=ml_only,
            rule_only_data=rule_only_data,
            ignore_action_unlikely_intent=ml_only,
        )[0]
        return json.dumps(states, sort_keys=True, ensure_ascii=False, default=list)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        precomputations: Optional[MessageContainerForCoreFeaturization] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """TED's prediction, from the cache when these states were predicted before."""
        if not self._cacheable():
            return super().predict_action_probabilities(
                tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations, **kwargs
            )
        key = self.state_key(tracker, domain, rule_only_data)
        with self._lock:
            cached = self._predictions.get(key)
            if cached is not None:
                self._predictions.move_to_end(key)
                self.cache_hits += 1
        if cached is not None:
            return _copy(cached)
        prediction = super().predict_action_probabilities(
            tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations, **kwargs
        )
        with self._lock:
            self.cache_misses += 1
            self._predictions[key] = _copy(prediction)
            while len(self._predictions) > int(self.config[CACHE_SIZE_KEY]):
                self._predictions.popitem(last=False)
        return prediction


def _copy(prediction: PolicyPrediction) -> PolicyPrediction:
    """A prediction the caller may change without touching the cached one."""
    return PolicyPrediction(
        list(prediction.probabilities),
        prediction.policy_name,
        policy_priority=prediction.policy_priority,
        events=list(prediction.events),
        optional_events=list(prediction.optional_events),
        is_end_to_end_prediction=prediction.is_end_to_end_prediction,
        is_no_user_prediction=prediction.is_no_user_prediction,
        diagnostic_data=prediction.diagnostic_data,
        hide_rule_turn=prediction.hide_rule_turn,
        action_metadata=prediction.action_metadata,
    )

"""CachedTEDPolicy: one model run per distinct dialogue state, copies out of the cache."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import List

import pytest
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy

from xiaoan.policies import cached_ted
from xiaoan.components.cached_ted import CachedTEDPolicy


class Tracker:
    def __init__(self, state: str) -> None:
        self.state = state


@pytest.fixture
def policy(monkeypatch):
    """A CachedTEDPolicy around a stand-in model: the 'state' is the tracker's, each run counted."""
    runs: List[str] = []

    def fake_predict(self, tracker, domain, rule_only_data=None, precomputations=None, **kwargs):
        runs.append(tracker.state)
        return PolicyPrediction([0.1, 0.9] if tracker.state == "s1" else [0.8, 0.2], "TEDPolicy")

    monkeypatch.setattr(TEDPolicy, "predict_action_probabilities", fake_predict)
    monkeypatch.setattr(CachedTEDPolicy, "state_key", lambda self, tracker, domain, rod: tracker.state)
    instance = CachedTEDPolicy.__new__(CachedTEDPolicy)
    instance.config = {cached_ted.CACHE_SIZE_KEY: 2}
    instance.model = object()
    instance.only_e2e = False
    instance.fake_features = {"intent": []}
    instance._predictions = OrderedDict()
    instance._lock = threading.Lock()
    instance.cache_hits = instance.cache_misses = 0
    instance.runs = runs
    return instance


def test_same_states_run_the_model_once(policy):
    first = policy.predict_action_probabilities(Tracker("s1"), None)
    second = policy.predict_action_probabilities(Tracker("s1"), None)
    assert policy.runs == ["s1"]
    assert first.probabilities == second.probabilities == [0.1, 0.9]
    assert (policy.cache_hits, policy.cache_misses) == (1, 1)


def test_different_states_are_predicted_apart(policy):
    assert policy.predict_action_probabilities(Tracker("s1"), None).probabilities == [0.1, 0.9]
    assert policy.predict_action_probabilities(Tracker("s2"), None).probabilities == [0.8, 0.2]
    assert policy.runs == ["s1", "s2"]


def test_a_caller_changing_its_prediction_leaves_the_cache_alone(policy):
    policy.predict_action_probabilities(Tracker("s1"), None).probabilities[1] = 0.0
    policy.predict_action_probabilities(Tracker("s1"), None).events.append("x")
    again = policy.predict_action_probabilities(Tracker("s1"), None)
    assert again.probabilities == [0.1, 0.9] and again.events == []


def test_least_recently_used_state_is_evicted(policy):
    for state in ("s1", "s2", "s1", "s3", "s1", "s2"):
        policy.predict_action_probabilities(Tracker(state), None)
    # size 2: s2 was evicted by s3 (s1 was used more recently), so s2 runs again
    assert policy.runs == ["s1", "s2", "s3", "s2"]


def test_text_features_or_size_zero_bypass_the_cache(policy):
    policy.fake_features = {"text": [], "intent": []}
    policy.predict_action_probabilities(Tracker("s1"), None)
    policy.predict_action_probabilities(Tracker("s1"), None)
    assert policy.runs == ["s1", "s1"]
    policy.fake_features = {"intent": []}
    policy.config[cached_ted.CACHE_SIZE_KEY] = 0
    policy.predict_action_probabilities(Tracker("s1"), None)
    assert policy.runs == ["s1", "s1", "s1"] and not policy._predictions


def test_environment_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv("XIAOAN_TED_CACHE_SIZE", "0")

    def fake_init(self, config, *args, **kwargs):
        self.config = dict(config)

    monkeypatch.setattr(TEDPolicy, "__init__", fake_init)
    policy = CachedTEDPolicy({cached_ted.CACHE_SIZE_KEY: 4096})
    assert policy.config[cached_ted.CACHE_SIZE_KEY] == 0

"""CachedTEDPolicy on the real trained model: the cache changes no prediction, and it is really used.

Loads the newest models/*.tar.gz twice (lean load, as the server does),
once as the server runs it (cache on) and once with
``XIAOAN_TED_CACHE_SIZE=0``, runs the test stories through each exactly as
`rasa test core` does (`rasa.core.test.test`: every action of
tests/test_stories.yml predicted from the story so far, no action server),
and records each dialogue state TED was asked about with what it handed the
policy ensemble. (Rasa's story generator shuffles the stories, so runs are
compared state by state, not position by position.)

* the cache's premise, on the model with the cache off: the same states
  always get the same probabilities;
* cache on and off: the same states, the same probabilities for each, the
  same actions chosen by the same policies with the same confidences;
* with the cache on, each distinct state runs the model once and every
  repeat is a hit; the same stories again are all hits.

`make test` trains before pytest, so the model exists there; without one
this fails, saying so (the `trained_model` fixture, tests/conftest.py).
"""
from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from tests.helpers import skip_unless_model_uses

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT / "tests" / "test_stories.yml"
sys.modules.setdefault("jax", None)  # as xiaoan.runtime does


def run_stories(model: Path, monkeypatch: pytest.MonkeyPatch, cache_size: Optional[str],
                passes: int = 1) -> Dict[str, Any]:
    """The test stories through a freshly loaded agent; what TED returned, what the ensemble chose."""
    from rasa.core.agent import Agent
    from rasa.core.test import test as rasa_test_core

    from xiaoan.components.cached_ted import CachedTEDPolicy
    from xiaoan.runtime import lean_model_load

    if cache_size is None:
        monkeypatch.delenv("XIAOAN_TED_CACHE_SIZE", raising=False)
    else:
        monkeypatch.setenv("XIAOAN_TED_CACHE_SIZE", cache_size)
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")

    ted_outputs: List[Tuple[str, List[float]]] = []
    predict = CachedTEDPolicy.predict_action_probabilities
    predict = getattr(predict, "__wrapped__", predict)  # the policy's own method, not an earlier load's recorder

    def recording(self: CachedTEDPolicy, tracker: Any, domain: Any, rule_only_data: Any = None,
                  **kwargs: Any) -> Any:
        prediction = predict(self, tracker, domain, rule_only_data=rule_only_data, **kwargs)
        ted_outputs.append((self.state_key(tracker, domain, rule_only_data), list(prediction.probabilities)))
        return prediction

    recording.__wrapped__ = predict  # type: ignore[attr-defined]
    # the graph node takes the class's function when the model is loaded
    monkeypatch.setattr(CachedTEDPolicy, "predict_action_probabilities", recording)
    lean_model_load.install()
    try:
        agent = Agent.load(str(model))
    finally:
        lean_model_load.restore()
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    [ted] = [n._component for n in nodes if isinstance(getattr(n, "_component", None), CachedTEDPolicy)]

    runs = []
    for _ in range(passes):
        calls_before, hits_before = len(ted_outputs), ted.cache_hits
        result = asyncio.run(rasa_test_core(str(STORIES), agent, disable_plotting=True))
        runs.append({
            "actions": Counter((a["action"], a["predicted"], a["policy"], a["confidence"]) for a in result["actions"]),
            "ted": ted_outputs[calls_before:],
            "hits": ted.cache_hits - hits_before,
        })
    return {"runs": runs, "ted": ted}


def by_state(outputs: List[Tuple[str, List[float]]]) -> Dict[str, List[float]]:
    """State -> probabilities; fails if one state got two different predictions."""
    seen: Dict[str, List[float]] = {}
    for key, probabilities in outputs:
        assert seen.setdefault(key, probabilities) == probabilities, f"one state, two predictions: {key}"
    return seen


def test_cache_on_and_off_predict_the_same_and_the_cache_is_used(trained_model, monkeypatch):
    skip_unless_model_uses(trained_model, "TEDPolicy")
    off = run_stories(trained_model, monkeypatch, "0")
    on = run_stories(trained_model, monkeypatch, None, passes=2)

    [off_run] = off["runs"]
    first, second = on["runs"]
    states = by_state(off_run["ted"])  # the premise: a state always gets the same prediction
    assert sum(off_run["actions"].values()) > 200 and len(states) > 50
    assert by_state(first["ted"]) == states  # the same states, each with the same probabilities
    assert by_state(second["ted"]) == states
    assert first["actions"] == off_run["actions"] == second["actions"]  # action, policy, confidence
    assert len(first["ted"]) == len(second["ted"]) == len(off_run["ted"])

    # off: the cache was never consulted
    assert off["ted"].config["prediction_cache_size"] == 0
    assert (off["ted"].cache_hits, off["ted"].cache_misses) == (0, 0) and not off["ted"]._predictions
    # on: the model ran once per distinct state, every repeat was a hit; the same stories again: all hits
    assert on["ted"].cache_misses == len(states)
    assert first["hits"] == len(first["ted"]) - len(states) > 0
    assert second["hits"] == len(second["ted"])

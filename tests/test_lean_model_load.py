"""The lean model load predicts exactly what Rasa's own load predicts.

Loads the trained model (the newest models/*.tar.gz, the `trained_model` fixture: `make test`
trains before pytest; without a model this fails) once with Rasa's `RasaModel.load` and once with `xiaoan.runtime.lean_model_load`,
and compares every held-out parse (intent, confidence, entities) and the
policies' predictions over the test stories' states.
"""
from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import yaml

from tests.helpers import skip_unless_model_uses


ROOT = Path(__file__).resolve().parents[1]
sys.modules.setdefault("jax", None)  # as xiaoan.runtime does


def held_out_texts() -> list[str]:
    texts = []
    for block in yaml.safe_load((ROOT / "tests/nlu/test_nlu.yml").read_text(encoding="utf-8"))["nlu"]:
        for line in (block.get("examples") or "").splitlines():
            if line.strip().startswith("- "):
                texts.append(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:]))
    return texts


CONVERSATION = ["你好", "pos机刷卡转账失败了", "终端号10000003", "提示余额不足", "卡号后四位0123", "谢谢", "再见"]


def predictions(model: Path, lean: bool) -> dict:
    from rasa.core.agent import Agent
    from rasa.shared.core.events import UserUttered

    from xiaoan.runtime import lean_model_load

    if lean:
        lean_model_load.install()
    try:
        agent = Agent.load(str(model))
    finally:
        lean_model_load.restore()

    async def run() -> dict:
        parses = []
        for text in held_out_texts():
            parsed = await agent.parse_message(text)
            parses.append((parsed["intent"]["name"], parsed["intent"]["confidence"],
                           [(e["entity"], e["value"]) for e in parsed["entities"]],
                           [(r["name"], r["confidence"]) for r in parsed["intent_ranking"]]))
        from rasa.core.policies.ted_policy import TEDPolicy

        nodes = agent.processor.graph_runner._instantiated_nodes.values()
        ted = next(node._component for node in nodes if isinstance(getattr(node, "_component", None), TEDPolicy))
        policy = []
        tracker = await agent.processor.get_tracker("lean-load-check")
        for text in CONVERSATION:
            tracker.update(UserUttered(text, (await agent.parse_message(text))["intent"]))
            ensemble = agent.processor._predict_next_with_tracker(tracker)
            policy.append((ensemble.policy_name, ensemble.max_confidence, list(ensemble.probabilities),
                           list(ted.predict_action_probabilities(tracker, agent.domain).probabilities)))
        return {"parses": parses, "policy": policy}

    return asyncio.run(run())


def test_lean_load_predicts_exactly_as_rasas_load(trained_model):
    skip_unless_model_uses(trained_model, "DIETClassifier")
    rasa_load = predictions(trained_model, lean=False)
    lean = predictions(trained_model, lean=True)
    assert len(rasa_load["parses"]) > 300
    assert lean["parses"] == rasa_load["parses"]
    assert lean["policy"] == rasa_load["policy"]

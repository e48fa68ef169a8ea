"""The intent blender: DIET's ranking averaged with a char/pinyin n-gram linear model."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xiaoan.components.intent_blender import IntentBlender, blend

EXAMPLES = {
    "transfer_failed": ["转账失败了", "给朋友转钱没成功", "转账一直提示失败", "汇款失败怎么办", "钱转不出去"],
    "terminal_fault": ["pos机死机了", "刷卡机黑屏", "终端开不了机", "机器打不出小票", "pos机按键没反应"],
    "greet": ["你好", "您好", "在吗", "哈喽", "早上好"],
}


def diet_ranking(*pairs):
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


def test_blend_averages_and_reorders():
    ranking = blend(diet_ranking(("a", 0.6), ("b", 0.4)), {"a": 0.1, "b": 0.9}, 0.5, 10)
    assert [r["name"] for r in ranking] == ["b", "a"]
    assert ranking[0]["confidence"] == pytest.approx(0.65)
    assert ranking[1]["confidence"] == pytest.approx(0.35)


def test_blend_weight_zero_keeps_diet_and_counts_missing_intents_as_zero():
    ranking = blend(diet_ranking(("a", 0.7), ("b", 0.2)), {"a": 0.0, "b": 0.1, "c": 0.9}, 0.0, 10)
    assert [(r["name"], r["confidence"]) for r in ranking][:2] == [("a", 0.7), ("b", 0.2)]
    assert ranking[2] == {"name": "c", "confidence": 0.0}
    assert len(blend(diet_ranking(("a", 1.0)), {n: 0.01 for n in "bcdefghijklm"}, 0.5, 10)) == 10


def _blender(tmp_path: Path, weight: float = 0.5) -> IntentBlender:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return IntentBlender.create({"weight": weight}, storage, Resource("blender"), context)


def _training_data() -> TrainingData:
    return TrainingData([Message.build(text=text, intent=intent) for intent, texts in EXAMPLES.items()
                         for text in texts])


def test_trained_blender_moves_a_wrong_diet_guess_toward_the_text(tmp_path):
    blender = _blender(tmp_path)
    resource = blender.train(_training_data())
    message = Message.build(text="转账失败")
    # DIET (stand-in) leans the wrong way, but not by much.
    message.set("intent", {"name": "greet", "confidence": 0.45})
    message.set("intent_ranking", diet_ranking(("greet", 0.45), ("transfer_failed", 0.40), ("terminal_fault", 0.15)))
    loaded = IntentBlender.load({"weight": 0.5}, LocalModelStorage(tmp_path), resource,
                                ExecutionContext(GraphSchema({}), "test"))
    [out] = loaded.process([message])
    assert out.get("intent")["name"] == "transfer_failed"
    assert out.get("intent_ranking")[0] == out.get("intent")
    assert sum(r["confidence"] for r in out.get("intent_ranking")) == pytest.approx(1.0, abs=1e-3)


def test_pinyin_is_read_like_the_characters(tmp_path):
    blender = _blender(tmp_path, weight=1.0)
    blender.train(_training_data())
    message = Message.build(text="zhuanzhang shibai")
    message.set("intent_ranking", diet_ranking(("greet", 1.0)))
    [out] = blender.process([message])
    assert out.get("intent")["name"] == "transfer_failed"


def test_untrained_or_empty_input_passes_through(tmp_path):
    blender = _blender(tmp_path)
    empty = Message.build(text="")
    empty.set("intent_ranking", diet_ranking(("greet", 0.9)))
    no_ranking = Message.build(text="你好")
    assert blender.process([empty, no_ranking]) == [empty, no_ranking]
    assert empty.get("intent") is None
    blender.train(_training_data())
    [out_empty, out_plain] = blender.process([empty, no_ranking])
    assert out_empty.get("intent") is None and out_plain.get("intent") is None


def test_weight_outside_unit_interval_is_refused(tmp_path):
    with pytest.raises(ValueError):
        _blender(tmp_path, weight=1.5)


def test_lean_inference_gives_sklearns_probabilities():
    import numpy as np

    from xiaoan.components.intent_blender import LinearIntentModel, build_linear_model

    data = _training_data()
    pipeline = build_linear_model(10.0, 2611)
    pipeline.fit([m.get("text") for m in data.intent_examples], [m.get("intent") for m in data.intent_examples])
    lean = LinearIntentModel(pipeline)
    texts = ["转账失败了怎么办", "pos机黑屏 zhuanzhang", "你好呀", "完全没见过的字", "", "🙂"]
    assert lean.classes_ == list(pipeline.classes_)
    assert np.allclose(lean.predict_proba(texts), pipeline.predict_proba(texts), atol=1e-9)

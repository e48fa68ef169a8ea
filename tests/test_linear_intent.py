"""The linear intent classifier on its own: it sets intent and ranking with no classifier before it."""
from __future__ import annotations

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xiaoan.components.linear_intent import LinearIntentClassifier

EXAMPLES = {
    "transfer_failed": ["转账失败了", "给朋友转钱没成功", "转账一直提示失败", "汇款失败怎么办", "钱转不出去"],
    "terminal_fault": ["pos机死机了", "刷卡机黑屏", "终端开不了机", "机器打不出小票", "pos机按键没反应"],
    "greet": ["你好", "您好", "在吗", "哈喽", "早上好"],
}


def test_trained_and_loaded_it_ranks_every_intent_with_probabilities(tmp_path):
    context = ExecutionContext(GraphSchema({}), "test")
    classifier = LinearIntentClassifier.create({}, LocalModelStorage(tmp_path), Resource("linear"), context)
    resource = classifier.train(TrainingData([Message.build(text=t, intent=i) for i, ts in EXAMPLES.items() for t in ts]))
    loaded = LinearIntentClassifier.load({}, LocalModelStorage(tmp_path), resource, context)
    [message] = loaded.process([Message.build(text="pos机又死机了")])
    ranking = message.get("intent_ranking")
    assert message.get("intent")["name"] == "terminal_fault" == ranking[0]["name"]
    assert [r["name"] for r in ranking] == sorted((r["name"] for r in ranking), key=lambda n: -next(
        x["confidence"] for x in ranking if x["name"] == n))
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-3


def test_untrained_it_leaves_messages_alone(tmp_path):
    context = ExecutionContext(GraphSchema({}), "test")
    classifier = LinearIntentClassifier.create({}, LocalModelStorage(tmp_path), Resource("linear"), context)
    [message] = classifier.process([Message.build(text="你好")])
    assert message.get("intent") is None

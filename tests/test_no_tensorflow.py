"""A Rasa server whose model runs no TensorFlow runs on the stand-in, and predicts exactly as with TensorFlow."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from xiaoan.runtime import no_tensorflow

ROOT = Path(__file__).resolve().parents[1]


def _model_with(tmp_path: Path, nodes: list, extra: dict = None) -> Path:
    path = tmp_path / "model.tar.gz"
    metadata = json.dumps({"predict_schema": {"nodes": {f"n{i}": {"uses": n} for i, n in enumerate(nodes)}}}).encode()
    with tarfile.open(path, "w:gz") as archive:
        for name, data in [*(extra or {}).items(), ("metadata.json", metadata)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_only_a_rasa_server_with_a_tensorflow_free_model_gets_the_stand_in(tmp_path, monkeypatch):
    lean = _model_with(tmp_path, ["rasa.core.policies.rule_policy.RulePolicy",
                                  "xiaoan.components.linear_intent.LinearIntentClassifier"])
    assert no_tensorflow.wanted(["run", "--enable-api", "-m", str(lean)])
    assert no_tensorflow.wanted(["run", f"--model={tmp_path}"])  # a folder: its newest model
    assert not no_tensorflow.wanted(["run", "actions", "-m", str(lean)])
    assert not no_tensorflow.wanted(["train", "-m", str(lean)])
    assert not no_tensorflow.wanted(["test", "core", "-m", str(lean)])
    monkeypatch.setenv(no_tensorflow.REAL_ENV, "1")
    assert not no_tensorflow.wanted(["run", "-m", str(lean)])
    monkeypatch.delenv(no_tensorflow.REAL_ENV)
    diet = tmp_path / "diet"
    diet.mkdir()
    _model_with(diet, ["rasa.nlu.classifiers.diet_classifier.DIETClassifier"],
                # a component's own file whose name ends the same way comes first in the archive
                extra={"components/train_DIET/DIETClassifier.data_example_metadata.json": b"[]"})
    assert not no_tensorflow.wanted(["run", "-m", str(diet)])
    assert not no_tensorflow.wanted(["run", "-m", str(tmp_path / "nothing-here")])


PREDICT = r"""
import asyncio, json, logging, re, sys
import yaml
stand_in = sys.argv[2] == "1"
if stand_in:
    from xiaoan.runtime import no_tensorflow
    no_tensorflow.install()
import xiaoan.runtime
xiaoan.runtime.install()
logging.disable(logging.WARNING)
from rasa.core.agent import Agent
from rasa.shared.core.events import UserUttered
agent = Agent.load(sys.argv[1])
texts = []
for block in yaml.safe_load(open("tests/nlu/test_nlu.yml", encoding="utf-8"))["nlu"]:
    for line in (block.get("examples") or "").splitlines():
        if line.strip().startswith("- "):
            texts.append(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:]))
async def run():
    parses = []
    for text in texts[::3]:
        p = await agent.parse_message(text)
        parses.append([p["intent"], [(e["entity"], e["value"]) for e in p["entities"]], p["intent_ranking"][:3]])
    tracker = await agent.processor.get_tracker("stand-in-check")
    policy = []
    for text in ["你好", "pos机刷卡转账失败了", "终端号10000003", "提示余额不足", "卡号后四位0123", "谢谢", "再见"]:
        tracker.update(UserUttered(text, (await agent.parse_message(text))["intent"]))
        prediction = agent.processor._predict_next_with_tracker(tracker)
        policy.append([prediction.policy_name, prediction.max_confidence, list(prediction.probabilities)])
    return {"parses": parses, "policy": policy, "stood_in": type(sys.modules["tensorflow"]).__name__}
print(json.dumps(asyncio.run(run())))
"""


def _predictions(model: Path, stand_in: bool) -> dict:
    done = subprocess.run([sys.executable, "-c", PREDICT, str(model), "1" if stand_in else "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_trained_model_predicts_the_same_on_the_stand_in(trained_model):
    if not no_tensorflow.runs_without_tensorflow(no_tensorflow.graph_nodes(trained_model)):
        import pytest

        pytest.fail(f"{trained_model.name} runs TensorFlow: config.yml should not (issue 21)", pytrace=False)
    real, stand = _predictions(trained_model, False), _predictions(trained_model, True)
    assert stand.pop("stood_in") == "_StandModule" and real.pop("stood_in") == "module"
    assert len(real["parses"]) > 100
    assert stand == real

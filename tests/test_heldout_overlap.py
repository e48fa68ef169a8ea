"""The held-out NLU file shares no example with the training data (scripts/check_overlap.py).

The rule: no held-out example equals a training example after normalisation
(annotations, width, Traditional/Simplified, case, punctuation, digit runs),
and none has a character-level similarity ratio at or above the threshold
(0.8, stricter than the shared tool's 0.9).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_overlap", ROOT / "scripts" / "check_overlap.py")
check_overlap = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("check_overlap", check_overlap)  # dataclasses look their module up
_spec.loader.exec_module(check_overlap)


def ex(text: str, intent: str = "x") -> "check_overlap.Example":
    return check_overlap.Example(intent, text, "test", check_overlap.normalise(text))


def overlaps(train: list[str], held: list[str], threshold: float = check_overlap.DEFAULT_THRESHOLD):
    return check_overlap.find_overlaps([ex(t) for t in train], [ex(h) for h in held], threshold)


def write_nlu(path: Path, intent: str, examples: list[str]) -> Path:
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: ' + intent + "\n  examples: |\n"
        + "".join(f"    - {e}\n" for e in examples),
        encoding="utf-8",
    )
    return path


def test_threshold_is_at_least_as_strict_as_the_shared_tool():
    assert check_overlap.DEFAULT_THRESHOLD <= 0.9


@pytest.mark.parametrize(
    "a, b",
    [
        ("尾號[５６７８](card_tail)的卡被凍結了", "尾号[1234](card_tail)的卡被冻结了"),  # width, Traditional, digits
        ("POS機轉賬失敗了怎麼辦？", "pos机转账失败了怎么办"),  # case, Traditional, punctuation
        ("轉帳沒成功", "转账没成功"),  # 帳 -> 账 as the runtime reads it
        ("提示 [A0](error_code) ！！", "提示a0"),  # annotation, spaces, case
        ("终端号１０００００02", "终端号10000004"),  # full-width digits, another number
    ],
)
def test_a_normalised_duplicate_is_caught(a, b):
    assert check_overlap.normalise(a) == check_overlap.normalise(b)
    found = overlaps([b], [a])
    assert [o.kind for o in found] == ["exact"]


@pytest.mark.parametrize(
    "train, held",
    [
        ("显示成功了，对方说没收到钱", "显示成功了对方说没收到"),  # one character dropped
        ("刷卡机屏幕一闪一闪的然后就灭了", "刷卡机屏幕一闪一闪的，后来就灭了"),  # one word changed
        ("钱扣了但显示交易失败", "錢扣了但是顯示交易失敗"),  # Traditional plus one character
        ("卡里扣了[500元](amount)，可是交易没成功", "卡里扣了[800块](amount)，可交易没成功"),
    ],
)
def test_a_near_copy_is_caught(train, held):
    found = overlaps([train], [held])
    assert [o.kind for o in found] == ["near"]
    assert found[0].ratio >= check_overlap.DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "train, held",
    [
        ("钱扣了但显示交易失败", "pos上显示交易失败，可我手机马上收到了扣款短信"),
        ("转人工", "你说的我听不懂，帮我找个人工"),
        ("你好", "晚上好呀小安"),
        ("今天天气怎么样", "明天北京会不会下雪"),
        ("错误码[51](error_code)是什么意思", "老是报[94](error_code)重复交易，咋整"),
    ],
)
def test_distinct_sentences_pass(train, held):
    assert overlaps([train], [held]) == []


def test_a_duplicate_inside_the_held_out_file_is_caught():
    found = overlaps(["完全无关的句子"], ["刷卡没成功啊", "刷卡没成功啊！"])
    assert [o.kind for o in found] == ["duplicate"]


def test_the_command_lists_the_pairs_and_fails(tmp_path, capsys):
    train = write_nlu(tmp_path / "train.yml", "charged_but_failed", ["钱扣了但显示交易失败", "被扣了两次钱"])
    held = write_nlu(tmp_path / "held.yml", "charged_but_failed", ["钱扣了，但显示交易失败了", "同一笔货款重复扣了我两次"])
    assert check_overlap.main(["--train", str(train), "--held-out", str(held)]) == 1
    out = capsys.readouterr().out
    assert "钱扣了，但显示交易失败了" in out and "钱扣了但显示交易失败" in out
    assert "near=1" in out and "exact=0" in out


def test_the_command_passes_on_distinct_files(tmp_path):
    train = write_nlu(tmp_path / "train.yml", "greet", ["你好", "在吗"])
    held = write_nlu(tmp_path / "held.yml", "greet", ["晚上好呀小安", "hey"])
    assert check_overlap.main(["--train", str(train), "--held-out", str(held)]) == 0


def test_the_real_held_out_file_does_not_copy_the_training_data():
    training = check_overlap.read_examples(ROOT / "data" / "nlu")
    held_out = check_overlap.read_examples(ROOT / "tests" / "nlu")
    assert len(held_out) >= 12 * len({e.intent for e in training})
    found = check_overlap.find_overlaps(training, held_out)
    assert found == [], "\n".join(f"{o.kind} {o.ratio:.2f} {o.held_out.text} ~ {o.training.text}" for o in found)


def test_every_intent_has_at_least_12_held_out_examples():
    training = check_overlap.read_examples(ROOT / "data" / "nlu")
    held_out = check_overlap.read_examples(ROOT / "tests" / "nlu")
    counts = {i: sum(e.intent == i for e in held_out) for i in {e.intent for e in training}}
    assert min(counts.values()) >= 12, counts


def test_the_dev_set_does_not_copy_the_training_data():
    """tests/nlu_dev (training data and the FallbackClassifier settings are chosen on it) is never trained on either."""
    training = check_overlap.read_examples(ROOT / "data" / "nlu")
    dev = check_overlap.read_examples(ROOT / "tests" / "nlu_dev")
    assert dev, "tests/nlu_dev is empty"
    found = check_overlap.find_overlaps(training, dev)
    assert found == [], "\n".join(f"{o.kind} {o.ratio:.2f} {o.held_out.text} ~ {o.training.text}" for o in found)


def test_the_dev_set_does_not_copy_the_held_out_file():
    """A dev set may later become training data (data/nlu/phrasings_from_dev.yml was one): it must not
    carry held-out examples into it."""
    dev = check_overlap.read_examples(ROOT / "tests" / "nlu_dev")
    held_out = check_overlap.read_examples(ROOT / "tests" / "nlu")
    found = check_overlap.find_overlaps(dev, held_out)
    assert found == [], f"{len(found)} held-out examples are (near) copies of dev examples"

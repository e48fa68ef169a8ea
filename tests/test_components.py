"""The custom NLU components, without training a model."""
from pathlib import Path

import pytest
import yaml
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xiaoan.components.entity_finisher import EntityFinisher
from xiaoan.components.preprocess import FRAUD_SIGNALS, UserTextReader
from xiaoan.components.tokenizer import CleanJiebaTokenizer

ROOT = Path(__file__).resolve().parents[1]


def test_normalizer_keeps_entity_values_in_step_with_the_text():
    example = Message(data={TEXT: "尾號５６７８", ENTITIES: [{"entity": "card_tail", "start": 2, "end": 6, "value": "５６７８"}]})
    UserTextReader().process_training_data(TrainingData([example]))
    assert example.get(TEXT) == "尾号5678"
    assert example.get(ENTITIES)[0]["value"] == "5678"


def test_normalizer_leaves_synonym_values_alone():
    example = Message(data={TEXT: "工行的卡", ENTITIES: [{"entity": "bank", "start": 0, "end": 2, "value": "中国工商银行"}]})
    UserTextReader().process_training_data(TrainingData([example]))
    assert example.get(ENTITIES)[0]["value"] == "中国工商银行"


def test_training_examples_are_masked_like_live_messages():
    example = Message(data={TEXT: "卡号６２２２０２１２３４５６７８９０１２３ 密码123456"})
    UserTextReader().process_training_data(TrainingData([example]))
    assert example.get(TEXT) == "卡号***************0123 密码******"


def test_a_live_message_read_by_the_ingress_is_not_read_again():
    """The ingress's record is trusted: its signals are used, the text is left as the ingress left it."""
    admitted = Message(data={TEXT: "客服让我转到安全账户", "metadata": {"xiaoan": {"fraud_signals": ["impersonation"]}}})
    UserTextReader().process([admitted])
    assert admitted.get(FRAUD_SIGNALS) == ["impersonation"]
    stray = Message(data={TEXT: "客服让我转到安全账户 密码123456"})  # Rasa started without the runtime
    UserTextReader().process([stray])
    assert "safe_account" in stray.get(FRAUD_SIGNALS) and "123456" not in stray.get(TEXT)


def test_tokenizer_drops_whitespace_tokens_for_mixed_text():
    config = {**JiebaTokenizer.get_default_config()}
    tokenizer = CleanJiebaTokenizer(config, None, None)
    tokens = tokenizer.tokenize(Message(data={TEXT: "pos机 刷卡  失败"}), TEXT)
    assert all(t.text.strip() for t in tokens)
    assert "".join(t.text for t in tokens) == "pos机刷卡失败"
    raw = JiebaTokenizer(config, None, None).tokenize(Message(data={TEXT: "pos机 刷卡  失败"}), TEXT)
    assert any(not t.text.strip() for t in raw)  # the trap this component exists for


def test_finisher_merges_normalises_and_drops_malformed():
    text = "终端号10000002 转了三千五 错误码a0"
    entities = [
        {"entity": "terminal_id", "start": 3, "end": 11, "value": "10000002", "extractor": "StructuredEntityExtractor"},
        {"entity": "terminal_id", "start": 3, "end": 11, "value": "10000002", "extractor": "DIETClassifier"},
        {"entity": "amount", "start": 14, "end": 17, "value": "三千五", "extractor": "DIETClassifier"},
        {"entity": "error_code", "start": 20, "end": 22, "value": "a0", "extractor": "StructuredEntityExtractor"},
        {"entity": "card_tail", "start": 0, "end": 2, "value": "终端", "extractor": "DIETClassifier"},
    ]
    out = EntityFinisher().finish(entities, text)
    assert [(e["entity"], e["value"]) for e in out] == [("terminal_id", "10000002"), ("amount", "3500.00"), ("error_code", "A0")]
    assert {e["extractor"] for e in out} == {"EntityFinisher"}


def test_tokenizer_splits_where_digits_letters_and_chinese_meet():
    tokenizer = CleanJiebaTokenizer({**JiebaTokenizer.get_default_config()}, None, None)
    texts = [t.text for t in tokenizer.tokenize(Message(data={TEXT: "显示err04 转了8000元"}), TEXT)]
    assert "err" in texts and "04" in texts and "8000" in texts and "元" in texts
    spans = [(t.start, t.end) for t in tokenizer.tokenize(Message(data={TEXT: "转了3.5万"}), TEXT)]
    assert (2, 5) in spans


def test_scam_pattern_promotes_the_message_to_a_fraud_report():
    from xiaoan.components.fraud_intent import FraudPatternIntent

    message = Message(data={TEXT: "转账失败了,客服让我把钱转到安全账户"})
    UserTextReader().process([message])
    message.set("intent", {"name": "transfer_failed", "confidence": 0.9})
    message.set("intent_ranking", [{"name": "transfer_failed", "confidence": 0.9}])
    FraudPatternIntent().process([message])
    assert message.get("intent")["name"] == "fraud_report"
    assert [r["name"] for r in message.get("intent_ranking")][:2] == ["fraud_report", "transfer_failed"]

    ordinary = Message(data={TEXT: "怎么防止被骗"})
    UserTextReader().process([ordinary])
    ordinary.set("intent", {"name": "ask_prevention", "confidence": 0.9})
    FraudPatternIntent().process([ordinary])
    assert ordinary.get("intent")["name"] == "ask_prevention"


def _classified(text, ranking, fallback=False):
    """A message as the pipeline leaves it before FraudPatternIntent: read, classified, maybe fallen back."""
    message = Message(data={TEXT: text})
    UserTextReader().process([message])
    top = dict(ranking[0])
    if fallback:
        top = {"name": "nlu_fallback", "confidence": 0.45}
        ranking = [top, *ranking]
    message.set("intent", top)
    message.set("intent_ranking", ranking)
    return message


def test_a_scam_pattern_is_a_fraud_report_even_when_the_classifier_fell_back():
    from xiaoan.components.fraud_intent import FraudPatternIntent

    message = _classified("他叫我刷流水才能退款", [{"name": "funds_returned", "confidence": 0.4}], fallback=True)
    FraudPatternIntent().process([message])
    assert message.get("intent")["name"] == "fraud_report"
    assert [r["name"] for r in message.get("intent_ranking")] == ["fraud_report", "funds_returned"]
    assert message.get("classified_as")["name"] == "funds_returned"


def test_an_unsure_fraud_guess_counts_when_the_text_names_who_was_impersonated():
    from xiaoan.components.fraud_intent import FraudPatternIntent

    named = _classified("一个自称法院的人打电话给我", [{"name": "fraud_report", "confidence": 0.4}], fallback=True)
    unnamed = _classified("那个电话好奇怪", [{"name": "fraud_report", "confidence": 0.4}], fallback=True)
    FraudPatternIntent().process([named, unnamed])
    assert named.get("intent")["name"] == "fraud_report"
    assert unnamed.get("intent")["name"] == "nlu_fallback"  # the classifier alone, unsure: no alert


@pytest.mark.parametrize(
    "text, ranking, expected",
    [
        ("退款要手续费吗", [{"name": "fraud_report", "confidence": 0.8}, {"name": "charged_but_failed", "confidence": 0.5}],
         "charged_but_failed"),
        ("领POS机还要交激活费，正常吗", [{"name": "fraud_report", "confidence": 0.9}, {"name": "ask_apply_pos", "confidence": 0.1}],
         "nlu_fallback"),
        ("银行会打电话找我要验证码吗", [{"name": "fraud_report", "confidence": 0.7}, {"name": "ask_prevention", "confidence": 0.6}],
         "ask_prevention"),
    ],
)
def test_the_users_own_question_is_never_called_a_report(text, ranking, expected):
    from xiaoan.components.fraud_intent import FraudPatternIntent

    message = _classified(text, ranking)
    FraudPatternIntent().process([message])
    assert message.get("intent")["name"] == expected
    assert "fraud_report" not in [r["name"] for r in message.get("intent_ranking")]


def test_the_fraud_decision_runs_last_with_the_fallback_threshold_of_the_config():
    from xiaoan.components.fraud_intent import FALLBACK_THRESHOLD

    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    names = [step["name"] for step in config["pipeline"]]
    assert names[-1] == "xiaoan.components.fraud_intent.FraudPatternIntent"
    assert names.index("FallbackClassifier") < names.index(names[-1])
    fallback = next(step for step in config["pipeline"] if step["name"] == "FallbackClassifier")
    assert fallback["threshold"] == FALLBACK_THRESHOLD


def test_the_model_fingerprint_follows_its_folders():
    """Runtime code never retrains; any change to text utilities or components does."""
    from xiaoan.components import fingerprint

    before = fingerprint.code_fingerprint()
    counted = {p.relative_to(fingerprint.PACKAGE).parts[0]
               for folder in fingerprint.MODEL_FOLDERS for p in (fingerprint.PACKAGE / folder).rglob("*.py")}
    assert counted == {"text", "components"}
    runtime_file = fingerprint.PACKAGE / "runtime" / "processor.py"
    assert runtime_file.exists() and before == fingerprint.code_fingerprint()


def test_a_fraud_guess_under_the_fraud_bar_is_unsure_even_above_the_fallback_threshold():
    """FALLBACK_THRESHOLD < confidence < FRAUD_SURE: not a fallback any more, but still not sure enough for a scam alert."""
    from xiaoan.components.fraud_intent import FALLBACK_THRESHOLD, FRAUD_SURE, FraudPatternIntent

    confidence = (FALLBACK_THRESHOLD + FRAUD_SURE) / 2
    ranking = [{"name": "fraud_report", "confidence": confidence}, {"name": "ask_fee", "confidence": 0.35}]
    plain = _classified("退货的时候对方说要收点钱", ranking)
    named = _classified("一个自称客服的人说退货要收钱", ranking)
    FraudPatternIntent().process([plain, named])
    assert plain.get("intent")["name"] == "ask_fee"  # the next reading, sure enough to stand
    assert named.get("intent")["name"] == "fraud_report"

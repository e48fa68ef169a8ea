"""The custom NLU components, without training a model."""
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xiaoan.components.entity_finisher import EntityFinisher
from xiaoan.components.preprocess import FRAUD_SIGNALS, UserTextReader
from xiaoan.components.spacy_identifiers import spacy_identifiers
from xiaoan.components.tokenizer import CleanJiebaTokenizer


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


def test_spacy_and_regex_extractors_agree_on_the_basics():
    found = {(e["entity"], e["value"]) for e in spacy_identifiers("终端号10000002 参考号202611250002 尾号5678 错误码51")}
    assert found == {("terminal_id", "10000002"), ("reference_number", "202611250002"), ("card_tail", "5678"), ("error_code", "51")}


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


def test_the_model_fingerprint_follows_its_folders():
    """Runtime code never retrains; any change to text utilities or components does."""
    from xiaoan.components import fingerprint

    before = fingerprint.code_fingerprint()
    counted = {p.relative_to(fingerprint.PACKAGE).parts[0]
               for folder in fingerprint.MODEL_FOLDERS for p in (fingerprint.PACKAGE / folder).rglob("*.py")}
    assert counted == {"text", "components"}
    runtime_file = fingerprint.PACKAGE / "runtime" / "processor.py"
    assert runtime_file.exists() and before == fingerprint.code_fingerprint()

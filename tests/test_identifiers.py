from xiaoan.text.identifiers import clean_identifier, find_identifiers
from xiaoan.text.normalize import normalize_text


def found(text):
    return {(f.entity, f.value) for f in find_identifiers(normalize_text(text))}


def test_identifiers_in_context():
    assert found("终端号10000002一直通讯失败") == {("terminal_id", "10000002")}
    assert found("参考号202611250002") == {("reference_number", "202611250002")}
    assert found("尾号5678的卡 POS机显示A0") == {("card_tail", "5678"), ("error_code", "a0")}
    assert found("卡号***************0123") == {("card_number", "***************0123")}


def test_bare_answers():
    assert found("5678") == {("card_tail", "5678")}
    assert found(" A0 ") == {("error_code", "a0")}


def test_amounts_and_odd_lengths_are_not_identifiers():
    assert found("转了3500元") == set()
    assert found("号码1234567890") == set()


def test_clean_identifier():
    assert clean_identifier("error_code", "a0") == "A0"
    assert clean_identifier("card_tail", "***************0123") == "0123"
    assert clean_identifier("terminal_id", "1000000") is None
    assert clean_identifier("reference_number", None) is None

from xiaoan.text.normalize import normalize_text, to_half_width, to_simplified


def test_full_width_digits_and_punctuation_become_ascii():
    assert to_half_width("尾号５６７８，ＰＯＳ？") == "尾号5678,POS?"


def test_traditional_becomes_simplified_with_banking_zhang():
    # OpenCC alone turns 轉帳 into 转帐; banking Chinese writes 账.
    assert to_simplified("轉帳失敗") == "转账失败"
    assert to_simplified("銀行終端") == "银行终端"


def test_latin_is_lower_cased_and_length_kept():
    raw = "POS機顯示Ａ０，轉賬失敗"
    out = normalize_text(raw)
    assert out == "pos机显示a0,转账失败"
    assert len(out) == len(raw)


def test_empty_and_none():
    assert normalize_text("") == ""
    assert normalize_text(None) == ""

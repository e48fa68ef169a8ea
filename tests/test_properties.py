"""Property-based checks: normalisation, amounts and masking never crash, and
masking never lets a card number, PIN or verification code through."""
import re

import cn2an
from hypothesis import given, settings
from hypothesis import strategies as st

from xiaoan.text.amounts import parse_amount
from xiaoan.text.masking import mask_secrets
from xiaoan.text.normalize import normalize_text

ANY_TEXT = st.text(max_size=300)
FILLER = st.text(alphabet=st.sampled_from(list("转账失败的卡号我是了,。 abcPOS")), max_size=12)
PAN = st.integers(min_value=16, max_value=19).flatmap(
    lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
)


@settings(max_examples=300)
@given(ANY_TEXT)
def test_normalisation_is_total_and_length_preserving(text):
    assert len(normalize_text(text)) == len(text)


@settings(max_examples=300)
@given(ANY_TEXT)
def test_amount_parsing_never_raises(text):
    value = parse_amount(text)
    assert value is None or value > 0


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=99_999_999))
def test_amounts_agree_with_cn2an(number):
    chinese = cn2an.an2cn(number)
    assert parse_amount(chinese + "元") == number


@settings(max_examples=300)
@given(FILLER, PAN, FILLER)
def test_card_numbers_never_get_through(before, pan, after):
    masked = mask_secrets(before + pan + after).text
    assert pan not in masked
    assert not re.search(r"\d{13,}", masked.replace(" ", ""))
    assert masked.endswith(pan[-4:] + after)


@settings(max_examples=300)
@given(
    st.sampled_from(["密码", "密码是", "取款密码:", "验证码", "短信验证码是", "验证码：", "cvv", "CVV2 ", "安全码"]),
    st.text(alphabet="0123456789", min_size=4, max_size=6),
    FILLER,
)
def test_secrets_after_their_keyword_never_get_through(keyword, digits, after):
    if keyword.lower().startswith(("cvv", "安全码")):
        digits = digits[:3]
    masked = mask_secrets(keyword + digits + after).text
    assert masked == keyword + "*" * len(digits) + after  # FILLER holds no digits


@settings(max_examples=300)
@given(ANY_TEXT)
def test_masking_is_total_and_length_preserving(text):
    result = mask_secrets(text)
    assert len(result.text) == len(text)

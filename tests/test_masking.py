import re

import pytest

from xiaoan.text.masking import mask_secrets, mask_text


def test_card_number_keeps_only_its_tail():
    result = mask_secrets("我的卡号6222021234567890123转不了")
    assert "6222021234567890123" not in result.text
    assert result.text.endswith("0123转不了")
    assert result.found == {"card_number"}
    assert result.card_tails == ["0123"]
    assert len(result.text) == len("我的卡号6222021234567890123转不了")


def test_grouped_and_full_width_card_numbers_are_masked():
    assert mask_text("卡号 6222 0212 3456 7890") == "卡号 **** **** **** 7890"
    masked = mask_text("卡号６２２２０２１２３４５６７８９０１２")
    assert not re.search(r"[0-9０-９]{5}", masked)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("密码是123456", "pin"),
        ("我密码 887766 你帮我查", "pin"),
        ("验证码：482913", "verification_code"),
        ("482913是验证码", "verification_code"),
        ("cvv 123", "cvv"),
        ("卡背面三位是321", "cvv"),
    ],
)
def test_secrets_are_masked(text, kind):
    result = mask_secrets(text)
    assert kind in result.found
    assert not re.search(r"\d{3,}", result.text)


def test_identifiers_we_need_are_left_alone():
    text = "终端号10000002 参考号202611250002 尾号5678 金额3500元"
    assert mask_text(text) == text


def test_ticket_numbers_are_never_taken_for_card_numbers():
    """XA + China date + 6 digits: 14 digits, Luhn-valid one time in ten. Masked, the ticket summary the user got
    and the one stored (and shown to staff) differed (a scale-out load test caught it)."""
    from xiaoan.text.masking import luhn_valid

    numbers = [f"XA20261207{row:06d}" for row in range(1, 300)]
    assert any(luhn_valid(n[2:]) for n in numbers)  # the case that was masked
    for number in numbers:
        said = f"已为您登记工单，工单号：{number}（请保存）。您的情况已登记在工单{number}，"
        assert mask_text(said) == said

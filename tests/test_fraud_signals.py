import pytest

from xiaoan.text.fraud import fraud_signals, is_urgent


@pytest.mark.parametrize(
    "text, kind",
    [
        ("有人打电话说我转账失败要我提供验证码", "code_request"),
        ("有个炸骗电话让我报验证码", "code_request"),
        ("客服让我把钱转到安全账户", "safe_account"),
        ("要交500解冻费才能退款", "fee_to_unfreeze"),
        ("他发了个链接让我点一下就能退款", "link_or_app"),
        ("对方让我开屏幕共享", "screen_share"),
    ],
)
def test_scam_patterns_are_urgent(text, kind):
    signals = fraud_signals(text)
    assert kind in signals
    assert is_urgent(signals)


@pytest.mark.parametrize("text", ["怎么预防转账失败", "下载手机银行app转账可以吗", "POS机显示51", "", "验证码是什么意思"])
def test_ordinary_messages_are_not_scams(text):
    assert not is_urgent(fraud_signals(text))

"""Fraud patterns seen around failed POS transfers.

Each pattern is a kind of scam the anti-fraud warning can name. Detection
works on normalised text and looks for someone *asking* for something, so a
user's own question ("怎么防诈骗") does not count as a report.
"""
from __future__ import annotations

import re

from xiaoan.text.normalize import normalize_text

# Obfuscated spellings people use to dodge spam filters.
_DEOBFUSCATE = {"炸骗": "诈骗", "砸骗": "诈骗", "yan证码": "验证码", "验正码": "验证码", "驗證碼": "验证码"}

_ASKER = r"(让我|要我|叫我|问我要|向我要|找我要|跟我要|索要|要求我?|让提供|要提供|提供一?下|发给?他|报给?他|告诉他|念给)"

FRAUD_PATTERNS: dict[str, re.Pattern[str]] = {
    "code_request": re.compile(
        _ASKER + r".{0,12}(验证码|校验码|动态码|密码|cvv|cvn|安全码|卡背面|短信码)"
        r"|(验证码|密码|cvv|安全码).{0,8}(发给|告诉|报给|念给|提供给)(他|她|对方|客服|他们)"
    ),
    "safe_account": re.compile(r"(安全账户|安全帐户|安全账号|资金清查|监管账户|核查账户|备用金账户)"),
    "fee_to_unfreeze": re.compile(
        r"(解冻|退款|退钱|返还|恢复|激活|解除|理赔).{0,10}(费|保证金|手续费|押金|先交|先付|先转|缴纳|刷流水)"
        r"|(交|付|转|缴).{0,6}(保证金|解冻费|手续费|激活费|押金).{0,10}(解冻|退款|退回|恢复|到账)"
    ),
    "link_or_app": re.compile(
        r"(让我|要我|叫我|他发|她发|对方发|客服发|给我发|发给我|发来|发了个?|点开他).{0,10}(链接|网址|连接|二维码|app|软件|客户端)"
        r"|https?://|www\."
    ),
    "screen_share": re.compile(r"(屏幕共享|共享屏幕|共享桌面|远程协助|远程控制|开会议|会议软件|视频会议.{0,6}共享)"),
    "impersonation": re.compile(
        r"(自称|冒充|说是|说他是|称是).{0,6}(银行|银联|客服|公安|警察|民警|法院|检察院|支付公司|工作人员)"
    ),
}


def deobfuscate(text: str) -> str:
    for fake, real in _DEOBFUSCATE.items():
        text = text.replace(fake, real)
    return text


def fraud_signals(text: str | None) -> list[str]:
    """The fraud pattern kinds found in a message, in a fixed order."""
    if not text:
        return []
    probe = deobfuscate(normalize_text(text))[:2000]
    return [kind for kind, pattern in FRAUD_PATTERNS.items() if pattern.search(probe)]


# Patterns strong enough to warn at once, whatever the message was about.
URGENT_KINDS = frozenset({"code_request", "safe_account", "fee_to_unfreeze", "link_or_app", "screen_share"})


def is_urgent(signals: list[str]) -> bool:
    return any(kind in URGENT_KINDS for kind in signals)

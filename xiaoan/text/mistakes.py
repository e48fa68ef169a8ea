"""Which operating mistake a user describes: the PIN, the payee's account, or something else.

The three call for different help. A wrong PIN is a card matter (tries left,
lock, reset at the bank): the issuer declines and debits nothing, so there is
no transaction to look up. A payee account typed wrong either bounces (the
money comes back) or lands in someone else's valid account, which only a
recall through the banks gets back. Any other slip (amount, transaction type)
is looked up by its reference number.
"""
from __future__ import annotations

import re

from xiaoan.text.normalize import normalize_text

PIN = "pin"
WRONG_ACCOUNT = "wrong_account"
OTHER = "other"

_PIN = re.compile(r"(?<!验证)(?<!校验)(?<!动态)(密码|mi码|pin码|pin\b|口令)")
_ACCOUNT = "(收款账号|收款卡号|收款账户|收款人|账号|账户|卡号|户名)"
_WRONG_ACCOUNT = re.compile(
    _ACCOUNT + r".{0,25}((输|填|打|写|选|弄|搞)(错|反|成)|输入有误|不对)"
    r"|(输|填|打|写|选)错了?.{0,4}" + _ACCOUNT
    + r"|(转|汇|付|打|打款)错(了)?(人|账户|账号|卡|对象|地方)"
    r"|转给了?(别人|陌生人|不认识的人|错的人)"
    r"|(少|多)(输|打|填)了?一位"
    r"|(点|选)成了?.{0,4}(银行|行)\b|(点|选)成了?.{1,3}行"
)


def mistake_kind(text: str | None) -> str:
    """PIN, WRONG_ACCOUNT or OTHER for a message describing an operating mistake."""
    probe = normalize_text(text or "")[:500].lower()
    if _PIN.search(probe):
        return PIN
    if _WRONG_ACCOUNT.search(probe):
        return WRONG_ACCOUNT
    return OTHER

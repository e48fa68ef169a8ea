"""Fraud signals: what a user's words show about a scam, read once by the ingress.

A scam report is someone else *demanding* something of the user: read out a
code, give the card number and its expiry, move money to a "safe" or new
account, pay a fee or a deposit first, "刷流水", open a link or an app, share
the screen or hand over control, follow instructions at an ATM. The patterns
below look for that demand (a third party, or a "first pay, then ..."
condition), never for the words alone, so the user's own question ("退款要手续费吗",
"银行会找我要验证码吗") is not a report.

`fraud_signals()` returns kinds in a fixed order, of three sorts:

* urgent kinds (`URGENT_KINDS`): a scam pattern. `FraudPatternIntent` makes the
  message a `fraud_report` whatever the classifier said, and
  `action_fraud_warning` gives one line of advice per kind;
* who the caller pretended to be (`IMPERSONATION_KINDS`): police / court,
  bank / customer service, courier. Not urgent alone; they fit the warning's
  first line ("冒充公检法" is not "冒充客服"). `claimed_identity` marks an
  explicit claim ("自称…", "说是…的"): with the classifier's own unsure
  `fraud_report`, that makes a report;
* the user's own question, with nobody in it who did anything, found only
  when no scam pattern is: whether a fee is due (`FEE_QUESTION_KINDS`: a
  refund, unfreezing, a POS terminal), whether someone would ask for a scam's
  usual things (`scam_question`: "银行会找我要验证码吗"), or any such
  hypothetical question (`hypothetical_question`). They are answered with the
  plain fact (no fee for a reversal, a refund or unfreezing; the bank never
  asks for codes) next to the question's own answer, never with a scam alert,
  and `FraudPatternIntent` does not let the classifier call them a report.
"""
from __future__ import annotations

import re

from xiaoan.text.normalize import normalize_text

# Obfuscated spellings people use to dodge spam filters (after normalisation: lower case, simplified).
_DEOBFUSCATE = {
    "炸骗": "诈骗", "砸骗": "诈骗", "zha骗": "诈骗", "榨骗": "诈骗",
    "yan证码": "验证码", "验正码": "验证码", "验证ma": "验证码", "验zheng码": "验证码",
    "ruan件": "软件", "软jian": "软件", "链jie": "链接", "二维ma": "二维码",
}

# -- vocabulary ------------------------------------------------------------------------------------
# Someone other than the user, or their words reported.
_THIRD = (
    r"(有人|有个|有一个|一个(人|男|女|号码|陌生|自称)|某人|对方|对面|那边|那人|那个|他们|他|她|陌生|来电|电话里|电话那头|骗子"
    r"|自称|冒充|假扮|假冒|客服(说|让|要|叫))"
)
# A demand made of the user.
_DEMAND = r"(让我|要我|叫我|喊我|逼我|催我|教我|引导我|指导我|要求我?|让|叫|问我要|向我要|找我要|跟我要|索要|索取|说要|说得|说需要|需要我|非要)"
# Secrets: codes, passwords, the card's security code. (Typing a PIN oneself is not giving it away.)
_SECRET = (
    r"(验证码|校验码|动态码|动态密码|动态口令|短信码|手机码|六位(数字|数|码)|(收到|短信里|短信上)的?.{0,4}(数字|码)"
    r"|密码|cvv2?|cvn2?|安全码|背面.{0,3}(三位|3位|数字|码))"
)
_GIVE = r"(报|念|读|告诉|发给|发过去|发一下|提供|说给|说一下|透露|给他|给她|给对方|给他们|给了|截图给|回复)"
_PAY = r"(交|缴|缴纳|付|支付|转|垫付|垫|充值|充|打)"
_FEE = (
    r"(保证金|解冻费|解冻金|手续费|激活费|押金|工本费|担保金|保释金|所得税|税费|税|律师费|修复费|诉讼费|会员费"
    r"|服务费|通道费|认证费|验证金|费用|钱|块|元|万|\d+)"
)
_GOAL = (
    r"(解冻|退款|退钱|退费|退回|退给|退还|返还|恢复|激活|放款|放行|提现|提出来|到账|撤案|解除|撤销|撤回|领奖|领取|理赔"
    r"|追回|拿回|要回|修复|取消|转出|退出来)"
)
# A named scam fee: with a third party, paying one is the report.
_SCAM_FEE = r"(解冻费|解冻金|保证金|担保金|工本费|保释金|修复费|通道费|验证金|认证费|诉讼费)"
_ACCOUNT = r"(账户|账号|卡|银行卡)"
_LINK = r"(链接|连接|网址|网页|网站|二维码|收款码|付款码|app|apk|软件|客户端|安装包|下载地址|小程序)"
_OPEN = r"(点|点开|点击|扫|下载|下个|下一个|装|安装|登录|登陆|打开|进入|注册|填)"
_SHARE = (
    r"(屏幕共享|共享屏幕|共享.{0,3}屏幕|屏幕分享|分享屏幕|共享桌面|开共享|点共享|开启共享|打开共享|开了共享"
    r"|远程协助|远程控制|远程软件|远程操作|远程处理|远程帮|远程修|远程把|会议软件|视频会议|向日葵|todesk|teamviewer"
    r"|(手机|电脑)(交)?给(他|她|对方|他们)(控制|操作|操控)|控制我的(手机|电脑)|操控我的)"
)
_THREAT = (
    r"(涉嫌|洗钱|传票|通缉|逮捕|拘留|强制执行|被起诉|起诉了?我|撤案|案子|涉案|违禁品|犯罪|嫌疑人|自证清白|证明清白"
    r"|配合调查|(不要|别|不能|不准)告诉(家人|家里|亲人|朋友|任何人)|保密)"
)
_ROLE_AUTHORITY = r"(公安|警察|警官|民警|刑警|派出所|公安局|法院|法官|书记员|执行局|检察院|检察官|公检法|国安|纪委)"
_ROLE_SERVICE = (
    r"(银行|银联|客服|支付公司|支付宝|微信支付|淘宝|京东|收单|售后|厂家|风控|工作人员|业务员|信用卡中心|工行|建行|农行"
    r"|中行|招行|交行|邮储)"
)
_ROLE_COURIER = r"(快递|顺丰|邮政|物流|中通|圆通|韵达|申通)"
_CLAIM = (
    r"(自称|冒充|假扮|假冒|假的|说是|说他是|说她是|说自己是|说他们是|称是|号称|说.{0,2}是|是.{0,10}的(人|,|，)|转接|打来"
    r"|打电话|来电|发短信|加我|的人|说|讲|告诉我|联系我|找我)"
)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


FRAUD_PATTERNS: dict[str, re.Pattern[str]] = {
    # Someone asks for a code, a password or the security code, or the user gave one away.
    "code_request": _any(
        _DEMAND + r".{0,6}把?.{0,14}" + _SECRET + r".{0,8}" + _GIVE,
        r"(让我|要我|叫我|催我|逼我|要求我?)" + r"(报|念|读|提供|说|告诉|发|回复)" + r".{0,12}" + _SECRET,
        _THIRD + r".{0,30}(要|索要|问|管我要)(我的)?.{0,2}" + _SECRET,
        r"(问我要|向我要|找我要|跟我要|索要|索取|要我的|问我的|要了我的|问我)" + r".{0,8}" + _SECRET,
        _SECRET + r".{0,8}(报给|告诉|发给|念给|读给|说给|给了|提供给|给)(了?他|了?她|对方|客服|他们|一个|那个|陌生|别人|骗子|假)",
        _SECRET + r".{0,3}(念|读|报)(出来|一遍|一下)",
    ),
    # Card number with its expiry or security code, or photos of the card.
    "card_details": _any(
        r"卡号.{0,10}(有效期|背面|三位|cvv|安全码)",
        r"有效期.{0,8}(背面|三位|cvv|安全码)",
        r"卡.{0,3}(正反面|正面|背面).{0,6}(拍|照)",
        _DEMAND + r".{0,8}(提供|报|填|交出|告诉|发).{0,6}(银行卡|卡片?|完整卡号).{0,2}(信息|资料|卡号)",
    ),
    # Money moved to a "safe", designated or new account, or to the caller's own account for a reason.
    "safe_account": _any(
        r"(安全|清查|核查|监管|过渡|专用|保管|国家)(账户|账号|卡)|资金清查|备用金账户",
        "(" + _DEMAND + "|" + _THIRD + r").{0,20}(转|打|存|挪|汇|归集|转移|放)(到|进|入|给|去)?.{0,6}"
        r"(新开的?|新办的?|一个新的?|新的?|指定的?|私人|个人|陌生|不同的?|他说的|她说的|他给的|她给的|他们给的|他们的?|对公)"
        + _ACCOUNT,
        r"(归集|集中|汇集|汇总)(到|进)?.{0,6}" + _ACCOUNT,
        r"(往|到|进|给)(他|她|对方|他们)(的|个人|给的|说的)?.{0,2}" + _ACCOUNT + r".{0,12}(验证|激活|解冻|核查|清查|审查|保管|退)",
        r"(验证|激活|解冻|核查|清查|审查|保管|退款|退钱).{0,16}(往|到|进)(他|她|对方|他们)(的|个人|给的|说的)?.{0,2}" + _ACCOUNT,
    ),
    # Pay first (a fee, a deposit, tax, "a sum") to get money back, unfrozen or released.
    "upfront_fee": _any(
        _PAY + r".{0,10}" + _FEE + r".{0,12}(才|就能|就可以|就会|就给|就原路|就帮|否则|不然).{0,8}" + _GOAL,
        _GOAL + r".{0,12}(要|得|需要|必须)?(先|之前|以前|前).{0,6}" + _PAY,
        r"(先|要先|得先|需要先|必须先)" + _PAY + r".{0,14}(才|就能|就可以|" + _GOAL + ")",
        _THIRD + r".{0,30}" + _GOAL + r".{0,10}(要|得|需要|必须)" + _PAY + r".{0,6}" + _FEE,
        _THIRD + r".{0,30}" + _PAY + r".{0,10}" + _SCAM_FEE,
        _THIRD + r".{0,30}(要我|让我|叫我|要求我?)(先|得先|必须先)" + _PAY,
    ),
    # "刷流水": turnover demanded before money is released.
    "turnover": _any(
        r"刷(?!卡)[^,，。.!?]{0,4}流水",
        r"流水(不够|不足|验证|没达标|太少|不达标)",
        r"(做|洗)[^,，。]{0,3}流水",
        r"流水.{0,3}(洗|刷|做)",
        r"刷[一两三几\d]?笔.{0,12}(才能|激活|退|解冻|提现|通道|流水)",
    ),
    # A link, a QR code or an app sent by them or to be opened at their request.
    "link_or_app": _any(
        r"(发来|发了|发给我|给我发|他发|她发|对方发|发过来|附了?|附带|带了?个|推了|甩了).{0,8}" + _LINK,
        _DEMAND + r".{0,10}" + _OPEN + r".{0,12}" + _LINK,
        _OPEN + r".{0,4}(他|她|对方|他们|客服)(发|给)?的?.{0,6}" + _LINK,
        _DEMAND + r".{0,14}扫.{0,4}码",
        r"短信.{0,24}(点击|点开|登录|登陆|链接|网址)",
        r"(请|请您)(登录|登陆|点击|点开|扫码|扫描).{0,6}" + _LINK,
        r"https?://|www\.",
    ),
    # Screen sharing, remote control, meeting software.
    "screen_share": _any(
        r"(" + _DEMAND + r"|他|她|对方|他们|客服|说的).{0,14}" + _SHARE,
        _SHARE + r".{0,8}(帮我|给他|给她|给对方|让他|让她)",
    ),
    # A police / court threat used to get money moved.
    "authority_threat": _any(
        r"(" + _THIRD + r"|说|讲|称|电话|视频|微信|qq).{0,30}" + _THREAT + r".{0,30}(转|交|汇|打钱|存款|资金|钱|账户)",
        r"(转|交|汇|打钱).{0,20}(自证清白|证明清白|配合调查|接受审查|核查资金)",
    ),
    # Coached operations: an ATM run by their instructions, call forwarding, "don't hang up".
    "guided_operation": _any(
        r"(atm|取款机|柜员机).{0,12}(按|照|听).{0,4}(他|她|对方|他们|指示|提示|步骤|说的)",
        r"(要我|让我|叫我|要求我?)去?.{0,4}(atm|取款机|柜员机).{0,8}(操作|按|转|取消|退)",
        r"(按|照)(他|她|对方|他们)(说的|的指示|的步骤|的要求).{0,10}(操作|转|atm)",
        r"呼叫转移",
        r"(别|不要|不能)挂(电话)?.{0,12}(转|atm|操作|取)",
    ),
    # Someone the user says was impersonating, or a fake agent ("有人冒充银联", "假客服说…").
    "impersonator": _any(
        r"(有人|有个人?|一个人|对方|他|她|他们|骗子|电话|短信|来电|陌生人?).{0,6}(冒充|假冒|假扮)",
        r"假(客服|警察|民警|银行|银联|快递员?|工作人员)",
    ),
    # Who the caller pretended to be: fits the warning's first line.
    "impersonation_authority": _any(_CLAIM + r".{0,8}" + _ROLE_AUTHORITY, _ROLE_AUTHORITY + r".{0,8}" + _CLAIM),
    "impersonation_courier": _any(_CLAIM + r".{0,8}" + _ROLE_COURIER, _ROLE_COURIER + r".{0,10}" + _CLAIM),
    "impersonation_service": _any(_CLAIM + r".{0,8}" + _ROLE_SERVICE, _ROLE_SERVICE + r".{0,8}" + _CLAIM),
}

# Someone *claiming* to be police, a court, a courier or a bank ("自称", "说是", "冒充"): with the classifier's own
# (unsure) fraud_report, enough for a report. Looser mentions ("银行说…") only fit the warning's first line.
_STRICT_CLAIM = r"(自称|冒充|假扮|假冒|说是|说他是|说她是|说自己是|说他们是|称是|号称|以.{0,6}(名义|身份))"
CLAIMED_IDENTITY = "claimed_identity"
_CLAIMED = re.compile(_STRICT_CLAIM + r".{0,10}(" + _ROLE_AUTHORITY + "|" + _ROLE_SERVICE + "|" + _ROLE_COURIER + ")")

URGENT_KINDS = frozenset(
    {"code_request", "card_details", "safe_account", "upfront_fee", "turnover", "link_or_app", "screen_share",
     "authority_threat", "guided_operation", "impersonator"}
)
IMPERSONATION_KINDS = ("impersonation_authority", "impersonation_courier", "impersonation_service")

# The user's own question whether something costs a fee (found only when no scam pattern is).
_QUESTION = re.compile(r"(吗|么|吧|呢|\?|是不是|会不会|要不要|收不收|扣不扣|用不用|正常|靠谱|合理|多少|怎么|谁出|谁付)")
FEE_QUESTIONS: dict[str, re.Pattern[str]] = {
    "fee_question_refund": _any(
        r"(退款|退货|冲正|退回|退钱|退还|撤销).{0,12}(手续费|费用|收费|扣费|扣钱|要钱|交钱|交费|付费|收钱|花钱)",
        r"(手续费|费用).{0,8}(退款|退货|冲正)",
    ),
    "fee_question_unfreeze": _any(
        r"(解冻|冻结|解除冻结|解锁|解封).{0,14}(费|收钱|要钱|交钱|花钱|收不收)",
    ),
    "fee_question_pos": _any(
        r"(pos|刷卡机|机器|机子|收款机|终端).{0,14}(激活费|押金|保证金|激活.{0,4}(费|钱))",
        r"(激活费|押金|保证金).{0,8}(pos|刷卡机|机器|机子|收款机)",
    ),
}
FEE_QUESTION_KINDS = tuple(FEE_QUESTIONS)

# A hypothetical question about what someone *would* do ("银行会找我要验证码吗"), or how to tell a scam,
# with no one in it who did anything.
_EVENT = re.compile(
    r"(有人|有个|有一个|一个(人|男|女|号码|陌生|自称)|某人|对方|那边|那人|那个人|他们|他|她|陌生|刚才|刚刚|今天|昨天"
    r"|接到|收到|打来|来电|加我|给我打|给我发|发来|自称|冒充|假扮|假冒|骗子|被骗|诈骗|客服(让|说|要|叫)|说是|说我|说要"
    r"|说你|说卡|说账户)"
)
_HYPOTHETICAL = re.compile(
    r"(会|能|可以|一般|通常|正规|真的|正常).{0,20}(吗|(?<![怎什这那])么|吧|\?)|会不会|是不是都"
    r"|(怎么|如何|怎样|咋)(识别|辨别|分辨|区分|防范|预防|防止|避免|判断|看出)"
)
SCAM_QUESTION = "scam_question"
HYPOTHETICAL_QUESTION = "hypothetical_question"
QUESTION_KINDS = (*FEE_QUESTION_KINDS, SCAM_QUESTION, HYPOTHETICAL_QUESTION)


def deobfuscate(text: str) -> str:
    for fake, real in _DEOBFUSCATE.items():
        text = text.replace(fake, real)
    return text


def read_probe(text: str | None) -> str:
    """The text the patterns read: normalised, obfuscations undone, bounded."""
    return deobfuscate(normalize_text(text or ""))[:2000]


def is_hypothetical_question(probe: str) -> bool:
    """A question about what would happen, with nobody in it who did anything: never a report."""
    return bool(_HYPOTHETICAL.search(probe)) and not _EVENT.search(probe)


def fraud_signals(text: str | None) -> list[str]:
    """The signal kinds found in a message, in a fixed order (see the module docstring)."""
    probe = read_probe(text)
    if not probe:
        return []
    found = [kind for kind, pattern in FRAUD_PATTERNS.items() if pattern.search(probe)]
    if _CLAIMED.search(probe):
        found.append(CLAIMED_IDENTITY)
    hypothetical = is_hypothetical_question(probe)
    if hypothetical:
        asked_about = is_urgent(found)
        found = [kind for kind in found if kind not in URGENT_KINDS] + ([SCAM_QUESTION] if asked_about else [])
    if not is_urgent(found) and _QUESTION.search(probe) and not _EVENT.search(probe):
        found += [kind for kind, pattern in FEE_QUESTIONS.items() if pattern.search(probe)]
    if hypothetical:
        found.append(HYPOTHETICAL_QUESTION)
    return found


def is_urgent(signals: list[str] | tuple[str, ...]) -> bool:
    return any(kind in URGENT_KINDS for kind in signals)


def impersonated(signals: list[str] | tuple[str, ...]) -> str | None:
    """Who the caller pretended to be, the most serious first: authority, courier, service; else None."""
    return next((kind for kind in IMPERSONATION_KINDS if kind in signals), None)


def fee_questions(signals: list[str] | tuple[str, ...]) -> list[str]:
    return [kind for kind in signals if kind in FEE_QUESTION_KINDS]


def claims_identity(signals: list[str] | tuple[str, ...]) -> bool:
    return CLAIMED_IDENTITY in signals


def is_question_only(signals: list[str] | tuple[str, ...]) -> bool:
    """The user's own question (a fee, a scam's usual demands, a hypothetical), no scam pattern: never a report."""
    return not is_urgent(signals) and any(kind in QUESTION_KINDS for kind in signals)

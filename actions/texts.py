"""What the actions say: plain-Chinese explanations and next steps.

Pure functions from back-office records to messages, so every wording can
be tested without a dispatcher and every state has its own next steps.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Optional

from actions.backoffice.records import Card, Terminal, Transaction
from actions.lookup_tables import ResponseCode, find_bank

FRAUD_REMINDER = (
    "🔒 防骗提醒：银行、银联和小安都不会索要您的密码、CVV或短信验证码，"
    "不会让您把钱转到“安全账户”，也不会要求先交费才能解冻或退款。遇到这类要求请立即挂断，拨打96110或110。"
)

PRIVACY_WARNING = (
    "⚠️ 请不要在对话里发送{what}。为保护您的资金安全，我已把这部分内容隐藏，记录里不会保存。"
    "查询只需要卡号后四位、终端号或参考号。"
)
SECRET_NAMES = {
    "card_number": "完整卡号",
    "pin": "密码",
    "cvv": "卡背面的CVV安全码",
    "verification_code": "短信验证码",
}


def _yuan(value: Decimal) -> str:
    return f"{value:,.2f}元"


def hotline_hint(bank_name: Optional[str]) -> str:
    bank = find_bank(bank_name)
    if bank:
        return f"{bank.name}官方客服热线 {bank.hotline}"
    return "卡片背面印的发卡行官方客服电话"


def privacy_warning(found: list[str]) -> str:
    what = "、".join(SECRET_NAMES[k] for k in found if k in SECRET_NAMES) or "敏感信息"
    return PRIVACY_WARNING.format(what=what)


def explain_card(card: Optional[Card], card_tail: str, amount: Optional[Decimal] = None) -> str:
    if card is None:
        return (
            f"没有查到尾号{card_tail}的卡片记录。请核对卡号后四位是否正确；"
            "如果确认无误，可能这张卡不在我们的查询范围内，请直接联系卡片背面的发卡行客服查询。"
        )
    hotline = hotline_hint(card.bank)
    head = f"查到了：尾号{card.card_tail}的{card.bank}卡，"
    if card.state == "normal":
        enough = amount is None or amount <= card.balance
        tail = "" if enough else f"但本次金额{_yuan(amount)}超过了可用余额，请调整金额。"
        return (
            head + f"账户状态正常，可用余额充足，单日转账限额{_yuan(card.daily_limit)}。{tail}"
            "账户这边没有问题，失败更可能出在终端、网络或收款方。建议：①检查POS机联网和签到状态；"
            "②核对金额和收款人信息；③先确认上一笔没有扣款再重试。"
        )
    if card.state == "frozen":
        return (
            head + f"目前处于冻结状态（{card.note or '冻结'}），所以交易被拒绝。"
            f"下一步：请本人携带身份证和这张卡，到发卡行网点或拨打{hotline}申请解冻。"
            "解冻只能通过银行官方渠道办理，任何要求您先交“解冻费”或转账到“安全账户”的都是诈骗。"
        )
    if card.state == "insufficient":
        short = f"本次金额{_yuan(amount)}，" if amount else ""
        return (
            head + f"可用余额只有{_yuan(card.balance)}，{short}余额不足所以交易失败，钱没有被扣。"
            "下一步：①存入足够资金后重新交易；②或减少金额、分笔支付；③或换一张卡/改用手机银行。"
        )
    if card.state == "limit_reached":
        return (
            head + f"今天的转账/消费额度已经用完（单日限额{_yuan(card.daily_limit)}），所以被拒绝，钱没有被扣。"
            f"下一步：①明天额度恢复后再交易；②急用的话，通过手机银行或{hotline}申请临时调整限额；③或换一张卡支付。"
        )
    if card.state == "expired":
        return (
            head + f"卡片已经过期（{card.note or '已过有效期'}），过期卡无法交易。"
            f"下一步：请联系发卡行（{hotline}）或到网点办理换卡，新卡到手后再交易；期间可改用其他卡。"
        )
    if card.state == "reported_lost":
        return (
            head + f"这张卡已挂失，无法交易。如果卡已找回，请本人带身份证到发卡行网点解除挂失或补卡（{hotline}）。"
        )
    return head + f"状态异常（{card.state}），请联系{hotline}核实。"


def explain_terminal(terminal: Optional[Terminal], terminal_id: str) -> str:
    if terminal is None:
        return (
            f"没有查到终端号{terminal_id}。终端号是8位数字，印在小票的“终端号”一栏或机身标签上，"
            "请核对后再发给我；确认无误的话，请联系您的收单机构（POS机服务商）客服。"
        )
    head = f"查到了：终端{terminal.terminal_id}（{terminal.merchant}），"
    if not terminal.online:
        hours = terminal.offline_minutes // 60
        since = f"已经离线约{hours}小时" if hours else f"已经离线约{terminal.offline_minutes}分钟"
        return (
            head + f"{since}，交易发不到银行，所以提示通讯失败。请按顺序检查：①SIM卡是否欠费、流量是否用完；"
            "②WiFi/网线是否连好，路由器能否上网；③信号弱就换到窗边或室外；④重启POS机。"
            "联网恢复后、重试之前，请先确认第一笔有没有扣款（看顾客的扣款短信或把参考号发给我查），避免重复扣款。"
        )
    if not terminal.signed_in:
        return (
            head + "在线，但没有签到，工作密钥需要重新下载，所以交易会被拒绝（常见提示A0）。"
            "下一步：在POS主菜单选择“签到”，等待提示签到成功后再交易；签到仍失败请联系收单机构客服重新下载密钥。"
        )
    if terminal.hardware == "printer_fault":
        return (
            head + "在线且已签到，但打印机缺纸或有硬件故障，小票打不出来。"
            "下一步：打开纸仓换上热敏纸（光面朝向打印头）；仍打不出请联系服务商维修。"
            "交易本身可能已成功，不要因为没出小票就重复刷卡，可在终端“交易查询”里重打印上一笔。"
        )
    if terminal.hardware == "card_reader_fault":
        return (
            head + "在线且已签到，但读卡模块故障，刷卡/插卡读不出来。"
            "下一步：清洁读卡槽后换插卡或挥卡（闪付）方式；仍不行请联系服务商维修或更换终端。"
        )
    return (
        head + "在线、已签到、硬件正常，终端这边没有问题。失败更可能是卡片或账户原因，"
        "可以把卡号后四位或交易参考号发给我继续查。"
    )


def explain_transaction(txn: Optional[Transaction], reference_number: str) -> str:
    if txn is None:
        return (
            f"没有查到参考号{reference_number}的交易。参考号是小票上的12位“参考号/检索参考号”，"
            "请核对后再发给我；如果交易刚发生，请几分钟后再查。"
        )
    head = f"查到了：参考号{txn.reference_number}，{txn.time}，金额{_yuan(txn.amount)}，"
    payee_hotline = hotline_hint(txn.payee_bank)
    if txn.state == "credited":
        return (
            head + f"交易成功，钱已经入账到收款方（{txn.payee_bank}）。如果对方说没收到，"
            "请对方查一下入账明细（注意入账名称可能是收单机构而不是您的名字），并核对收款账号是否就是对方在用的账户；"
            f"仍查不到可让对方拨打{payee_hotline}，用这个参考号查询。"
        )
    if txn.state == "reversed":
        return (
            head + "扣款后交易失败，系统已经自动冲正，钱会原路退回您的卡。"
            "一般当天到账，最晚3–5个工作日（视发卡行而定）。期间不要重复付款也不用再操作。"
            "如果超过5个工作日还没退回，请带上这个参考号联系发卡行查询。"
        )
    if txn.state == "processing":
        return (
            head + "还在处理中，仍在正常处理时限内（跨行一般24小时内有结果）。"
            "在结果出来前请不要重复付款。超过24小时仍是处理中，请带上参考号联系发卡行。"
        )
    if txn.state == "returned_name_mismatch":
        return (
            head + "这笔钱已被退票：收款人姓名与账户户名不一致，对方银行无法入账，资金退回原卡（一般1–3个工作日）。"
            "下一步：请对方从手机银行复制准确的户名和账号发给您，核对无误后重新转账。"
        )
    if txn.state == "pending_bank_maintenance":
        return (
            head + f"已从您的卡扣款，但收款行（{txn.payee_bank}）正在系统维护，入账暂挂起，"
            "维护结束后会自动入账，一般不需要您做什么。请不要重复转账。"
            f"如果超过1个工作日仍未到账，请联系{payee_hotline}或发卡行查询。"
        )
    if txn.state == "declined_no_debit":
        return (
            head + "交易被拒绝，没有扣款。确认原因后（卡片余额、限额或终端状态）可以放心重试一次。"
        )
    if txn.state == "duplicate_debit":
        return (
            head + "同一笔交易被扣了两次：第一笔有效，第二笔属于重复扣款，已提交差错处理，"
            "多扣的钱一般3–7个工作日内退回原卡。请保留两条扣款短信/小票；超过7个工作日未退，请带参考号联系发卡行。"
        )
    return head + f"状态为{txn.state}，请带上参考号联系发卡行核实。"


CHECK_INVITES = {
    "account": "我可以帮您查一下卡片状态。",
    "terminal": "我可以帮您查一下这台POS机的状态。",
    "transaction": "我可以帮您查一下这笔交易现在的状态。",
}


def explain_code(code: str, entry: Optional[ResponseCode]) -> str:
    if entry is None:
        return (
            f"应答码{code}不在我知道的银联应答码表里。请再看一眼屏幕或小票，应答码一般是两位（如51、55、A0）；"
            "也可以把终端号或参考号发给我，我帮您直接查。"
        )
    invite = CHECK_INVITES.get(entry.check, "")
    return (
        f"应答码{entry.code}：{entry.meaning}。\n常见原因：{entry.cause}\n建议：{entry.action}"
        + (f"\n{invite}" if invite else "")
    )

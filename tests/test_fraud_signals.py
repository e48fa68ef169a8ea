"""The text-level fraud signals (xiaoan/text/fraud.py): scams are someone *demanding*, questions are not.

The figures on the hand-written evaluation set are scripts/check_fraud.py's
(make test-fraud); these are the cases the issue named, one per pattern, and
the rule that no training or held-out example of another intent carries an
urgent signal.
"""
import re
from pathlib import Path

import pytest
import yaml

from xiaoan.text.fraud import fee_questions, fraud_signals, impersonated, is_question_only, is_urgent

ROOT = Path(__file__).resolve().parents[1]
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


# -- the cases --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, fee_kind",
    [
        ("退款要手续费吗", "fee_question_refund"),
        ("退货退款会扣手续费吗", "fee_question_refund"),
        ("卡被冻结了怎么恢复，要交费吗", "fee_question_unfreeze"),
        ("领POS机还要交激活费，正常吗", "fee_question_pos"),
    ],
)
def test_a_harmless_fee_question_is_not_a_scam_and_is_recognised_as_a_question(text, fee_kind):
    signals = fraud_signals(text)
    assert not is_urgent(signals)
    assert fee_questions(signals) == [fee_kind]
    assert is_question_only(signals)  # the classifier may not call it a report either


@pytest.mark.parametrize(
    "text, kind",
    [
        ("有人说要交保证金才能把钱退给我", "upfront_fee"),
        ("有人加我微信说帮我解冻要交200", "upfront_fee"),
        ("他叫我刷流水才能退款", "turnover"),
        ("对方让我把钱转到一个新账户", "safe_account"),
        ("对方让我告诉他卡号和有效期", "card_details"),
    ],
)
def test_the_scams_the_classifier_was_left_with_are_caught_in_the_text(text, kind):
    signals = fraud_signals(text)
    assert kind in signals and is_urgent(signals)


# -- one case per pattern ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind",
    [
        ("有人打电话说我转账失败要我提供验证码", "code_request"),
        ("有个炸骗电话让我报验证码", "code_request"),
        ("他让我把手机上刚收到的那串数字念给他", "code_request"),
        ("我把验证码给了一个假客服", "code_request"),
        ("客服让我把钱转到安全账户", "safe_account"),
        ("叫我把钱都归集到一个账户里审查", "safe_account"),
        ("要交500解冻费才能退款", "upfront_fee"),
        ("对方说贷款批了，先交工本费才放款", "upfront_fee"),
        ("说我流水不够，要再刷三笔才能提现", "turnover"),
        ("他发了个链接让我点一下就能退款", "link_or_app"),
        ("短信说转账异常，请点击链接处理", "link_or_app"),
        ("对方让我开屏幕共享", "screen_share"),
        ("他说可以远程帮我处理，让我装个软件", "screen_share"),
        ("说我卡涉嫌洗钱，让我把钱转过去配合调查", "authority_threat"),
        ("对方让我去ATM机上按他说的操作", "guided_operation"),
        ("来电的人让我开通呼叫转移", "guided_operation"),
        ("有人冒充银联的工作人员给我打电话", "impersonator"),
        ("对方让我扫他发来的二维码领退款", "link_or_app"),
        ("点开他发的链接填了卡号", "link_or_app"),
        ("点开对方给的链接支付了会员费", "link_or_app"),
        ("打开客服给的网址付款就能退钱", "link_or_app"),
        ("登录他给的网站支付手续费", "link_or_app"),
        ("扫了客服给的二维码付款，钱被扣了", "link_or_app"),
        ("扫了他的二维码付款，说付款后就能解冻", "link_or_app"),
        ("我妈接到电话，对方让她扫码领取退款", "link_or_app"),
        ("对方让他们扫二维码领理赔", "link_or_app"),
        ("客服说要给我退款，扫个码就行", "link_or_app"),
        ("他让我别挂电话，扫一下这个码就能退钱", "link_or_app"),
        ("对方说需要我扫我这边收到的二维码验证", "link_or_app"),
        ("对方让我点击我收到的链接", "link_or_app"),
        ("他叫我扫一下码，说扫了就能解冻", "link_or_app"),
    ],
)
def test_each_scam_pattern_is_urgent(text, kind):
    signals = fraud_signals(text)
    assert kind in signals
    assert is_urgent(signals)


@pytest.mark.parametrize(
    "text, who",
    [
        ("一个自称民警的让我把钱转到监管账户", "impersonation_authority"),
        ("说是法院执行局的，要我交保证金", "impersonation_authority"),
        ("快递员打电话说包裹丢了要赔我，让我扫码", "impersonation_courier"),
        ("自称银行客服的让我报验证码", "impersonation_service"),
        ("快递客服说要理赔，又转接给一个警官让我转账", "impersonation_authority"),  # the most serious one
        ("有人让我报验证码", None),
    ],
)
def test_who_was_impersonated(text, who):
    assert impersonated(fraud_signals(text)) == who


# -- what is not a report ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "怎么预防转账失败", "下载手机银行app转账可以吗", "POS机显示51", "", "验证码是什么意思",
        "银行会打电话找我要验证码吗", "你们会让我把钱转到安全账户吗", "怎么识别冒充客服的电话",
        "刷卡流水在哪里查", "银行流水怎么打印", "节假日转的钱得等到上班才到吗", "我把钱转到对方账户了，他说没收到",
        "卡因为涉案被冻了，转账一直失败", "网点柜员让我输一下密码确认，正常吗", "收款方让我把参考号发给他查",
        "视频会议共享屏幕卡顿怎么办", "终端一直在远程下载参数", "押金退回来要扣手续费吗",
        "客人卡刷不了，让他扫我的收款码行吗", "刷卡失败的话叫顾客扫码付可以吗",
        "卡刷不了，扫对方的二维码付款可以吧",
        "我发了收款码给顾客，他付不了", "顾客说要扫码付，可以吗", "需要我扫顾客的付款码吗", "让我扫顾客的付款码怎么操作",
    ],
)
def test_ordinary_messages_and_questions_are_not_scams(text):
    assert not is_urgent(fraud_signals(text))


@pytest.mark.parametrize("text", ["银行会打电话找我要验证码吗", "你们会让我把钱转到安全账户吗", "正规客服会让我开屏幕共享吗"])
def test_a_question_about_a_scam_is_recorded_as_one(text):
    signals = fraud_signals(text)
    assert "scam_question" in signals and is_question_only(signals)


def test_a_question_that_reports_someone_is_still_a_report():
    """'这是真的吗' after a report does not make it a question: somebody did something."""
    for text in ("对方让我先交保证金才能解冻，这是真的吗", "有人要我的验证码，会不会是骗子", "他让我开共享屏幕，正常吗"):
        assert is_urgent(fraud_signals(text)), text


# -- the training data agrees with the patterns ------------------------------------------------------------


def nlu_examples():
    files = sorted((ROOT / "data" / "nlu").glob("*.yml")) + sorted((ROOT / "tests" / "nlu").glob("*.yml"))
    for path in files:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if isinstance(block, dict) and "intent" in block:
                for line in str(block.get("examples") or "").splitlines():
                    if line.strip().startswith("- "):
                        yield block["intent"], _ANNOTATION.sub(r"\1", line.strip()[2:])


def test_no_example_of_another_intent_carries_an_urgent_signal():
    """A pattern that fires on an ordinary training or held-out example would override the classifier there."""
    wrong = [(intent, text) for intent, text in nlu_examples()
             if intent != "fraud_report" and is_urgent(fraud_signals(text))]
    assert wrong == []


def test_most_fraud_examples_carry_a_signal():
    """The patterns cover most reports on their own; the classifier is the second line, not the only one."""
    reports = [text for intent, text in nlu_examples() if intent == "fraud_report"]
    caught = sum(is_urgent(fraud_signals(text)) for text in reports)
    assert caught / len(reports) >= 0.85, caught / len(reports)


# Issue 20: the scam families the warning did not know, each with a harmless message that looks like it.
NEW_FAMILIES = [
    ("网上兼职刷单，返了两次佣金后说要先垫付五千才能继续", "task_rebate", "刷单违法吗"),
    ("有人说我上学时的校园贷没注销，要我把钱转过去清零，否则影响征信", "credit_record", "转账失败会影响征信吗"),
    ("老板的微信新号让我赶紧给供应商转八万", "boss_request", "老板让我看看今天的营业款到账没有"),
    ("对方说多转了三千给我，叫我退到他另一个账户", "overpay_refund", "我多付了商家三百，怎么让他退给我"),
    ("那人让我在借呗上借两万转给他，说验证完就退", "loan_transfer", "借呗的钱怎么提到银行卡"),
    ("有人说交八百块手续费就能帮我信用卡提额", "limit_raise_fee", "信用卡提额有什么条件"),
    ("客服让我把刚收到的银行短信截图发给他", "sms_forward", "银行的扣款短信可以当凭证吗"),
]


@pytest.mark.parametrize("scam, kind, look_alike", NEW_FAMILIES)
def test_each_new_scam_family_is_urgent_and_its_look_alike_is_not(scam, kind, look_alike):
    assert kind in fraud_signals(scam) and is_urgent(fraud_signals(scam))
    assert not is_urgent(fraud_signals(look_alike))


@pytest.mark.parametrize("text", ["老板在微信上问我昨天那笔刷卡的钱进账没有", "领导让我查一下客户的货款到了没",
                                  "老板微信转给我的工资没到账"])
def test_a_boss_asking_about_the_takings_is_no_scam(text):
    assert not is_urgent(fraud_signals(text))

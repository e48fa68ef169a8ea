"""The anti-fraud warning and the privacy notice.

A scam pattern anywhere makes the message a `fraud_report` in NLU
(`FraudPatternIntent`), so rules run `action_fraud_warning` first. A leaked
secret is answered by `privacy_notice`, which `action_validate_slot_mappings`
calls on every message: Rasa sends what that action utters before any policy
predicts (messages from custom slot-mapping actions are dropped in 3.6).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.tracker_reading import latest_intent, latest_text
from xiaoan.text.fraud import fraud_signals, is_urgent
from xiaoan.text.masking import mask_secrets

FRAUD_ADVICE = {
    "code_request": "对方索要验证码或密码：验证码和密码只能自己在官方渠道使用，告诉任何人都可能被盗刷。",
    "safe_account": "所谓“安全账户”“资金清查账户”都是骗局，公安和银行从不要求把钱转到这种账户。",
    "fee_to_unfreeze": "要求先交“解冻费”“保证金”“手续费”才能解冻或退款的，都是诈骗；冲正和退款不收任何费用。",
    "link_or_app": "不要点陌生链接、扫陌生二维码或下载对方发来的App，转账失败不需要任何“修复链接”。",
    "screen_share": "不要开启屏幕共享或远程协助，对方可以借此看到您的验证码并转走资金。",
    "impersonation": "对方自称银行、银联、客服或公安，请挂断后自己拨打官方电话核实。",
}

FRAUD_WARNING_HEAD = "⚠️ 高度警惕诈骗！您描述的情况很像冒充客服的骗局："
FRAUD_WARNING_TAIL = (
    "请立即停止操作：不要转账、不要提供任何验证码或密码、挂断电话。"
    "如果已经转了钱或泄露了信息，马上拨打110报警，并拨打卡片背面的发卡行官方电话冻结账户；"
    "也可拨打全国反诈专线96110咨询。"
)


def fraud_warning_text(signals: list[str]) -> str:
    advice = [FRAUD_ADVICE[s] for s in signals if s in FRAUD_ADVICE]
    if not advice:
        advice = ["真正的银行和银联不会来电索要验证码、密码，也不会让您转账到“安全账户”或先交费。"]
    return FRAUD_WARNING_HEAD + "\n" + "\n".join(f"• {a}" for a in advice) + "\n" + FRAUD_WARNING_TAIL


class ActionFraudWarning(Action):
    """Warns against fraud: for fraud_report, and for any message with a scam pattern (rules run it once)."""

    def name(self) -> Text:
        return "action_fraud_warning"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        signals = fraud_signals(latest_text(tracker))
        reported = latest_intent(tracker) == "fraud_report"
        if not (reported or is_urgent(signals)):
            return []
        dispatcher.utter_message(text=fraud_warning_text(signals))
        return [SlotSet("fraud_reminded", True)]


def privacy_notice(tracker: Tracker) -> Optional[str]:
    """The warning for a message that carried a card number, PIN, CVV or SMS code.

    By the time a message reaches the action server its text is masked: NLU's
    SecretMasker lists what it hid as `secrets_found`, a channel that masks on
    entry lists it in the metadata as `secrets_masked`.
    """
    latest = tracker.latest_message or {}
    found = set(latest.get("secrets_found") or [])
    found |= set((latest.get("metadata") or {}).get("secrets_masked") or [])
    found |= mask_secrets(latest_text(tracker)).found  # text that was never masked
    return texts.privacy_warning(sorted(found)) if found else None

"""action_create_ticket: the case on record, and the hand-over to a person."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backoffice import get_backoffice, in_worker_thread
from actions.backoffice.records import CaseDetails
from actions.tracker_reading import fraud_reminder_once, latest_intent, slot_amount, slot_identifier
from xiaoan.text.amounts import format_amount

logger = logging.getLogger(__name__)


def case_from_tracker(tracker: Tracker, handoff: bool) -> CaseDetails:
    amount = slot_amount(tracker)
    return CaseDetails(
        sender_id=tracker.sender_id,
        symptom=tracker.get_slot("symptom") or "",
        amount=format_amount(amount) if amount is not None else None,
        card_tail=slot_identifier(tracker, "card_tail"),
        terminal_id=slot_identifier(tracker, "terminal_id"),
        reference_number=slot_identifier(tracker, "reference_number"),
        bank=tracker.get_slot("bank"),
        steps_done=list(tracker.get_slot("steps_done") or []),
        handoff=handoff,
    )


def ticket_summary(ticket_id: str, created_at: str, case: CaseDetails) -> str:
    lines = [f"已为您登记工单，工单号：{ticket_id}（请保存，后续查询时报这个号码）。", f"登记时间：{created_at}"]
    for label, value in (
        ("问题", case.symptom),
        ("金额", f"{case.amount}元" if case.amount else None),
        ("卡号后四位", case.card_tail),
        ("终端号", case.terminal_id),
        ("参考号", case.reference_number),
        ("银行", case.bank),
    ):
        if value:
            lines.append(f"{label}：{value}")
    if case.steps_done:
        lines.append("已做排查：" + "；".join(case.steps_done))
    return "\n".join(lines)


class ActionCreateTicket(Action):
    """Records the case in the back office and returns its ticket number."""

    def name(self) -> Text:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        handoff = latest_intent(tracker) == "request_human"
        case = case_from_tracker(tracker, handoff)
        try:
            ticket = await in_worker_thread(get_backoffice().create_ticket, case)
        except Exception:
            logger.exception("ticket store unavailable")
            dispatcher.utter_message(text="工单系统暂时繁忙，您的信息已保留在对话中，请稍后再说“登记工单”。")
            return []
        dispatcher.utter_message(text=ticket_summary(ticket.ticket_id, ticket.created_at, case))
        reminder, events = fraud_reminder_once(tracker)
        if reminder:
            dispatcher.utter_message(text=reminder)
        return [SlotSet("ticket_id", ticket.ticket_id), *events]

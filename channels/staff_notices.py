"""What a user reads when staff act, and how staff messages look on each channel (no Rasa import:
the console uses it too). The words are domain.yml's responses."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional

from xiaoan import content
from xiaoan.handover import duty


def notice_text(kind: str, staff_id: str, ticket_id: Optional[str] = None, note: Optional[str] = None) -> str:
    """What the user reads when a person joins, hands back or closes (domain.yml)."""
    if kind == "joined":
        return content.render("utter_staff_joined", staff_id=staff_id)
    if kind == "handed_back":
        return content.render("utter_handed_back", staff_id=staff_id)
    return content.render("utter_case_closed", ticket_id=ticket_id or "-", note=note or "-")


WAIT_RESPONSES = {"waited_long": "utter_handover_waited_long", "hours_over": "utter_handover_hours_over"}
WHEN_RESPONSES = {"today": "utter_when_today", "tomorrow": "utter_when_tomorrow", "now": "utter_when_soon"}


def when_text(moment: datetime) -> str:
    """When a person will look: the next start of the staff hours (utter_when_*)."""
    day, start = duty.staff_hours().next_opening(moment)
    return content.render(WHEN_RESPONSES[day], time=start)


def wait_notice_text(kind: str, ahead: int, ticket_id: Optional[str], waited_s: float, moment: datetime) -> str:
    """What the waiting rule tells a user nobody claimed (xiaoan/handover/waiting.py): `kind` waited_long or
    hours_over, with their place, their ticket (or that none exists) and when a person will look."""
    name = WAIT_RESPONSES[kind] + ("" if ticket_id else "_no_ticket")
    waited = content.render("utter_wait_minutes", minutes=max(1, int(round(waited_s / 60.0))))
    return content.render(name, ahead=ahead, ticket_id=ticket_id or "-", waited=waited, when=when_text(moment))


def marked_for_wechat(text: str, staff_id: str) -> str:
    """WeChat shows no sender: a staff message carries its 工号 in the text."""
    return content.render("utter_staff_message", staff_id=staff_id, text=text)


def wechat_texts(waiting: List[Dict[str, Any]]) -> List[str]:
    """Waiting messages as WeChat shows them: a staff member's words carry their 工号, notices are as said."""
    return [marked_for_wechat(m["text"], str(m.get("staff_no") or "")) if m.get("kind") == "staff" else m["text"]
            for m in waiting]


def rest_messages(conversation_id: str, waiting: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Pending messages as the REST channel returns them (contract §7): the staff side's notices (joined,
    handed back, closed) are the person's words too, so they are marked from staff; the waiting rule's
    notices are the bot's, and come as a bot message does."""
    return [{"recipient_id": conversation_id, "text": message["text"]} if message.get("kind") in WAIT_RESPONSES
            else {"recipient_id": conversation_id, "text": message["text"], "custom": {"from": "staff"}}
            for message in waiting]

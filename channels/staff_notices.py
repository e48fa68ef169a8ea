"""What a user reads when staff act, and how staff messages look on each channel (no Rasa import:
the console uses it too). The words are domain.yml's responses."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from xiaoan import content


def notice_text(kind: str, staff_id: str, ticket_id: Optional[str] = None, note: Optional[str] = None) -> str:
    """What the user reads when a person joins, hands back or closes (domain.yml)."""
    if kind == "joined":
        return content.render("utter_staff_joined", staff_id=staff_id)
    if kind == "handed_back":
        return content.render("utter_handed_back", staff_id=staff_id)
    return content.render("utter_case_closed", ticket_id=ticket_id or "-", note=note or "-")


def marked_for_wechat(text: str, staff_id: str) -> str:
    """WeChat shows no sender: a staff message carries its 工号 in the text."""
    return content.render("utter_staff_message", staff_id=staff_id, text=text)


def rest_messages(conversation_id: str, waiting: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Pending staff messages as the REST channel returns them (contract §7): the staff side's notices
    (joined, handed back, closed) are the person's words too, so every one is marked from staff."""
    return [{"recipient_id": conversation_id, "text": message["text"], "custom": {"from": "staff"}}
            for message in waiting]

"""What staff (or the console's notices) said to a user, and what became of it: sending →
delivered | pending (the user's next message, reconnection or pull takes it) | window_closed (WeChat's
next message takes it) | not_delivered.

Taking waiting messages is the per-message check of every channel: one SELECT on the
(conversation_id, status) index, nothing more when nothing waits; each message found is then won by
exactly one caller (a conditional UPDATE), whichever server or channel asks, so a message is delivered
once and in the order it was written."""
from __future__ import annotations

import secrets
import time
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import and_, insert, select, update

from xiaoan.handover.tables import HandoverTables, messages


class StaffMessages(HandoverTables):
    """``ho_messages``."""

    def add_message(self, conversation_id: str, handover_id: Optional[int], staff_no: Optional[str], kind: str,
                    text: str, channel: Optional[str], now: Optional[float] = None) -> str:
        message_id = f"staff-{secrets.token_hex(8)}"
        with self.engine.begin() as conn:
            conn.execute(insert(messages).values(
                id=message_id, conversation_id=conversation_id, handover_id=handover_id, staff_no=staff_no,
                kind=kind, text=text, channel=channel, status="sending", created_at=time.time() if now is None else now))
        return message_id

    def message(self, message_id: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).mappings().first()
        return dict(row) if row else None

    def set_status(self, message_id: str, status: str, detail: Optional[str] = None) -> None:
        values: Dict[str, Any] = {"status": status, "detail": detail}
        if status == "delivered":
            values["delivered_at"] = time.time()
        with self.engine.begin() as conn:
            conn.execute(update(messages).where(and_(messages.c.id == message_id,
                                                     messages.c.status != "delivered")).values(**values))

    def messages_of(self, conversation_id: str) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(messages.c.conversation_id == conversation_id)
                                .order_by(messages.c.created_at)).mappings().all()
        return [dict(r) for r in rows]

    def undelivered(self, older_than: float = 0.0, statuses: Sequence[str] = ("not_delivered",),
                    since: float = 0.0) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(and_(
                messages.c.status.in_(list(statuses)), messages.c.created_at <= time.time() - older_than,
                messages.c.created_at >= since)).order_by(messages.c.created_at)).mappings().all()
        return [dict(r) for r in rows]

    def take_pending(self, conversation_id: str, statuses: Sequence[str] = ("pending",),
                     detail: str = "next_reply") -> List[Dict[str, Any]]:
        """The messages waiting for this user (in `statuses`), oldest first, each taken by exactly one caller
        (marked delivered, with `detail` saying how)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(and_(messages.c.conversation_id == conversation_id,
                                                            messages.c.status.in_(list(statuses))))
                                .order_by(messages.c.created_at)).mappings().all()
        taken = []
        for row in rows:
            with self.engine.begin() as conn:
                won = conn.execute(update(messages).where(and_(messages.c.id == row["id"],
                                                               messages.c.status == row["status"]))
                                   .values(status="delivered", delivered_at=time.time(), detail=detail)).rowcount
            if won == 1:
                taken.append(dict(row))
        return taken

"""Review marks: a supervisor's right intent for a user message (exported as NLU data)."""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from sqlalchemy import and_, insert, select

from xiaoan.handover.tables import HandoverTables, labels


class ReviewLabels(HandoverTables):
    """``ho_labels``."""

    def add_label(self, conversation_id: str, event_time: float, text: str, intent: str, staff_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(labels.delete().where(and_(labels.c.conversation_id == conversation_id,
                                                    labels.c.event_time == event_time)))
            conn.execute(insert(labels).values(conversation_id=conversation_id, event_time=event_time, text=text,
                                               intent=intent, staff_id=staff_id, created_at=time.time()))

    def labels(self, conversation_id: Optional[str] = None) -> List[Dict[str, Any]]:
        query = select(labels).order_by(labels.c.intent, labels.c.id)
        if conversation_id is not None:
            query = query.where(labels.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

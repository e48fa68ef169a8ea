"""Which chat-page sessions have a socket right now, on any Rasa server (``ho_presence``).

With several Rasa servers, socket.io's rooms are shared through Redis, and a server can emit into a room
but cannot see who is in it on the others. A staff message emitted into an empty room is lost, so the
socket.io channel writes here when a socket confirms a session and when it goes, and the staff route
asks before emitting: nobody present → the message waits (``pending``) for the session's reconnect, on
whichever server that lands. Written on connect and disconnect only, never per message.
"""
from __future__ import annotations

import time
from typing import Optional

from sqlalchemy import delete, insert, select, update

from xiaoan.handover.tables import HandoverTables, presence


class SessionPresence(HandoverTables):
    """``ho_presence``: one row per socket that confirmed a session."""

    def arrive(self, sid: str, session_id: str, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            moved = conn.execute(update(presence).where(presence.c.sid == sid)
                                 .values(session_id=session_id, since=now)).rowcount
            if not moved:
                conn.execute(insert(presence).values(sid=sid, session_id=session_id, since=now))

    def leave(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(presence).where(presence.c.sid == sid))

    def present(self, session_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(presence.c.sid).where(presence.c.session_id == session_id)
                                .limit(1)).first() is not None

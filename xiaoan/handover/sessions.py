"""Console sessions: a cookie token (only its hash is stored), its CSRF token, an absolute and an
idle expiry; and whether anyone is on duty (a signed-in console seen lately)."""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Optional, Tuple

from sqlalchemy import and_, func, insert, select, update

from xiaoan.handover.staff import Staff
from xiaoan.handover.tables import HandoverTables, sessions, staff

SESSION_ABSOLUTE_S = 8 * 3600
SESSION_IDLE_S = 30 * 60
ON_DUTY_SEEN_S = 10 * 60  # a signed-in console seen this recently counts as someone on duty


@dataclass(frozen=True)
class Session:
    staff: Staff
    csrf: str
    token_hash: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class StaffSessions(HandoverTables):
    """``ho_sessions`` (read with the account it belongs to)."""

    def open_session(self, member: Staff, now: Optional[float] = None) -> Tuple[str, str]:
        """(cookie token, CSRF token). Only the token's hash is stored."""
        now = time.time() if now is None else now
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(sessions).values(token_hash=_token_hash(token), staff_id=member.id, csrf=csrf,
                                                 created_at=now, last_seen=now, ended=False))
        return token, csrf

    def session(self, token: Optional[str], now: Optional[float] = None) -> Optional[Session]:
        """The live session of a cookie token (its idle clock restarted), or None."""
        if not token:
            return None
        now = time.time() if now is None else now
        hashed = _token_hash(token)
        with self.engine.begin() as conn:
            row = conn.execute(select(sessions).where(sessions.c.token_hash == hashed)).mappings().first()
            if row is None or row["ended"] or now - row["created_at"] > SESSION_ABSOLUTE_S \
                    or now - row["last_seen"] > SESSION_IDLE_S:
                return None
            member = conn.execute(select(staff).where(staff.c.id == row["staff_id"])).mappings().first()
            if member is None or not member["active"]:
                return None
            conn.execute(update(sessions).where(sessions.c.token_hash == hashed).values(last_seen=now))
        return Session(Staff(member["id"], member["username"], member["staff_no"], member["role"]), row["csrf"], hashed)

    def end_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(ended=True))

    def someone_signed_in(self, now: Optional[float] = None) -> bool:
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(sessions).where(and_(
                sessions.c.ended.is_(False), sessions.c.last_seen > now - min(ON_DUTY_SEEN_S, SESSION_IDLE_S),
                sessions.c.created_at > now - SESSION_ABSOLUTE_S))).scalar_one()
        return count > 0

"""Staff accounts and signing in: the 工号 given on creation, scrypt hashes, and the lock-out
after repeated failed sign-ins (counted for unknown names too, so they cannot be told apart)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from sqlalchemy import insert, select, update

from xiaoan.handover import passwords
from xiaoan.handover.tables import HandoverTables, login_failures, sessions, staff

ROLES = ("agent", "supervisor")
FIRST_STAFF_NUMBER = 1001

LOCK_AFTER_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCK_S = 15 * 60


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    staff_no: str
    role: str


class StaffAccounts(HandoverTables):
    """``ho_staff`` and ``ho_login_failures``."""

    def create_staff(self, username: str, role: str, password: str) -> Staff:
        """A new account (or a new password and role for an existing name); its 工号 is kept."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        username = username.strip()
        if not username or len(username) > 64:
            raise ValueError("a user name of 1-64 characters")
        weak = passwords.weak_reason(password)
        if weak:
            raise ValueError(f"password too weak: {weak}")
        hashed = passwords.hash_password(password)
        with self.engine.begin() as conn:
            row = conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
            if row is None:
                row_id = conn.execute(insert(staff).values(
                    username=username, role=role, password_hash=hashed, created_at=time.time(), active=True,
                )).inserted_primary_key[0]
                conn.execute(update(staff).where(staff.c.id == row_id)
                             .values(staff_no=str(FIRST_STAFF_NUMBER + row_id - 1)))
            else:
                row_id = row["id"]
                conn.execute(update(staff).where(staff.c.id == row_id)
                             .values(role=role, password_hash=hashed, active=True))
                conn.execute(update(sessions).where(sessions.c.staff_id == row_id).values(ended=True))
            conn.execute(login_failures.delete().where(login_failures.c.username == username))
        found = self.staff_by_id(row_id)
        assert found is not None
        return found

    def staff_by_id(self, staff_id: int) -> Optional[Staff]:
        with self.engine.connect() as conn:
            row = conn.execute(select(staff).where(staff.c.id == staff_id)).mappings().first()
        return Staff(row["id"], row["username"], row["staff_no"], row["role"]) if row else None

    def staff_numbers(self) -> Dict[int, str]:
        with self.engine.connect() as conn:
            return {r.id: r.staff_no for r in conn.execute(select(staff.c.id, staff.c.staff_no))}

    def sign_in(self, username: str, password: str, now: Optional[float] = None) -> Tuple[str, Optional[Staff]]:
        """("ok", staff) | ("wrong", None) | ("locked", None). Locked accounts are refused even with
        the right password; unknown names count failures too, so they cannot be told apart."""
        now = time.time() if now is None else now
        username = (username or "").strip()[:64]
        with self.engine.connect() as conn:
            failure = conn.execute(select(login_failures).where(login_failures.c.username == username)).mappings().first()
            row = conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
        if failure is not None and failure["locked_until"] > now:
            return "locked", None
        stored = row["password_hash"] if row is not None and row["active"] else passwords.DUMMY_HASH
        if row is not None and row["active"] and passwords.verify_password(password or "", stored):
            with self.engine.begin() as conn:
                conn.execute(login_failures.delete().where(login_failures.c.username == username))
            return "ok", Staff(row["id"], row["username"], row["staff_no"], row["role"])
        if row is None or not row["active"]:
            passwords.verify_password(password or "", stored)
        return ("locked" if self._count_failure(username, now) else "wrong"), None

    def _count_failure(self, username: str, now: float) -> bool:
        """Counts a failed sign-in; True if it locked the account."""
        with self.engine.begin() as conn:
            row = conn.execute(select(login_failures).where(login_failures.c.username == username)).mappings().first()
            if row is None or now - row["first_at"] > FAILURE_WINDOW_S:
                conn.execute(login_failures.delete().where(login_failures.c.username == username))
                conn.execute(insert(login_failures).values(username=username, failures=1, first_at=now, locked_until=0.0))
                return False
            failures = row["failures"] + 1
            locked_until = now + LOCK_S if failures >= LOCK_AFTER_FAILURES else 0.0
            conn.execute(update(login_failures).where(login_failures.c.username == username)
                         .values(failures=failures, locked_until=locked_until))
            return bool(locked_until)

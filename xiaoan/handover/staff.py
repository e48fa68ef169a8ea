"""Staff accounts and signing in: the 工号 given on creation, scrypt hashes, the lock-out after repeated
failed sign-ins (counted for unknown names too, so they cannot be told apart) and the throttle on an
address that tries many names (sign-in spraying).

Every attempt is counted before its password is checked, in one conditional INSERT ... ON CONFLICT
DO UPDATE (SQLite and PostgreSQL alike), so N guesses sent at once count N and only the first
`LOCK_AFTER_FAILURES` of them are checked at all; the rest are refused unchecked, the right password
too. A right password clears its name's count and gives back its address's attempt; a wrong one keeps
both. The counts live in the shared store, so every console process sees the same ones.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from sqlalchemy import Table, and_, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from xiaoan.addresses import UNKNOWN_ADDRESS
from xiaoan.handover import passwords
from xiaoan.handover.tables import HandoverTables, login_addresses, login_failures, sessions, staff

ROLES = ("agent", "supervisor")
FIRST_STAFF_NUMBER = 1001

LOCK_AFTER_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCK_S = 15 * 60
# One address (the TCP peer, or what a configured proxy says: console/server.py) may fail this many
# sign-ins, whatever the names, within the window; then it is refused for ADDRESS_LOCK_S.
ADDRESS_LOCK_AFTER = 20
ADDRESS_LOCK_S = 15 * 60


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
        weak = passwords.weak_reason(password, username)
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

    def sign_in(self, username: str, password: str, address: str = UNKNOWN_ADDRESS,
                now: Optional[float] = None) -> Tuple[str, Optional[Staff]]:
        """("ok", staff) | ("wrong", None) | ("locked", None) | ("throttled", None).

        "throttled": the address has failed too often; "locked": the name has. Both are decided by the
        attempt's own number, counted before the password is checked, and hold whatever the password."""
        now = time.time() if now is None else now
        username = (username or "").strip()[:64]
        address = (address or UNKNOWN_ADDRESS)[:64]
        with self.engine.begin() as conn:
            from_address = _count_attempt(conn, login_addresses, login_addresses.c.address, address, now,
                                          ADDRESS_LOCK_AFTER, ADDRESS_LOCK_S)
        if from_address > ADDRESS_LOCK_AFTER:
            return "throttled", None
        with self.engine.begin() as conn:
            for_name = _count_attempt(conn, login_failures, login_failures.c.username, username, now,
                                      LOCK_AFTER_FAILURES, LOCK_S)
        if for_name > LOCK_AFTER_FAILURES:
            return "locked", None
        with self.engine.connect() as conn:
            row = conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
        known = row is not None and row["active"]
        stored = row["password_hash"] if known else passwords.dummy_hash()
        right = passwords.verify_password(password or "", stored) and known
        if not right:
            if from_address >= ADDRESS_LOCK_AFTER:
                return "throttled", None
            return ("locked" if for_name >= LOCK_AFTER_FAILURES else "wrong"), None
        with self.engine.begin() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.username == username))
            conn.execute(update(login_addresses).where(login_addresses.c.address == address)
                         .where(login_addresses.c.failures > 0)
                         .values(failures=login_addresses.c.failures - 1,
                                 locked_until=case((login_addresses.c.failures - 1 < ADDRESS_LOCK_AFTER, 0.0),
                                                   else_=login_addresses.c.locked_until)))
        if passwords.needs_rehash(stored):
            self._rehash(row["id"], stored, password)
        return "ok", Staff(row["id"], row["username"], row["staff_no"], row["role"])

    def _rehash(self, staff_id: int, stored: str, password: str) -> None:
        """The hash again at today's cost (the password was just checked); kept if it changed meanwhile."""
        hashed = passwords.hash_password(password)
        with self.engine.begin() as conn:
            conn.execute(update(staff).where(and_(staff.c.id == staff_id, staff.c.password_hash == stored))
                         .values(password_hash=hashed))


def _count_attempt(conn: Connection, table: Table, key_column, key: str, now: float, limit: int,
                   lock_s: float) -> int:
    """Counts one attempt for `key` in a single INSERT ... ON CONFLICT DO UPDATE and returns its number
    in the current window (> `limit`: refused). The attempt that reaches `limit` locks the key for
    `lock_s`; later ones count on without extending it; the first after the lock or the window ends
    starts again at 1. The transaction holds the row until commit, so the number read back is this one's."""
    dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
    if conn.dialect.name not in dialects:
        raise NotImplementedError(f"sign-in counting on {conn.dialect.name}")
    first_lock = now + lock_s if limit <= 1 else 0.0
    c = table.c
    over = or_(and_(c.locked_until > 0, c.locked_until <= now),
               and_(c.locked_until <= 0, c.first_at <= now - FAILURE_WINDOW_S))
    statement = dialects[conn.dialect.name](table).values(
        {key_column.name: key, "failures": 1, "first_at": now, "locked_until": first_lock})
    statement = statement.on_conflict_do_update(index_elements=[key_column], set_={
        "failures": case((over, 1), else_=c.failures + 1),
        "first_at": case((over, now), else_=c.first_at),
        "locked_until": case((over, first_lock), (c.failures + 1 == limit, now + lock_s), else_=c.locked_until),
    })
    conn.execute(statement)
    return int(conn.execute(select(c.failures).where(key_column == key)).scalar_one())

"""What the bank's side knows about identities, in SQL beside the back office.

* ``id_wechat_bindings``: an Official Account OpenID bound to a customer or merchant id,
  written by the bank's binding flow (here `make bind-wechat OPENID=… ID=…`);
* ``id_lookup_failures``: record lookups that found nothing, per conversation and per identity,
  so that guessing numbers is slowed wherever the conversation runs (every action server reads
  the same table).

The URL is the hand-over store's (`XIAOAN_HANDOVER_URL`, else the back office's, else
var/backoffice.db): every process that needs it already reaches that database.
"""
from __future__ import annotations

import time
from typing import Optional

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, func, insert, select

from xiaoan.identity.tokens import SUBJECT
from xiaoan.sql_store import LazySQLStore

metadata = MetaData()
wechat_bindings = Table(
    "id_wechat_bindings", metadata,
    Column("openid", String(64), primary_key=True),
    Column("subject", String(16), nullable=False),
    Column("bound_at", Float, nullable=False),
)
lookup_failures = Table(
    "id_lookup_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, index=True),  # "conversation:<id>" or "identity:<sub>"
    Column("at", Float, nullable=False),
)
MAX_OPENID_CHARS = 64


class IdentityStore(LazySQLStore):
    tables = metadata

    # ---------------------------------------------------------------- WeChat bindings

    def bind_wechat(self, openid: str, subject: str, now: Optional[float] = None) -> None:
        """Binds (or re-binds) an OpenID to a customer or merchant id."""
        openid = (openid or "").strip()
        if not openid or len(openid) > MAX_OPENID_CHARS:
            raise ValueError(f"an OpenID of 1-{MAX_OPENID_CHARS} characters")
        if not SUBJECT.match(subject or ""):
            raise ValueError("an id like C0001 (customer) or M0001 (merchant)")
        with self.engine.begin() as conn:
            conn.execute(delete(wechat_bindings).where(wechat_bindings.c.openid == openid))
            conn.execute(insert(wechat_bindings).values(openid=openid, subject=subject,
                                                        bound_at=time.time() if now is None else now))

    def unbind_wechat(self, openid: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(wechat_bindings).where(wechat_bindings.c.openid == openid)).rowcount > 0

    def wechat_subject(self, openid: str) -> Optional[str]:
        if not isinstance(openid, str) or not openid or len(openid) > MAX_OPENID_CHARS:
            return None
        with self.engine.connect() as conn:
            return conn.execute(select(wechat_bindings.c.subject)
                                .where(wechat_bindings.c.openid == openid)).scalar()

    # ---------------------------------------------------------------- failed lookups

    def record_failure(self, keys: tuple, now: Optional[float] = None) -> None:
        at = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(insert(lookup_failures), [{"key": key[:200], "at": at} for key in keys])

    def failures_since(self, key: str, since: float) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(lookup_failures)
                                    .where(lookup_failures.c.key == key[:200], lookup_failures.c.at >= since))
                       .scalar() or 0)

"""Staff password hashes at today's recommended cost (OWASP: scrypt N=2^17, r=8, p=1), and the hashes made
at the old cost (N=2^14) still verifying and re-hashed at the new one on the next sign-in (issue 19).

No cheap test cost here: these tests hold the production figures.
"""
from __future__ import annotations

import base64
import hashlib
import secrets

from sqlalchemy import select, update

from xiaoan.handover import passwords
from xiaoan.handover.store import HandoverStore
from xiaoan.handover.tables import staff

PASSWORD = "correct horse battery"


def old_hash(password: str) -> str:
    """A hash as the console made them before issue 19: scrypt N=2^14, r=8, p=1."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2 ** 14, r=8, p=1, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_new_hashes_use_the_recommended_cost():
    hashed = passwords.hash_password(PASSWORD)
    assert hashed.startswith("scrypt$131072$8$1$") and PASSWORD not in hashed
    assert passwords.verify_password(PASSWORD, hashed)
    assert not passwords.verify_password(PASSWORD + "!", hashed)


def test_an_old_hash_verifies_and_is_rehashed_on_the_next_sign_in(tmp_path):
    store = HandoverStore(f"sqlite:///{tmp_path}/handover.db")
    try:
        member = store.create_staff("li", "agent", PASSWORD)
        with store.engine.begin() as conn:
            conn.execute(update(staff).where(staff.c.id == member.id).values(password_hash=old_hash(PASSWORD)))
        assert store.sign_in("li", "wrong password!")[0] == "wrong"
        with store.engine.connect() as conn:
            assert conn.execute(select(staff.c.password_hash)).scalar_one().startswith("scrypt$16384$")
        assert store.sign_in("li", PASSWORD)[0] == "ok"
        with store.engine.connect() as conn:
            rehashed = conn.execute(select(staff.c.password_hash)).scalar_one()
        assert rehashed.startswith("scrypt$131072$8$1$")
        assert store.sign_in("li", PASSWORD)[0] == "ok"
    finally:
        store.dispose()


def test_a_stored_hash_asking_for_absurd_memory_is_refused_not_computed():
    salt, digest = base64.b64encode(b"s" * 16).decode(), base64.b64encode(b"d" * 32).decode()
    assert not passwords.verify_password(PASSWORD, f"scrypt${2 ** 30}$8$1${salt}${digest}")
    assert not passwords.verify_password(PASSWORD, "md5$abc")
    assert passwords.needs_rehash(f"scrypt$16384$8$1${salt}${digest}")

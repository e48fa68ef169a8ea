"""Staff passwords: scrypt (standard library), salted, slow; nothing else is ever stored."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# RFC 7914's interactive-login figures: ~16 MB and ~50 ms per check on this machine.
N, R, P = 2 ** 14, 8, 1
MAX_MEM = 64 * 1024 * 1024
MIN_LENGTH = 8


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, maxmem=MAX_MEM, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=MAX_MEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# Checked against when the user name is unknown, so that a wrong name takes as long as a wrong password.
DUMMY_HASH = hash_password(secrets.token_hex(16))


def weak_reason(password: str) -> str | None:
    """Why a new password is refused, or None (English: it is said to the person creating an account)."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(set(password)) < 3:
        return "too few different characters"
    return None

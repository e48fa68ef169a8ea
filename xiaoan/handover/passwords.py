"""Staff passwords: scrypt (standard library), salted, slow; nothing else is ever stored. And the policy a new
password must pass (`weak_reason`).

Cost: OWASP's recommendation for scrypt, N=2^17, r=8, p=1: 128 MiB and ~0.3-0.5 s per hash on the
console's machine. A hash keeps its own figures (``scrypt$N$r$p$salt$digest``), so one made at an
older cost (N=2^14 before issue 19) still verifies; `needs_rehash` says it should be made again, which
sign-in does with the password it has just checked (staff.py). At most `HASHES_AT_ONCE` hashes run at
once in a process, so a burst of sign-ins cannot take 128 MiB per thread.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, NamedTuple, Optional


class Cost(NamedTuple):
    n: int
    r: int
    p: int


RECOMMENDED = Cost(n=2 ** 17, r=8, p=1)
COST = RECOMMENDED  # what new hashes use; only tests ever lower it (tests/test_console.py: cheap_hashes)
MAX_N = 2 ** 20  # a stored hash asking for more is refused, not computed (1 GiB)
HASHES_AT_ONCE = 2
_hashing = threading.BoundedSemaphore(HASHES_AT_ONCE)

MIN_LENGTH = 12
MIN_DISTINCT = 5
DENY_LIST = Path(__file__).with_name("common_passwords.txt")
# Runs of keys or characters a person types instead of choosing: a password inside one (either way) is refused.
SEQUENCES = ("01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "qwertyuiop",
             "asdfghjkl", "zxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp",
             "1q2w3e4r5t6y7u8i9o0p", "147258369", "741852963", "159753")
LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})


def _maxmem(cost: Cost) -> int:
    """What OpenSSL's scrypt needs (128·r·N for V, 256·r for the work block, 128·r·p for B) plus headroom."""
    return 128 * cost.r * (cost.n + cost.p + 2) + 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _scrypt(password: str, salt: bytes, cost: Cost, length: int) -> bytes:
    with _hashing:
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                              maxmem=_maxmem(cost), dklen=length)


def hash_password(password: str) -> str:
    cost = COST
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost, 32)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def _parts(stored: str) -> "Optional[tuple[Cost, bytes, bytes]]":
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        cost = Cost(int(n), int(r), int(p))
        if scheme != "scrypt" or not 1 < cost.n <= MAX_N or not 0 < cost.r <= 32 or not 0 < cost.p <= 16:
            return None
        return cost, base64.b64decode(salt), base64.b64decode(digest)
    except (ValueError, TypeError):
        return None


def verify_password(password: str, stored: str) -> bool:
    parts = _parts(stored)
    if parts is None:
        return False
    cost, salt, expected = parts
    try:
        got = _scrypt(password, salt, cost, len(expected))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(got, expected)


def needs_rehash(stored: str) -> bool:
    """True if the hash was made at another cost than new hashes use (an older, cheaper one)."""
    parts = _parts(stored)
    return parts is None or parts[0] != COST


@lru_cache(maxsize=4)
def _dummy_hash(cost: Cost) -> str:
    salt = secrets.token_bytes(16)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(_scrypt(secrets.token_hex(16), salt, cost, 32))}"


def dummy_hash() -> str:
    """Checked against when the user name is unknown, so that a wrong name takes as long as a wrong password
    (made on first use, at the cost new hashes use: importing this module costs nothing)."""
    return _dummy_hash(COST)


# ---------------------------------------------------------------- the policy for a new password


@lru_cache(maxsize=1)
def deny_list() -> FrozenSet[str]:
    """common_passwords.txt: one a line, compared after `_plain`; '#' starts a comment."""
    lines = DENY_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(_plain(line) for line in (raw.split("#", 1)[0].strip() for raw in lines) if line)


def _plain(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


def _unit(text: str) -> str:
    """The shortest piece `text` repeats ("abcabcabc" -> "abc"); the text itself if none."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _in_a_sequence(text: str) -> bool:
    return len(text) >= 4 and any(text in run or text in run[::-1] for run in SEQUENCES)


def weak_reason(password: str, username: str = "") -> Optional[str]:
    """Why a new password is refused, or None (English: it is said to the person creating an account).

    At least `MIN_LENGTH` characters; not one of the common passwords of common_passwords.txt, nor one
    of them dressed up (case, digits, symbols or look-alike digits around or inside it, repeated); not a
    run of keys (1qaz2wsx..., 123456789012), not a few characters repeated; not the user name.
    """
    plain = _plain(password)
    if len(plain) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters (a few unrelated words are easy to remember)"
    if len(set(plain)) < MIN_DISTINCT or len(_unit(plain)) < MIN_DISTINCT:
        return "too few different characters, or a few characters repeated"
    name = _plain(username)
    if name and (plain == name or (len(name) >= 4 and (name in plain or name in _letters(plain)))):
        return "it contains the user name"
    if _in_a_sequence(plain) or _in_a_sequence(_unit(plain)):
        return "a run of keys or characters (like 123456789012 or 1qaz2wsx3edc)"
    common = deny_list()
    candidates = {plain, _unit(plain), plain.strip("0123456789!@#$%^&*()-_=+.,;:?~`'\"/\\|<>[]{}")}
    for form in (plain, plain.translate(LEET)):
        letters = _letters(form)
        candidates |= {letters, _unit(letters)}
    if any(candidate in common for candidate in candidates if candidate):
        return f"it is a commonly used password, or one with digits or symbols added ({DENY_LIST.name})"
    return None

"""Signed identity tokens: a JWT, HS256, with `sub` (customer or merchant id) and `exp` (CONTRACT §8).

The bank's portal or app signs one for its signed-in user with the secret in
`XIAOAN_IDENTITY_SECRET` (or the file named by `XIAOAN_IDENTITY_SECRET_FILE`)
and puts it in the REST body's `metadata.identity` or the chat page's
`customData.identity`. Only HS256 is accepted: a token that names another
algorithm (`none` included) is refused like a forged one.

A token lives at most 8 hours (the contract's bound; `XIAOAN_IDENTITY_MAX_LIFETIME_S`
shortens it): one whose `exp` lies further ahead, or whose `iat` is in the future
or too long before its `exp`, is refused, so a leaked long-lived token is worth
nothing. A deployment that sets `XIAOAN_IDENTITY_AUDIENCE` / `XIAOAN_IDENTITY_ISSUER`
requires and checks `aud` / `iss` too (tokens for another service of the bank,
signed with a shared secret, are then refused); without them a token with only
`sub` and `exp` is accepted, as the contract says.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import jwt

from xiaoan import clock
from xiaoan.secret_files import ensure_secret_file, read_secret_file

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
SUBJECT = re.compile(r"^[CM]\d{4,12}$")  # C0001 a customer, M0001 a merchant
MAX_TOKEN_CHARS = 4096
MIN_SECRET_CHARS = 16
MAX_LIFETIME_S = 8 * 3600  # the contract: "lifetime up to 8 hours"
CLOCK_SKEW_S = 60
# Why a token was refused; each has its own answer in domain.yml (utter_identity_refused_<problem>).
EXPIRED, FORGED, MALFORMED, NOT_CONFIGURED = "expired", "forged", "malformed", "not_configured"


@dataclass(frozen=True)
class Verdict:
    subject: Optional[str] = None  # set when the token is good
    expires: Optional[int] = None
    problem: Optional[str] = None  # set when it is not


def secret() -> Optional[str]:
    """The signing secret, or None when this deployment has none (then no token can be good)."""
    given = os.environ.get("XIAOAN_IDENTITY_SECRET")
    path = os.environ.get("XIAOAN_IDENTITY_SECRET_FILE")
    if not given and path:
        try:  # a stat per message, the file read only when it changes (a rotated secret takes effect)
            given = read_secret_file(Path(path))
        except OSError:
            logger.error("identity secret file %s cannot be read: every token is refused", path)
            return None
    if given and len(given) < MIN_SECRET_CHARS:
        logger.error("XIAOAN_IDENTITY_SECRET is shorter than %d characters: every token is refused",
                     MIN_SECRET_CHARS)
        return None
    return given or None


def verify(token: Any, key: Optional[str] = None, now: Optional[float] = None) -> Verdict:
    """What a token proves. Never raises: anything wrong is a refusal with its reason."""
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_CHARS:
        return Verdict(problem=MALFORMED)
    key = key if key is not None else secret()
    if not key:
        return Verdict(problem=NOT_CONFIGURED)
    audience, issuer = os.environ.get("XIAOAN_IDENTITY_AUDIENCE"), os.environ.get("XIAOAN_IDENTITY_ISSUER")
    required = ["sub", "exp"] + (["aud"] if audience else []) + (["iss"] if issuer else [])
    try:  # the signature first; the expiry below, against `now`
        claims = jwt.decode(token.strip(), key, algorithms=[ALGORITHM], audience=audience or None,
                            issuer=issuer or None,
                            options={"require": required, "verify_exp": False, "verify_iat": False,
                                     "verify_nbf": False, "verify_aud": bool(audience)})
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
        return Verdict(problem=FORGED)
    except jwt.PyJWTError:  # malformed, or another audience or issuer than this deployment's
        return Verdict(problem=MALFORMED)
    subject, expires, issued = claims.get("sub"), claims.get("exp"), claims.get("iat")
    if not isinstance(subject, str) or not SUBJECT.match(subject) or not _number(expires) \
            or (issued is not None and not _number(issued)):
        return Verdict(problem=MALFORMED)
    at = clock.timestamp() if now is None else now
    if expires <= at:
        return Verdict(problem=EXPIRED)
    longest = max_lifetime_s()
    if expires > at + longest + CLOCK_SKEW_S or (issued is not None and (
            issued > at + CLOCK_SKEW_S or expires - issued > longest + CLOCK_SKEW_S)):
        return Verdict(problem=MALFORMED)  # lives longer than this deployment allows
    return Verdict(subject=subject, expires=int(expires))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def max_lifetime_s() -> int:
    """8 hours, or shorter where a deployment says so (XIAOAN_IDENTITY_MAX_LIFETIME_S); never longer."""
    try:
        configured = int(os.environ.get("XIAOAN_IDENTITY_MAX_LIFETIME_S") or MAX_LIFETIME_S)
    except ValueError:
        configured = MAX_LIFETIME_S
    return max(60, min(configured, MAX_LIFETIME_S))


def sign(subject: str, key: Optional[str] = None, lifetime_s: int = 8 * 3600, now: Optional[float] = None) -> str:
    """A token for `subject`, as a bank's portal would sign it (the demo link, the tests, `make identity-token`)."""
    key = key if key is not None else secret()
    if not key:
        raise ValueError("no identity secret: set XIAOAN_IDENTITY_SECRET")
    issued = int(clock.timestamp() if now is None else now)
    claims = {"sub": subject, "iat": issued, "exp": issued + lifetime_s}
    for claim, variable in (("aud", "XIAOAN_IDENTITY_AUDIENCE"), ("iss", "XIAOAN_IDENTITY_ISSUER")):
        if os.environ.get(variable):
            claims[claim] = os.environ[variable]
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def secret_env(folder: Path) -> dict:
    """The environment that gives a set of servers one identity secret: the deployment's own
    (`XIAOAN_IDENTITY_SECRET` / `_FILE`, nothing to add), else a demo secret made once in `folder`
    (mode 0600), so that a demo run can sign its own demo links."""
    if os.environ.get("XIAOAN_IDENTITY_SECRET") or os.environ.get("XIAOAN_IDENTITY_SECRET_FILE"):
        return {}
    path = ensure_secret_file(folder / "identity_secret", lambda: secrets.token_urlsafe(32))
    path.chmod(0o600)
    return {"XIAOAN_IDENTITY_SECRET_FILE": str(path)}

"""The shared key that lets the action server know a call comes from one of 小安's Rasa servers.

The action server runs the back-office lookups; anyone who could post to its
`/webhook` could send a made-up tracker (a forged "verified" identity, any
sender) and read records. So every call carries this key in a header, and
the action server refuses a call without it (401).

The key is a random secret in a 0600 file, `var/action_key` by default
(`XIAOAN_ACTION_KEY_FILE` to put it elsewhere, `XIAOAN_ACTION_KEY` to give it
directly). Whichever process starts first creates it, atomically; every Rasa
server and the action server of one checkout read the same file, so the
contract's plain `python -m xiaoan.runtime run actions` beside
`python -m xiaoan.runtime run` works with no further setting.
"""
from __future__ import annotations

import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from xiaoan.secret_files import ensure_secret_file, read_secret_file

HEADER = "X-Xiaoan-Action-Key"
KEY_ENV = "XIAOAN_ACTION_KEY"
FILE_ENV = "XIAOAN_ACTION_KEY_FILE"
ROOT = Path(__file__).resolve().parents[2]


def key_path() -> Path:
    return Path(os.environ.get(FILE_ENV) or ROOT / "var" / "action_key")


@lru_cache(maxsize=1)
def shared_key() -> str:
    """This deployment's key (made on first use)."""
    given = os.environ.get(KEY_ENV)
    if given:
        return given
    path = key_path()
    found = read_secret_file(ensure_secret_file(path, lambda: secrets.token_urlsafe(32)))
    if not found:
        raise RuntimeError(f"the action server key at {path} is empty")
    return found


def carry_key(endpoint: Any) -> None:
    """Makes every call through this action endpoint (Rasa's EndpointConfig) carry the key."""
    if endpoint is not None:
        endpoint.headers = {**(endpoint.headers or {}), HEADER: shared_key()}


def is_from_rasa(given: Optional[str]) -> bool:
    """Whether a call's header carries this deployment's key (compared in constant time)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), shared_key().encode())


__all__ = ["HEADER", "shared_key", "carry_key", "is_from_rasa", "key_path"]

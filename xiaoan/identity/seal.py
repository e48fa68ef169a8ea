"""The ingress's seal on an identity record: an HMAC with a server key, over the record and its conversation.

The ingress records who is writing in the message's metadata (`xiaoan.identity`), and metadata
is stored with the conversation, where it can also arrive another way: events posted through
Rasa's HTTP API (``/conversations/{id}/tracker/events``) carry whatever metadata their sender
wrote. So the ingress seals its record (HMAC-SHA256 over the record and the conversation id),
and whoever reads a record (the actions, the replay, the hand-over) opens it first: a record
without a good seal, tampered with, or copied from another conversation is nobody's.

The key is the servers' own, never a client's:

* ``XIAOAN_INGRESS_KEY_FILE`` names a file holding it, which every Rasa server and action server
  of a deployment reads (`make run` and `make scale` make one, 0600, in their run folder and pass
  its path to every process, as they do for the API token);
* else ``$XIAOAN_RUN_DIR/ingress_key`` or ``var/ingress_key`` (the repository's): made once, 0600,
  by whichever process needs it first, so a Rasa server and an action server started by hand
  from the repository root (CONTRACT §5) share it with no setting.

A rotated key (a new file) takes effect on the next message; records sealed under the old key
then count as nobody, so a conversation in flight asks its user to sign in again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from xiaoan.secret_files import ensure_secret_file, read_secret_file

logger = logging.getLogger(__name__)

KEY_FILE_ENV = "XIAOAN_INGRESS_KEY_FILE"
KEY_FILE_NAME = "ingress_key"
SEAL = "seal"
ROOT = Path(__file__).resolve().parents[2]


def default_key_file() -> Path:
    folder = os.environ.get("XIAOAN_RUN_DIR")
    return (Path(folder) if folder else ROOT / "var") / KEY_FILE_NAME


def key_file() -> Path:
    given = os.environ.get(KEY_FILE_ENV)
    return Path(given) if given else default_key_file()


def make_key_file(path: Path) -> Path:
    """The key file at `path`, made once (32 random bytes, mode 0600) if it is not there, atomically: two
    processes starting together both read the one that was linked into place first, never a half-written one."""
    return ensure_secret_file(path, lambda: secrets.token_hex(32))


def key_env(folder: Path) -> Dict[str, str]:
    """The environment that gives a set of servers one ingress key: the deployment's own file
    (`XIAOAN_INGRESS_KEY_FILE`, nothing to add), else one made once in `folder`."""
    if os.environ.get(KEY_FILE_ENV):
        return {}
    return {KEY_FILE_ENV: str(make_key_file(folder / KEY_FILE_NAME))}


def key() -> Optional[bytes]:
    """The server key; None when it cannot be read (then nothing is sealed and nobody is verified)."""
    path = key_file()
    try:
        if not os.environ.get(KEY_FILE_ENV):
            make_key_file(path)
        found = read_secret_file(path).encode()  # a stat per message; the file read when it changes
    except OSError:
        logger.error("ingress key %s cannot be read: every identity counts as nobody", path)
        return None
    if len(found) < 32:
        logger.error("ingress key %s is shorter than 32 characters: every identity counts as nobody", path)
        return None
    return found


def _mac(record: Mapping[str, Any], conversation_id: Optional[str], secret: bytes) -> str:
    body = {name: value for name, value in record.items() if name != SEAL}
    text = json.dumps([str(conversation_id or ""), body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def sealed(record: Dict[str, Any], conversation_id: Optional[str]) -> Dict[str, Any]:
    """`record` with its seal for this conversation (unsealed when there is no key: it then proves nothing)."""
    secret = key()
    if secret is None:
        return {name: value for name, value in record.items() if name != SEAL}
    return {**record, SEAL: _mac(record, conversation_id, secret)}


def opened(record: Any, conversation_id: Optional[str], secret: Optional[bytes] = None) -> Optional[Dict[str, Any]]:
    """The record if the ingress sealed it for this conversation, else None. `secret`: the key, when the
    caller opens many records at once (read once, not once per record)."""
    if not isinstance(record, dict) or not isinstance(record.get(SEAL), str):
        return None
    secret = secret or key()
    if secret is None:
        return None
    if not hmac.compare_digest(record[SEAL], _mac(record, conversation_id, secret)):
        return None
    return record

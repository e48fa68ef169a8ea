"""Who is writing: the verified identity a message carries, found once, at the ingress (CONTRACT §8).

A message is verified when it carries a good token (REST `metadata.identity`, the chat page's
`customData.identity`), when it comes over WeChat from an OpenID the bank has bound, or, in a
`rasa shell`, `rasa interactive` or `rasa test` process only, when `XIAOAN_LOCAL_IDENTITY` holds
a good token (a support engineer's own test identity, signed like any other). What the user
types is never evidence of who they are, and neither is anything else the client writes: the
channel is the name of the InputChannel that received the request (channels/rest.py never takes
the body's ``input_channel``), and the local identity is bound to the process's command
(`allow_local_identity`, called by ``python -m xiaoan.runtime``), not to a channel name a
request could carry.

The ingress records the outcome in the message's metadata (`xiaoan.identity`, with the channel
it was verified on), seals it for the conversation (`xiaoan.identity.seal`) and drops the token
itself, which is a bearer credential and must not be stored with the conversation.
"""
from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any, Dict, MutableMapping, Optional, Tuple

from xiaoan.identity.store import IdentityStore
from xiaoan.identity.tokens import verify

logger = logging.getLogger(__name__)

TOKEN_KEY = "identity"  # where a channel's client puts its token
WECHAT = "wechat"
# The channels on which XIAOAN_LOCAL_IDENTITY counts, by the command this process runs: `rasa shell`'s console
# talks on `cmdline`; `rasa interactive` (Rasa's HTTP API) and `rasa test` hand Rasa messages with no channel.
LOCAL_COMMANDS: Dict[str, Tuple[Optional[str], ...]] = {"shell": ("cmdline",), "interactive": (None, ""),
                                                        "test": (None, "")}
_local_channels: Tuple[Optional[str], ...] = ()


def allow_local_identity(command: Optional[str]) -> None:
    """This process runs `command` (shell, interactive, test: the local identity counts on its channels; any
    other, `run` above all: it never counts, whatever the environment holds)."""
    global _local_channels
    _local_channels = LOCAL_COMMANDS.get(command or "", ())


def local_channels() -> Tuple[Optional[str], ...]:
    return _local_channels


def store_url() -> str:
    from xiaoan.handover.store import store_url as shared_url

    return shared_url()


@lru_cache(maxsize=None)
def _store_for(url: str) -> IdentityStore:
    return IdentityStore(url)


def get_store() -> IdentityStore:
    return _store_for(store_url())


def _from_token(token: Any, channel: Optional[str], sender_id: Optional[str], via: str) -> Dict[str, Any]:
    verdict = verify(token)
    if verdict.subject:
        return {"verified": True, "subject": verdict.subject, "via": via, "expires": verdict.expires}
    logger.warning("identity refused: %s token on channel %s (conversation %s)", verdict.problem, channel, sender_id)
    return {"verified": False, "problem": verdict.problem, "via": via}


def _from_wechat(openid: Optional[str]) -> Dict[str, Any]:
    try:
        subject = get_store().wechat_subject(openid or "")
    except Exception:  # the binding table unreachable: nobody is verified, nothing breaks
        logger.exception("WeChat binding lookup failed")
        return {"verified": False}
    if subject:
        return {"verified": True, "subject": subject, "via": "wechat_binding"}
    return {"verified": False}


def identify(metadata: MutableMapping[str, Any], channel: Optional[str], sender_id: Optional[str]) -> Dict[str, Any]:
    """The identity record for one message, naming the channel it came on; removes the token from `metadata`.

    `channel` is the receiving InputChannel's own name (never a client's claim): `wechat` is only ever the
    WeChat channel, whose callbacks are signature-checked."""
    return {**_identify(metadata, channel, sender_id), "channel": channel or None}


def _identify(metadata: MutableMapping[str, Any], channel: Optional[str], sender_id: Optional[str]) -> Dict[str, Any]:
    token = metadata.pop(TOKEN_KEY, None)
    if token is not None:
        return _from_token(token, channel, sender_id, "token")
    if channel == WECHAT:
        return _from_wechat(sender_id)
    local = os.environ.get("XIAOAN_LOCAL_IDENTITY")
    if local and channel in local_channels():
        return _from_token(local, channel, sender_id, "local")
    return {"verified": False}

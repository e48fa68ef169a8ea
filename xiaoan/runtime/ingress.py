"""The one way in: every user message passes here once, whatever its channel.

REST, socket.io, WeChat, `rasa shell`, `rasa interactive` and `rasa test`
all hand Rasa a `UserMessage`; `XiaoanProcessor` admits it here before it is
parsed, logged or stored. Admitting it

* masks card numbers, PINs, CVVs and SMS codes in its text, which is
  otherwise kept as typed (what is stored, and what staff read);
* records in its metadata, under ``"xiaoan"``, the normalised text the NLU
  classifies (`xiaoan.text.reading`), which kinds of secret were masked,
  which fraud signals were seen, the client's message id and who is writing
  (`xiaoan.identity`: a verified customer or merchant id, or why not, and
  the channel: the receiving InputChannel's own name) and a keyed hash of the
  client's address when a channel noted one (`xiaoan.runtime.limits`), so the NLU and the
  actions read these facts instead of working them out again;
* seals the identity record for the conversation (`xiaoan.identity.seal`, an
  HMAC with the servers' key): metadata stored any other way (events posted
  through Rasa's HTTP API) has no good seal and counts as nobody;
* drops the client's identity token from the metadata once it is verified:
  a bearer credential is not stored with the conversation;
* is idempotent: an admitted message object is marked and left alone. The
  mark is on the object, never in the metadata, because clients write the
  metadata: a client that sends its own ``"xiaoan"`` record has it replaced.

Channels only translate their protocol; they pass the client's id for a
message as ``metadata["message_id"]``.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from rasa.core.channels.channel import UserMessage

import xiaoan.runtime.limits as limits
from xiaoan.identity import identify
from xiaoan.identity.seal import sealed
from xiaoan.text.reading import read_user_text

INGRESS_KEY = "xiaoan"
MESSAGE_ID_KEY = "message_id"
MAX_MESSAGE_ID_CHARS = 128
_ADMITTED = "_xiaoan_admitted"
_READS_BACK = "_xiaoan_reads_back"


def client_message_id(metadata: Mapping[str, Any]) -> Optional[str]:
    """The client's id for a message (REST `message_id`, WeChat `MsgId`, the page's id), if usable."""
    key: Any = metadata.get(MESSAGE_ID_KEY)
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        key = str(key).strip()
        if 0 < len(key) <= MAX_MESSAGE_ID_CHARS:
            return key
    return None


def admitted_facts(metadata: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The ingress record of a message's metadata, or None if it was never admitted."""
    record = (metadata or {}).get(INGRESS_KEY)
    return record if isinstance(record, dict) else None


def admit(message: UserMessage) -> UserMessage:
    """Reads the message once, in place, and returns it."""
    if getattr(message, _ADMITTED, False):
        return message
    metadata: Dict[str, Any] = dict(message.metadata) if isinstance(message.metadata, dict) else {}
    reading = read_user_text(message.text if isinstance(message.text, str) else None)
    address = limits.address_of(message)
    message.text = reading.typed
    metadata[INGRESS_KEY] = {
        "text": reading.text,
        "secrets_masked": list(reading.secrets_masked),
        "fraud_signals": list(reading.fraud_signals),
        "message_id": client_message_id(metadata),
        "identity": sealed(identify(metadata, message.input_channel, message.sender_id), message.sender_id),
        # where it came from, for the hand-over's per-address limit: a keyed hash, never the address
        "client": None if limits.exempt(address) else limits.client_key(address),
    }
    message.metadata = metadata
    if isinstance(message.parse_data, dict) and isinstance(message.parse_data.get("text"), str):
        message.parse_data = dict(message.parse_data, text=read_user_text(message.parse_data["text"]).typed)
    setattr(message, _ADMITTED, True)
    return message


def note_reads_back(message: UserMessage, allowed: bool) -> None:
    """The processor's verdict, on the message object (never in client-written metadata): may what this
    conversation holds for its owner (staff messages waiting on REST) go to this message's writer?"""
    setattr(message, _READS_BACK, allowed)


def reads_back(message: UserMessage) -> bool:
    """`note_reads_back`'s verdict; False for a message the processor never judged."""
    return bool(getattr(message, _READS_BACK, False))

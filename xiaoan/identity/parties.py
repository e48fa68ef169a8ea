"""Whose a conversation is: the subjects it was verified for, read from the ingress's sealed records.

A conversation belongs to whoever it was first verified for (its owner). What it holds (stored
replies, staff messages waiting on REST, the case a ticket reads back, earlier lookup results) is
given only to a writer who is that same subject: a conversation verified for C0001 is not read
back to an anonymous writer or to C0002, even after C0002 has written in it with a good token
(which cannot take the conversation over, nor keep it from its owner). A conversation nobody was
verified in holds no record (nothing is looked up for nobody); what it holds goes to whoever
writes in it: on REST nothing but the sender id tells two anonymous clients apart (the report of
issue 19 names that risk), on socket.io the session is bound to its socket (channels/socketio.py),
on WeChat the OpenID comes with a signed callback.

Used by the runtime (replay, the REST channel's staff messages) on Rasa's events and by the
actions on rasa-sdk's event dicts: both pass the ingress records they read, nothing of Rasa here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from xiaoan.identity.seal import key, opened

INGRESS_KEY = "xiaoan"  # the ingress's record in a message's metadata (xiaoan.runtime.ingress)
IDENTITY_KEY = "identity"


def identity_record(metadata: Any) -> Any:
    """The identity record the ingress wrote into a message's metadata (unopened), if any."""
    facts = metadata.get(INGRESS_KEY) if isinstance(metadata, Mapping) else None
    return facts.get(IDENTITY_KEY) if isinstance(facts, Mapping) else None


@dataclass(frozen=True)
class Party:
    """Who wrote one message, as its sealed record says: a subject (None: nobody verified) on a channel."""

    subject: Optional[str]
    channel: Optional[str]


def party_of(metadata: Any, conversation_id: Optional[str], secret: Optional[bytes] = None) -> Optional[Party]:
    """The writer of the message with this metadata, or None when its record has no good seal (then the
    message did not come through the ingress of this deployment: it proves nothing, not even a channel)."""
    record = opened(identity_record(metadata), conversation_id, secret)
    if record is None:
        return None
    subject = record.get("subject") if record.get("verified") else None
    channel = record.get("channel")
    return Party(subject if isinstance(subject, str) else None, channel if isinstance(channel, str) else None)


def subject_of(metadata: Any, conversation_id: Optional[str]) -> Optional[str]:
    party = party_of(metadata, conversation_id)
    return party.subject if party else None


UNKNOWN_OWNER = "?"  # claimed verified, seal not good (a rotated key, an injected record): nobody's to read


def owner_of(metadatas: Iterable[Any], conversation_id: Optional[str]) -> Optional[str]:
    """The subject the conversation's messages (their metadata, oldest first) were first verified for.

    A record that says "verified" without a good seal (sealed under a key since rotated, or injected) makes
    the owner unknown rather than nobody: what the conversation holds then goes to no one, never to anyone."""
    secret = key()  # once for the whole conversation: every message's record is opened with it
    for metadata in metadatas:
        party = party_of(metadata, conversation_id, secret)
        if party is None:
            record = identity_record(metadata)
            if isinstance(record, Mapping) and record.get("verified"):
                return UNKNOWN_OWNER
        elif party.subject:
            return party.subject
    return None


def may_read_back(owner: Optional[str], writer: Optional[str]) -> bool:
    """Whether what the conversation holds may go to `writer`: nobody was verified in it, or `writer` owns it."""
    return owner is None or writer == owner


def same_party(stored: Optional[Party], retry: Optional[Party]) -> bool:
    """A retried message is the stored one's when both came through the ingress, on the same channel, from the
    same subject (or both from nobody verified)."""
    return stored is not None and retry is not None and stored == retry

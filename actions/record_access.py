"""Who may see a record: its verified owner, and nobody else (CONTRACT §8).

The ingress has already decided who is writing (`xiaoan.identity`): the latest message's
record says whether the conversation is verified and as whom, if its seal is good
(`xiaoan.identity.seal`: the ingress's HMAC over the record and the conversation id). A record
without a good seal did not come from the ingress (events posted through Rasa's HTTP API with
forged metadata, a record copied from another conversation or edited) and counts as nobody.
Here the checks learn

* whether to look anything up at all (an unverified visitor gets the steps that need no
  lookup and how to sign in, never a record);
* whether a record may be shown: another owner's record is treated exactly like a number that
  does not exist, so the answer gives no hint that it does;
* whether the case may be read back (a ticket's summary, with earlier lookups' results): only to
  the subject the conversation was verified for (`case_readable`, xiaoan/identity/parties.py);
* whether lookups must wait: failed lookups are counted per conversation and per identity in
  the shared identity store, and past a few in the window further lookups wait (the window is
  the fact `lookup_pause_minutes`, so what the user is told and what is enforced are one number).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from rasa_sdk import Tracker

from xiaoan import content
from xiaoan.identity import get_store
from xiaoan.identity.parties import identity_record, may_read_back, owner_of
from xiaoan.identity.seal import opened

logger = logging.getLogger(__name__)

FAILURES_PER_CONVERSATION = 3  # not-found lookups in one conversation before lookups wait
FAILURES_PER_IDENTITY = 5  # ... or by one identity across its conversations


def pause_seconds() -> float:
    return 60.0 * int(content.facts()["lookup_pause_minutes"])


@dataclass(frozen=True)
class Caller:
    """Who wrote the latest message, as the ingress verified it."""

    subject: Optional[str] = None  # C0001 / M0001 when verified
    problem: Optional[str] = None  # why a token was refused (expired, forged, malformed, not_configured)

    @property
    def verified(self) -> bool:
        return self.subject is not None


def caller(tracker: Tracker, now: Optional[float] = None) -> Caller:
    metadata = (tracker.latest_message or {}).get("metadata")
    record = opened(identity_record(metadata), tracker.sender_id)
    if record is None:  # not the ingress's record for this conversation: nobody
        return Caller()
    if not record.get("verified"):
        problem = record.get("problem")
        return Caller(problem=problem if isinstance(problem, str) else None)
    subject, expires = record.get("subject"), record.get("expires")
    if not isinstance(subject, str):
        return Caller()
    if isinstance(expires, (int, float)) and expires <= (time.time() if now is None else now):
        return Caller(problem="expired")  # went stale between the ingress and this action
    return Caller(subject=subject)


def conversation_owner(tracker: Tracker) -> Optional[str]:
    """The subject this conversation was first verified for (sealed records only), if any."""
    return owner_of((e.get("metadata") for e in tracker.events or []
                     if isinstance(e, dict) and e.get("event") == "user"), tracker.sender_id)


def case_readable(tracker: Tracker, who: Caller) -> bool:
    """Whether the case (and the lookups' results it records) may be read back to `who`: `who` owns the
    conversation, or nobody was verified in it (then it holds no record: nothing is looked up for nobody)."""
    return may_read_back(conversation_owner(tracker), who.subject)


def visible(record: Any, who: Caller) -> Any:
    """The record if `who` owns it, else None: someone else's record looks like no record."""
    if record is None or not who.verified or getattr(record, "owner", None) != who.subject:
        return None
    return record


def _keys(tracker: Tracker, who: Caller) -> Tuple[str, ...]:
    keys = [f"conversation:{tracker.sender_id}"]
    if who.verified:
        keys.append(f"identity:{who.subject}")
    return tuple(keys)


def lookups_paused(tracker: Tracker, who: Caller, now: Optional[float] = None) -> bool:
    """Too many lookups found nothing lately, in this conversation or for this identity."""
    now = time.time() if now is None else now
    since = now - pause_seconds()
    store = get_store()
    conversation, *identity = _keys(tracker, who)
    if store.failures_since(conversation, since) >= FAILURES_PER_CONVERSATION:
        return True
    return bool(identity) and store.failures_since(identity[0], since) >= FAILURES_PER_IDENTITY


def record_failed_lookup(tracker: Tracker, who: Caller, now: Optional[float] = None) -> None:
    get_store().record_failure(_keys(tracker, who), now)
    logger.info("lookup found nothing for conversation %s", tracker.sender_id)

"""The waiting rule: nobody waits for a person forever.

A conversation the bot paused for a person (someone was on duty when it was queued) and that nobody has
claimed is told honestly where it stands, once, and the bot takes it back meanwhile:

* after ``handover_wait_limit`` (content/facts.yml; ``XIAOAN_HANDOVER_WAIT_LIMIT`` overrides it for a
  test set-up): ``waited_long``, with its place in the queue, its ticket and that a person will still
  answer here;
* when the staff hours end with it still unclaimed: ``hours_over``, with its ticket and when a person
  will look (the next opening), even after a ``waited_long``.

The entry keeps its place in the queue and records what was said (``told``), so the console shows it.
Entries whose user already heard that nobody is on duty, or a fraud report queued without a word, are
not spoken to. Everything here reads the one clock (xiaoan/clock.py); the console runs the rule
(console/waiting.py), the words are domain.yml's (channels/staff_notices.py).
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Iterable, List, Optional, Tuple

from xiaoan import clock, content
from xiaoan.handover.duty import Hours
from xiaoan.handover.queue import Handover

LIMIT_FACT = "handover_wait_limit"
LIMIT_ENV = "XIAOAN_HANDOVER_WAIT_LIMIT"
WATCHED = (None, "waited_long")  # what a user may have heard and still be told something by this rule


def wait_limit() -> timedelta:
    """How long an unclaimed, paused conversation waits before it is told (the fact, or the override)."""
    override = (os.environ.get(LIMIT_ENV) or "").strip()
    return clock.span(override or content.facts()[LIMIT_FACT])


def notice_due(entry: Handover, now: float, limit: timedelta, hours: Hours) -> Optional[str]:
    """What `entry`'s user is to be told now: ``hours_over``, ``waited_long`` or None."""
    if entry.status != "waiting" or entry.told not in WATCHED:
        return None
    if not hours.open_at(clock.to_china(now)):
        return "hours_over"
    if entry.told is None and now - max(entry.queued_at, entry.told_at or 0.0) >= limit.total_seconds():
        return "waited_long"  # counted from the queueing, or from a later pause (asked again after a notice)
    return None


def notices_due(entries: Iterable[Handover], now: float, limit: timedelta, hours: Hours) -> List[Tuple[Handover, str]]:
    """Every entry to be told now, with what, oldest first."""
    due = [(entry, notice_due(entry, now, limit, hours)) for entry in entries]
    return [(entry, kind) for entry, kind in sorted(due, key=lambda pair: pair[0].queued_at) if kind]


__all__ = ["wait_limit", "notice_due", "notices_due", "LIMIT_ENV"]

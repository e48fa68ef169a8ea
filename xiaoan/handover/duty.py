"""Who is on duty: inside the staff hours (content/facts.yml `staff_hours`) and someone signed in.

The hours are read from the fact itself ("每天 8:00–22:00"), so the sentence the
user reads and the check the bot makes cannot disagree. `XIAOAN_STAFF_HOURS`
(same form, e.g. "0:00-24:00") overrides it for a deployment or a test set-up.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Tuple

from xiaoan import clock
from xiaoan.clock import CHINA

HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*[–—\-~至到]\s*(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class Hours:
    start: Tuple[int, int]  # (hour, minute)
    end: Tuple[int, int]    # (24, 0) for midnight

    def minutes(self) -> Tuple[int, int]:
        return self.start[0] * 60 + self.start[1], self.end[0] * 60 + self.end[1]

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(CHINA)
        now = local.hour * 60 + local.minute
        start, end = self.minutes()
        return start <= now < end if start < end else (now >= start or now < end)

    def start_text(self) -> str:
        return f"{self.start[0]}:{self.start[1]:02d}"

    def next_opening(self, moment: datetime) -> Tuple[str, str]:
        """("today" | "tomorrow" | "now", the opening time as text)."""
        if self.open_at(moment):
            return "now", self.start_text()
        local = moment.astimezone(CHINA)
        start, _ = self.minutes()
        return ("today" if local.hour * 60 + local.minute < start else "tomorrow"), self.start_text()


def parse_hours(text: str) -> Optional[Hours]:
    match = HOURS.search(text or "")
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 < 24 and 0 <= m1 < 60 and 0 <= h2 <= 24 and 0 <= m2 < 60):
        return None
    return Hours((h1, m1), (h2, m2))


def staff_hours() -> Hours:
    override = os.environ.get("XIAOAN_STAFF_HOURS")
    if override:
        parsed = parse_hours(override)
        if parsed is None:
            raise ValueError(f"XIAOAN_STAFF_HOURS must look like 8:00-22:00, not {override!r}")
        return parsed
    from xiaoan import content

    parsed = parse_hours(content.facts().get("staff_hours", ""))
    if parsed is None:
        raise ValueError("content/facts.yml staff_hours must name the hours, e.g. 每天 8:00–22:00")
    return parsed


def within_hours(moment: Optional[datetime] = None) -> bool:
    return staff_hours().open_at(moment or clock.now())


__all__ = ["Hours", "parse_hours", "staff_hours", "within_hours"]

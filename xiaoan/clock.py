"""One clock for the whole product: what "now", "today" and "within the window" mean.

小安 serves people in China, so every day, window and time a person reads is
China time (Asia/Shanghai, UTC+8 all year), whatever zone the server, the test
machine or the staff member's browser is set to. Instants are stored as epoch
seconds or as ISO text with an offset; a stored text *without* an offset (the
back office's "2026-11-25 09:12") is China time, never this machine's.

Nothing else in the project asks the operating system for the date or the
local zone. Tests pin the clock with `fixed()`; the live servers read the real
one through the same functions.
"""
from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Callable, Iterator, Optional, Tuple, Union


def _china_zone() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Shanghai")
    except Exception:  # noqa: BLE001 - no time-zone database: China keeps UTC+8 all year
        return timezone(timedelta(hours=8), "CST")


CHINA: tzinfo = _china_zone()
DAY_FORMAT = "%Y-%m-%d"
MINUTE_FORMAT = "%Y-%m-%d %H:%M"
SECOND_FORMAT = "%Y-%m-%d %H:%M:%S"

Moment = Union[datetime, float, int, str]

_source: Callable[[], float] = time.time


# ---------------------------------------------------------------------- now


def timestamp() -> float:
    """Seconds since the epoch, from the product's clock (pinned in tests)."""
    return _source()


def now() -> datetime:
    """This moment in China time (an aware datetime)."""
    return datetime.fromtimestamp(_source(), CHINA)


def today() -> date:
    """Today's date in China."""
    return now().date()


@contextmanager
def fixed(moment: Moment) -> Iterator[datetime]:
    """Pins the clock at `moment` (a naive time is China time) until the block ends."""
    global _source
    pinned = to_china(moment).timestamp()
    previous, _source = _source, (lambda: pinned)
    try:
        yield to_china(pinned)
    finally:
        _source = previous


# ---------------------------------------------------------------------- reading stored times


def to_china(moment: Moment) -> datetime:
    """Any stored instant as an aware China-time datetime.

    Epoch seconds, an aware datetime, or ISO text ("2026-12-01T07:40:55+00:00",
    "2026-11-25 09:12"). Naive values are China time. Raises ValueError on text
    that is no time at all.
    """
    if isinstance(moment, bool):
        raise ValueError("not a time")
    if isinstance(moment, (int, float)):
        return datetime.fromtimestamp(float(moment), CHINA)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip())
    if not isinstance(moment, datetime):
        raise ValueError(f"not a time: {moment!r}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA)
    return moment.astimezone(CHINA)


def stored(moment: Optional[datetime] = None) -> str:
    """An instant as the stores keep it: ISO text with China's offset, to the second."""
    return to_china(moment or now()).isoformat(timespec="seconds")


# ---------------------------------------------------------------------- days


def day_of(moment: Moment) -> str:
    """The China date of an instant, as YYYY-MM-DD."""
    return to_china(moment).strftime(DAY_FORMAT)


def parse_day(text: str) -> date:
    """YYYY-MM-DD (a China date); ValueError otherwise."""
    return datetime.strptime(text, DAY_FORMAT).date()


def start_of(day: date) -> datetime:
    """Midnight at the start of a China date."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


def days_span(first: date, last: date) -> Tuple[float, float]:
    """[start of `first`, start of the day after `last`) in epoch seconds: both days included."""
    return start_of(first).timestamp(), start_of(last + timedelta(days=1)).timestamp()


def last_days(count: int) -> Tuple[date, date]:
    """The `count` China dates that end today, as (first, last)."""
    last = today()
    return last - timedelta(days=count - 1), last


# ---------------------------------------------------------------------- windows


def age(since: Moment, at: Optional[Moment] = None) -> timedelta:
    """How long ago `since` was (negative for a time still to come)."""
    return to_china(at if at is not None else timestamp()) - to_china(since)


def within(since: Moment, window: timedelta, at: Optional[Moment] = None) -> bool:
    """Whether `at` (now by default) is no later than `window` after `since`."""
    return age(since, at) <= window


# A span as content/facts.yml writes it for a sentence ("24小时", "30分钟", "2天"): the unit a
# sentence reads, in seconds. Working days are not here: counting them needs the holiday calendar.
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(\S+?)\s*$")
_UNIT_SECONDS = {"分钟": 60, "小时": 3600, "天": 86400, "自然日": 86400}  # each may follow 个


def span(text: str) -> timedelta:
    """A fact's span ("24小时") as a timedelta; ValueError for one this clock cannot count (working days)."""
    match = _SPAN.match(str(text))
    unit = match.group(2).removeprefix("个") if match else ""
    if unit not in _UNIT_SECONDS:
        raise ValueError(f"not a span this clock counts: {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[unit])


# ---------------------------------------------------------------------- for people


def for_people(moment: Moment) -> str:
    """A time as a person in China reads it: '2026-12-03 18:44'. Unreadable text is shown as it is."""
    try:
        return to_china(moment).strftime(MINUTE_FORMAT)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(moment)


def for_people_seconds(moment: Moment) -> str:
    """The same, to the second: '2026-12-03 18:44:04' (transcripts)."""
    try:
        return to_china(moment).strftime(SECOND_FORMAT)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(moment)


def for_logs(seconds: float) -> str:
    """A log line's time: UTC with milliseconds and a Z, the form log tools read without a zone table."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{int(moment.microsecond / 1000):03d}Z"


__all__ = [
    "CHINA", "timestamp", "now", "today", "fixed", "to_china", "stored", "day_of", "parse_day", "start_of",
    "days_span", "last_days", "age", "within", "span", "for_people", "for_people_seconds", "for_logs",
]

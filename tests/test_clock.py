"""xiaoan.clock: one China clock, the same in every process time zone, pinned by tests."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


from xiaoan import clock



def test_the_day_turns_at_china_midnight_not_utc(process_zone):
    with clock.fixed("2026-12-06T23:59:00+08:00"):
        assert clock.today() == date(2026, 12, 6)
    with clock.fixed("2026-12-06T16:01:00+00:00"):  # 00:01 on the 7th in China, still the 6th in UTC
        assert clock.today() == date(2026, 12, 7)
        assert clock.now().strftime("%H:%M") == "00:01"
        assert clock.last_days(7) == (date(2026, 12, 1), date(2026, 12, 7))


def test_a_stored_time_without_an_offset_is_china_time(process_zone):
    assert clock.for_people("2026-11-25 09:12") == "2026-11-25 09:12"
    assert clock.for_people("2026-12-01T07:40:55+00:00") == "2026-12-01 15:40"
    assert clock.for_people("2026-12-31T20:05:00-05:00") == "2027-01-01 09:05"
    assert clock.for_people("not a time") == "not a time"
    assert clock.for_people_seconds(0) == "1970-01-01 08:00:00"


def test_days_span_covers_both_china_days(process_zone):
    start, end = clock.days_span(date(2026, 12, 6), date(2026, 12, 7))
    assert datetime.fromtimestamp(start, timezone.utc) == datetime(2026, 12, 5, 16, tzinfo=timezone.utc)
    assert end - start == 2 * 86400
    assert clock.day_of(start) == "2026-12-06" and clock.day_of(end - 1) == "2026-12-07"


def test_windows_are_measured_from_the_record_time(process_zone):
    with clock.fixed("2026-12-06 10:00"):
        assert clock.within("2026-12-05 10:00", timedelta(hours=24))
        assert not clock.within("2026-12-05 09:59", timedelta(hours=24))
        assert clock.age("2026-11-25 10:00") == timedelta(days=11)
    assert clock.within("2026-11-25 13:40", timedelta(days=1), at="2026-11-26 13:40")


def test_a_fixed_clock_ends_with_its_block():
    real = clock.timestamp()
    with clock.fixed(datetime(2030, 1, 1, tzinfo=timezone.utc)) as pinned:
        assert clock.timestamp() == pinned.timestamp()
        assert clock.stored() == "2030-01-01T08:00:00+08:00"
    assert abs(clock.timestamp() - real) < 60


def test_log_times_are_utc_with_a_z():
    assert clock.for_logs(1764979200.5) == "2025-12-06T00:00:00.500Z"


def test_nothing_but_the_clock_asks_for_the_local_date_or_zone():
    """One owner of time: no module reads the machine's date or zone itself."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readers = ("datetime.now(", "date.today(", "time.strftime(", "time.gmtime(", "datetime.today(", "utcnow(", ".astimezone()", "time.localtime(",
               "timezone(timedelta(hours=8)", 'ZoneInfo("Asia/Shanghai")')
    found = []
    for folder in ("actions", "channels", "console", "xiaoan", "web", "ops"):
        for path in (root / folder).rglob("*.py"):
            if path.name == "clock.py" and path.parent.name == "xiaoan":
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(root)}: {r}" for r in readers if r in text]
    assert found == []

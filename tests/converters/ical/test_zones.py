"""Zone comparison from transitions: the same answers as hour by hour, without the cost.

The hour-by-hour comparison over 400 days (9,600 conversions per zone) cost seconds per
event with a zone an app defines itself (Outlook's VTIMEZONE with rules from 1601), and
stalled every feed while an upload was read. ``offsets_agree`` now compares each zone's
offset changes; the old loop is kept here as the oracle it must agree with, for IANA zones
and for the VTIMEZONEs apps write (tests/fixtures/ics/zones/).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from dateutil.tz.tz import _tzicalvtz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from icalendar.timezone import tzp
from support import paths

from icsbridge.converters.ical import zones
from icsbridge.converters.ical.rrule import offsets_agree

ZONE_FIXTURES = paths.FIXTURES / "ics" / "zones"


def hour_by_hour(first: tzinfo, second: tzinfo, start: datetime, *, days: int = 400) -> bool:
    """The comparison as it was: every hour for ``days`` (the oracle)."""
    instant = (start if start.tzinfo is not None else start.replace(tzinfo=first)).astimezone(UTC)
    for hour in range(days * 24):
        moment = instant + timedelta(hours=hour)
        if moment.astimezone(first).utcoffset() != moment.astimezone(second).utcoffset():
            return False
    return True


@cache
def vtimezone(name: str, *, index: bool = True) -> tzinfo:
    """The zone a VTIMEZONE fixture defines, built as icalendar builds it for an upload
    (once per test run: a fresh dateutil zone lists its onsets from 1601 on first use)."""
    text = (ZONE_FIXTURES / f"{name}.ics").read_text()
    calendar = Calendar.from_ical(f"BEGIN:VCALENDAR\r\n{text}END:VCALENDAR\r\n")
    zone = calendar.walk("VTIMEZONE")[0].to_tz(tzp, lookup_tzid=False)
    return zones.indexed(zone) if index else zone


IANA = [
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/St_Johns",
    "America/Santiago",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Africa/Casablanca",
    "UTC",
]
VTIMEZONES = sorted(p.stem for p in ZONE_FIXTURES.glob("*.ics"))
# Each VTIMEZONE with the IANA zone it means (or comes closest to) and one it does not.
PAIRS = {
    "outlook_eastern": ("America/New_York", "America/Chicago"),
    "outlook_w_europe": ("Europe/Berlin", "Europe/London"),
    "lotus_notes": ("Europe/Paris", "Africa/Casablanca"),
    "apple_paris": ("Europe/Paris", "Europe/Dublin"),
    "outlook_sydney": ("Australia/Sydney", "Australia/Lord_Howe"),
    "half_hour_dst": ("Australia/Lord_Howe", "Australia/Sydney"),
    "outlook_india": ("Asia/Kolkata", "UTC"),
    "base_offset_change": ("Europe/Moscow", "Asia/Dubai"),
    "dst_ends": ("Europe/Paris", "Europe/Berlin"),
    "midnight_changes": ("America/Santiago", "America/Asuncion"),
    "negative_dst": ("Europe/Dublin", "Europe/London"),
    "half_past_changes": ("America/New_York", "America/Toronto"),
    "rdate_list": ("Europe/Paris", "Europe/Lisbon"),
}
# Windows of 45 days that start before the changes of spring and autumn in both
# hemispheres, at odd minutes and seconds so the hourly grid falls between whole hours; the
# full 400 days for a few pairs (a window costs the oracle 24 conversions a day).
STARTS = [
    datetime(2026, 2, 20, 9, 0, tzinfo=UTC),
    datetime(2026, 3, 20, 23, 30, tzinfo=UTC),
    datetime(2026, 9, 20, 6, 59, 59, tzinfo=UTC),
    datetime(2026, 10, 20, 20, 17, 3, tzinfo=UTC),
    datetime(2027, 2, 20, 0, 45, tzinfo=UTC),
]
FULL_YEAR = [
    ("outlook_eastern", "America/New_York"),
    ("lotus_notes", "Europe/Paris"),
    ("outlook_sydney", "Australia/Sydney"),
    ("negative_dst", "Europe/London"),
]


def test_every_vtimezone_fixture_has_its_pairs() -> None:
    assert sorted(PAIRS) == VTIMEZONES


@pytest.mark.parametrize("name", VTIMEZONES)
def test_a_vtimezone_agrees_with_the_hour_by_hour_comparison(name: str) -> None:
    zone = vtimezone(name)
    others = [ZoneInfo(key) for key in PAIRS[name]] + [vtimezone("outlook_eastern")]
    for start in STARTS:
        for other in others:
            expected = hour_by_hour(zone, other, start, days=45)
            assert offsets_agree(zone, other, start, days=45) == expected, (other, start)


@pytest.mark.parametrize(("name", "key"), FULL_YEAR)
def test_a_vtimezone_agrees_over_the_full_400_days(name: str, key: str) -> None:
    zone, other = vtimezone(name), ZoneInfo(key)
    start = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    assert offsets_agree(zone, other, start) == hour_by_hour(zone, other, start)


def test_an_outlook_zone_keeps_the_offsets_of_the_iana_zone_it_names() -> None:
    eastern = vtimezone("outlook_eastern")
    start = datetime(2026, 1, 5, 9, 0, tzinfo=eastern)
    assert offsets_agree(eastern, ZoneInfo("America/New_York"), start)
    assert not offsets_agree(eastern, ZoneInfo("America/Chicago"), start)
    assert not offsets_agree(vtimezone("half_past_changes"), ZoneInfo("America/New_York"), start)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.sampled_from(IANA),
    second=st.sampled_from(IANA),
    start=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2045, 12, 31)),
)
def test_iana_zones_agree_with_the_hour_by_hour_comparison(
    first: str, second: str, start: datetime
) -> None:
    one, two = ZoneInfo(first), ZoneInfo(second)
    at = start.replace(tzinfo=UTC)
    assert offsets_agree(one, two, at) == hour_by_hour(one, two, at)


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(VTIMEZONES),
    other=st.sampled_from([*IANA, "fixed"]),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31)),
    days=st.integers(min_value=0, max_value=30),
)
def test_short_windows_agree_with_the_hour_by_hour_comparison(
    name: str, other: str, start: datetime, days: int
) -> None:
    zone = vtimezone(name)
    second = timezone(timedelta(hours=5, minutes=30)) if other == "fixed" else ZoneInfo(other)
    assert offsets_agree(zone, second, start, days=days) == hour_by_hour(
        zone, second, start, days=days
    )


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(VTIMEZONES),
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)),
)
def test_an_indexed_zone_gives_the_offsets_dateutil_gives(name: str, moment: datetime) -> None:
    plain, fast = vtimezone(name, index=False), vtimezone(name)
    at = moment.replace(tzinfo=UTC)
    assert at.astimezone(fast).utcoffset() == at.astimezone(plain).utcoffset()
    for fold in (0, 1):
        local = moment.replace(fold=fold)
        assert local.replace(tzinfo=fast).utcoffset() == local.replace(tzinfo=plain).utcoffset()
        assert local.replace(tzinfo=fast).dst() == local.replace(tzinfo=plain).dst()


def test_a_zone_comparison_at_the_end_of_time_does_not_overflow() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert offsets_agree(paris, ZoneInfo("Europe/Berlin"), datetime(9999, 6, 1, tzinfo=UTC))
    assert not offsets_agree(paris, ZoneInfo("UTC"), datetime(9998, 6, 1, tzinfo=UTC))
    early = datetime(2, 1, 1, tzinfo=UTC)  # local mean times: Paris +00:09:21, Berlin +00:53:28
    assert offsets_agree(paris, ZoneInfo("Europe/Berlin"), early) is False
    assert hour_by_hour(paris, ZoneInfo("Europe/Berlin"), early) is False


class _Counted(_tzicalvtz):
    """An Outlook zone that counts how often an offset is asked of it."""

    asked = 0

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        _Counted.asked += 1
        return super().utcoffset(dt)


def test_an_outlook_zone_is_compared_from_a_few_offsets_not_9600() -> None:
    plain = vtimezone("outlook_eastern", index=False)
    zone = zones.indexed(_Counted(plain._tzid, plain._comps))  # type: ignore[attr-defined]
    new_york = ZoneInfo("America/New_York")
    assert offsets_agree(zone, new_york, datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    assert 0 < _Counted.asked < 1000  # hour by hour: 9,600 conversions, each several offsets
    _Counted.asked = 0
    for day in range(0, 300, 7):  # the next events of that upload: the years are known
        assert offsets_agree(zone, new_york, datetime(2026, 1, 5, 14, tzinfo=UTC) + timedelta(day))
    assert _Counted.asked == 0

"""VTIMEZONE generation: the offsets a reader computes from our blocks equal zoneinfo's.

The reader below expands each block's RRULE with python-dateutil by itself (no code of
icsbridge.converters.ical.vtimezone), so a wrong month, weekday rule, local time, UNTIL or missing
transition shows up as a wrong offset somewhere in the range.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Timezone

from icsbridge.converters.ical import vtimezone as vtz_module
from icsbridge.converters.ical.vtimezone import DEFAULT_YEARS, default_last, vtimezone

# (zone, first) pairs: the six of the brief, then zones with unusual rules.
CASES = [
    ("Europe/Paris", date(2024, 7, 1)),
    ("America/New_York", date(2005, 1, 1)),  # crosses the 2007 US rule change
    ("Australia/Sydney", date(2020, 1, 1)),  # southern hemisphere
    ("Asia/Kolkata", date(2024, 1, 1)),  # no DST since 1945
    ("Europe/Moscow", date(2009, 6, 1)),  # DST ended 2011, offset changed 2014
    ("America/Sao_Paulo", date(2015, 1, 1)),  # DST ended 2019
    ("Asia/Jerusalem", date(2010, 1, 1)),  # "Fri>=23": BYDAY=FR;BYMONTHDAY=23..29
    ("America/Santiago", date(2019, 1, 1)),  # "Sun>=2" at 24:00 local
    ("Europe/Dublin", date(2020, 1, 1)),  # negative DST in tzdata
    ("Africa/Casablanca", date(2022, 1, 1)),  # Ramadan changes, no yearly rule
    ("Australia/Lord_Howe", date(2021, 1, 1)),  # 30-minute DST
    ("UTC", date(2024, 1, 1)),
]


@dataclass(frozen=True)
class Onset:
    at: datetime  # naive UTC
    offset: timedelta
    name: str


def read_onsets(component: Timezone, until: datetime) -> list[Onset]:
    """Every onset the VTIMEZONE defines up to ``until`` (naive UTC), in order."""
    onsets: list[Onset] = []
    for block in component.subcomponents:
        assert block.name in ("STANDARD", "DAYLIGHT")
        start: datetime = block["DTSTART"].dt
        assert start.tzinfo is None  # local time, read with TZOFFSETFROM
        before: timedelta = block["TZOFFSETFROM"].td
        after: timedelta = block["TZOFFSETTO"].td
        local_onsets = [start]
        if "RRULE" in block:
            parts = dict(p.split("=", 1) for p in block["RRULE"].to_ical().decode().split(";"))
            if "UNTIL" in parts:  # RFC 5545: UTC in VTIMEZONE; dateutil wants it local here
                assert parts["UNTIL"].endswith("Z")
                utc_until = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ")
                parts["UNTIL"] = (utc_until + before).strftime("%Y%m%dT%H%M%S")
            rule = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=start)
            local_onsets = list(rule.between(start, until + before, inc=True))
            assert local_onsets[0] == start, f"{block['TZNAME']}: DTSTART is off its RRULE"
        onsets += [Onset(local - before, after, str(block["TZNAME"])) for local in local_onsets]
    return sorted(onsets, key=lambda onset: onset.at)


@cache
def reader(tzid: str, first: date) -> tuple[list[datetime], list[Onset]]:
    end = datetime.combine(default_last(first), datetime.min.time()) + timedelta(days=2)
    onsets = read_onsets(vtimezone(tzid, first), end)
    return [onset.at for onset in onsets], onsets


def from_vtimezone(tzid: str, first: date, instant: datetime) -> tuple[timedelta, str]:
    times, onsets = reader(tzid, first)
    index = bisect.bisect_right(times, instant.replace(tzinfo=None)) - 1
    assert index >= 0, f"{instant} is before the first onset {times[0]}"
    return onsets[index].offset, onsets[index].name


def from_zoneinfo(tzid: str, instant: datetime) -> tuple[timedelta, str]:
    local = instant.astimezone(ZoneInfo(tzid))
    offset = local.utcoffset()
    assert offset is not None
    return offset, local.tzname() or ""


def covered(first: date) -> tuple[datetime, datetime]:
    """The UTC instants every zone's local dates first..default_last(first) span."""
    start = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=14)
    end = datetime.combine(default_last(first), datetime.min.time(), UTC) - timedelta(hours=14)
    return start, end


@pytest.mark.parametrize(("tzid", "first"), CASES)
def test_offsets_match_zoneinfo_every_12_hours_and_at_each_transition(
    tzid: str, first: date
) -> None:
    start, end = covered(first)
    step = timedelta(hours=12)
    instant, previous = start, from_zoneinfo(tzid, start)
    checked = 0
    while instant <= end:
        expected = from_zoneinfo(tzid, instant)
        assert from_vtimezone(tzid, first, instant) == expected, instant
        if expected[0] != previous[0]:  # zoneinfo changed: check both sides of the second
            low, high = instant - step, instant
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (
                    (middle, high) if from_zoneinfo(tzid, middle) == previous else (low, middle)
                )
            for probe in (low, high):
                assert from_vtimezone(tzid, first, probe) == from_zoneinfo(tzid, probe), probe
            checked += 1
        previous = expected
        instant += step
    if tzid in ("Europe/Paris", "America/New_York", "Australia/Sydney"):
        assert checked >= 2 * DEFAULT_YEARS  # the loop really crossed the transitions


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(CASES),
    fraction=st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_offset_at_random_instants(case: tuple[str, date], fraction: float) -> None:
    tzid, first = case
    start, end = covered(first)
    instant = start + (end - start) * fraction
    assert from_vtimezone(tzid, first, instant) == from_zoneinfo(tzid, instant)


@settings(max_examples=40, deadline=None)
@given(
    tzid=st.sampled_from(["America/New_York", "Australia/Sydney", "America/Sao_Paulo"]),
    first=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    fraction=st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_offset_at_random_instants_for_random_first_dates(
    tzid: str, first: date, fraction: float
) -> None:
    start, end = covered(first)
    instant = start + (end - start) * fraction
    assert from_vtimezone(tzid, first, instant) == from_zoneinfo(tzid, instant)


def written(value: object) -> str:
    raw = value.to_ical()  # type: ignore[attr-defined]
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def blocks(component: Timezone) -> list[tuple[str, str, str, str, str]]:
    """(kind, DTSTART, TZOFFSETFROM, TZOFFSETTO, RRULE) per block, as written."""
    return [
        (
            block.name,
            written(block["DTSTART"]),
            written(block["TZOFFSETFROM"]),
            written(block["TZOFFSETTO"]),
            written(block["RRULE"]) if "RRULE" in block else "",
        )
        for block in component.subcomponents
    ]


def test_paris_is_two_open_last_sunday_rules_from_the_one_in_force() -> None:
    assert blocks(vtimezone("Europe/Paris", date(2024, 7, 1))) == [
        ("DAYLIGHT", "20240331T020000", "+0100", "+0200", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
        ("STANDARD", "20241027T030000", "+0200", "+0100", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
    ]


def test_new_york_from_2005_ends_the_old_rules_with_utc_until() -> None:
    assert blocks(vtimezone("America/New_York", date(2005, 1, 1))) == [
        (
            "STANDARD",
            "20041031T020000",
            "-0400",
            "-0500",
            "FREQ=YEARLY;UNTIL=20061029T060000Z;BYDAY=-1SU;BYMONTH=10",
        ),
        (
            "DAYLIGHT",
            "20050403T020000",
            "-0500",
            "-0400",
            "FREQ=YEARLY;UNTIL=20060402T070000Z;BYDAY=1SU;BYMONTH=4",
        ),
        ("DAYLIGHT", "20070311T020000", "-0500", "-0400", "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3"),
        ("STANDARD", "20071104T020000", "-0400", "-0500", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11"),
    ]


def test_sydney_summer_starts_in_october() -> None:
    kinds = {
        kind: rule
        for kind, _, _, _, rule in blocks(vtimezone("Australia/Sydney", date(2024, 1, 1)))
    }
    assert kinds == {
        "STANDARD": "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4",
        "DAYLIGHT": "FREQ=YEARLY;BYDAY=1SU;BYMONTH=10",
    }


def test_kolkata_without_dst_is_one_standard_block() -> None:
    component = vtimezone("Asia/Kolkata", date(2024, 1, 1))
    assert blocks(component) == [("STANDARD", "19451015T000000", "+0630", "+0530", "")]
    assert str(component.subcomponents[0]["TZNAME"]) == "IST"


def test_utc_gets_one_block_with_a_synthetic_onset() -> None:
    assert blocks(vtimezone("UTC", date(2024, 1, 1))) == [
        ("STANDARD", "19700101T000000", "+0000", "+0000", "")
    ]


def test_moscow_keeps_no_open_rule_after_dst_ended() -> None:
    found = blocks(vtimezone("Europe/Moscow", date(2009, 6, 1)))
    assert all("UNTIL=" in rule for *_, rule in found if rule)
    assert found[-2:] == [
        ("STANDARD", "20110327T020000", "+0300", "+0400", ""),
        ("STANDARD", "20141026T020000", "+0400", "+0300", ""),
    ]


def test_sao_paulo_rules_all_end_in_2019() -> None:
    found = blocks(vtimezone("America/Sao_Paulo", date(2015, 1, 1)))
    rules = [rule for *_, rule in found if rule]
    assert rules and all("UNTIL=" in rule for rule in rules)
    assert "UNTIL=20190217T020000Z" in rules[-1]


def test_jerusalem_friday_on_or_after_the_23rd() -> None:
    found = blocks(vtimezone("Asia/Jerusalem", date(2024, 1, 1)))
    assert ("FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29;BYMONTH=3") in [
        rule for *_, rule in found
    ]


def test_first_after_the_last_rule_change_gives_only_the_current_rule() -> None:
    found = blocks(vtimezone("America/New_York", date(2024, 1, 1)))
    assert [rule for *_, rule in found] == [
        "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
        "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
    ]


def test_explicit_last_ends_old_rules_that_end_before_it() -> None:
    found = blocks(vtimezone("America/Sao_Paulo", date(2010, 1, 1), date(2012, 12, 31)))
    assert found and all(f[1] < "2016" for f in found)


def test_each_call_returns_a_fresh_equal_component() -> None:
    one = vtimezone("Europe/Paris", date(2024, 1, 1))
    one.subcomponents.clear()
    two = vtimezone("Europe/Paris", date(2024, 1, 1))
    assert len(two.subcomponents) == 2
    assert two.to_ical() == vtimezone("Europe/Paris", date(2024, 1, 1)).to_ical()


def test_default_last_is_30_years_and_at_least_through_2038() -> None:
    assert default_last(date(2005, 6, 1)) == date(2038, 12, 31)
    assert default_last(date(2024, 6, 1)) == date(2054, 12, 31)


@pytest.mark.parametrize("tzid", ["Mars/Olympus_Mons", "", "../etc/passwd", "America"])
def test_unknown_zone_is_zoneinfo_not_found(tzid: str) -> None:
    with pytest.raises(ZoneInfoNotFoundError):
        vtimezone(tzid, date(2024, 1, 1))


def test_last_before_first_is_refused() -> None:
    with pytest.raises(ValueError, match="vtimezone Europe/Paris: last 2023-01-01 is before"):
        vtimezone("Europe/Paris", date(2024, 1, 1), date(2023, 1, 1))


def test_icalendar_reads_the_same_offsets() -> None:
    """A second, independent reader: icalendar's own VTIMEZONE -> tzinfo."""
    zone = vtimezone("America/New_York", date(2005, 1, 1)).to_tz()
    for year in (2005, 2006, 2007, 2030):
        for month in (1, 3, 4, 7, 10, 11, 12):
            for day in (1, 8, 15, 28):
                wall = datetime(year, month, day, 12)
                expected = wall.replace(tzinfo=ZoneInfo("America/New_York")).utcoffset()
                assert wall.replace(tzinfo=zone).utcoffset() == expected, wall


@pytest.mark.parametrize("first", [date(1, 1, 1), date(1850, 1, 1), date(9999, 12, 31)])
def test_absurd_dates_still_give_a_vtimezone(first: date) -> None:
    component = vtimezone("Europe/Paris", first)
    rules = [written(block["RRULE"]) for block in component.subcomponents if "RRULE" in block]
    assert set(rules[-2:]) == {
        "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
    }


def _cold(tzid: str, first: date) -> bytes:
    """The VTIMEZONE computed with nothing kept: each range scanned afresh."""
    vtz_module._SCANS.clear()
    vtz_module._HISTORY.clear()
    vtz_module._blocks.cache_clear()
    vtz_module._blocks_from.cache_clear()
    return bytes(vtimezone(tzid, first).to_ical())


@pytest.mark.parametrize("tzid", [case[0] for case in CASES])
def test_a_vtimezone_read_from_a_kept_scan_is_the_one_a_fresh_scan_gives(tzid: str) -> None:
    firsts = [date(2019, 12, 20) + timedelta(days=d) for d in range(0, 900, 250)]
    expected = {first: _cold(tzid, first) for first in firsts}
    vtz_module._SCANS.clear()
    vtz_module._HISTORY.clear()
    vtz_module._blocks.cache_clear()
    vtz_module._blocks_from.cache_clear()
    for first in [*firsts, *reversed(firsts)]:  # kept scans, extended and started earlier
        assert bytes(vtimezone(tzid, first).to_ical()) == expected[first], first


@pytest.mark.parametrize("tzid", ["Europe/Paris", "UTC", "Asia/Kolkata"])
def test_a_thousand_first_dates_of_one_zone_scan_it_once(
    tzid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each event of a calendar has its own first date, so its own range: scanned day by
    # day each time, 1,000 CalDAV events of one zone took seconds to render (a zone
    # without recent changes, as UTC or Kolkata, was also scanned back to its last one).
    vtz_module._SCANS.clear()
    vtz_module._HISTORY.clear()
    vtz_module._blocks.cache_clear()
    vtz_module._blocks_from.cache_clear()
    calls = 0
    state = vtz_module._state

    def counted(zone: ZoneInfo, instant: datetime) -> object:
        nonlocal calls
        calls += 1
        return state(zone, instant)

    monkeypatch.setattr(vtz_module, "_state", counted)
    for day in range(1000):
        vtimezone(tzid, date(2025, 1, 6) + timedelta(days=day))
    assert calls < 200_000  # one scan of ~40 years is ~15,000 steps; 1,000 were 13.6 million

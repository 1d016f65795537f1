"""The fast DATE / zoned DATE-TIME line equals icalendar's own rendering."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import given
from hypothesis import strategies as st
from icalendar.prop import vDDDTypes

from icsbridge.converters.ical.text import _fast_time_line

ZONES = sorted(available_timezones())


def _icalendar_line(name: str, value: vDDDTypes) -> str:
    params = value.params.to_ical(sorted=True).decode()
    head = f"{name};{params}" if params else name
    return f"{head}:{value.to_ical().decode()}"


@given(
    st.sampled_from(["DTSTART", "DTEND", "RECURRENCE-ID"]),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.sampled_from(ZONES),
    st.booleans(),
)
def test_fast_line_matches_icalendar(name: str, naive: datetime, zone: str, as_date: bool) -> None:
    naive = naive.replace(microsecond=0)
    value = vDDDTypes(naive.date() if as_date else naive.replace(tzinfo=ZoneInfo(zone)))
    fast = _fast_time_line(name, value)
    if as_date or value.params.get("TZID") == zone:
        assert fast is not None  # the shapes it exists for take it
    if fast is not None:
        assert fast == _icalendar_line(name, value)


def test_other_shapes_take_the_general_path() -> None:
    utc = vDDDTypes(datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("UTC")))
    assert _fast_time_line("DTSTART", utc) is None or _fast_time_line(
        "DTSTART", utc
    ) == _icalendar_line("DTSTART", utc)
    floating = vDDDTypes(datetime(2026, 1, 1, 9))
    assert _fast_time_line("DTSTART", floating) is None
    odd = vDDDTypes(date(2026, 1, 1))
    odd.params["X-FOO"] = "bar"
    assert _fast_time_line("DTSTART", odd) is None

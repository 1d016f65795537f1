"""Whatever events a converter hands over, the assembled feed passes validate_feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Event

from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event, validate_feed
from icsbridge.converters.ical.model import CalendarMeta

ZONES = ["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", ""]
META = CalendarMeta(key="k", name="Random", timezone="Europe/Paris")


@st.composite
def events(draw: st.DrawFn, index: int) -> Event:
    zone_name = draw(st.sampled_from(ZONES))
    day = draw(st.dates(min_value=date(1995, 1, 1), max_value=date(2045, 12, 31)))
    event = Event()
    event.add("summary", draw(st.text(max_size=120)))
    event.add("description", draw(st.text(max_size=60)))
    if zone_name:
        zone = ZoneInfo(zone_name)
        clock = draw(st.times(max_value=time(22, 0))).replace(microsecond=0)
        start: date = datetime.combine(day, clock, zone)
        length = timedelta(minutes=draw(st.integers(min_value=1, max_value=600)))
        exdate: date = datetime.combine(day + timedelta(days=7), clock, zone)
    else:
        start, length, exdate = day, timedelta(days=1), day + timedelta(days=7)
    event.add("dtstart", start)
    if draw(st.booleans()):
        event.add("dtend", start + length)
    else:
        event.add("duration", length)
    rule = draw(st.sampled_from(["none", "until-date", "until-aware", "count"]))
    if rule == "until-date":
        event.add("rrule", {"freq": "weekly", "until": day + timedelta(days=70)})
    elif rule == "until-aware":
        until = datetime.combine(day + timedelta(days=30), time(12), ZoneInfo("Asia/Tokyo"))
        event.add("rrule", {"freq": "daily", "until": until})
    elif rule == "count":
        event.add("rrule", {"freq": "weekly", "count": 5})
    if rule != "none":
        event.add("exdate", exdate)
    modified = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=index)
    return finalize_event(event, Stamp(f"event-{index}@random", modified, index % 3))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), count=st.integers(min_value=0, max_value=6))
def test_assembled_feeds_pass_validation(data: st.DataObject, count: int) -> None:
    built = [data.draw(events(index)) for index in range(count)]
    feed = assemble(META, built)
    assert validate_feed(feed) == []
    assert assemble(META, list(reversed(built))) == feed

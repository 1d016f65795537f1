"""calendar-query filters read the events without their VTIMEZONEs (a VTIMEZONE per event
costs milliseconds): they must pick exactly the events the full files would."""

from __future__ import annotations

import asyncio
from datetime import UTC
from xml.etree import ElementTree as ET

import pytest
from support.push_world import PushWorld
from xandikos import caldav as xcaldav
from xandikos.icalendar import CalendarFilter, ICalendarFile

from icsbridge.converters.ical.assembly import RenderedEvent
from icsbridge.daemon.caldav.view import Member
from icsbridge.daemon.sync.pull import RenderedCalendar

RANGES = [
    ("20261201T000000Z", "20270101T000000Z"),
    ("20250101T000000Z", "20250601T000000Z"),
    ("20260501T000000Z", "20260502T000000Z"),
    ("20270301T000000Z", "20280301T000000Z"),
]


def _filter(start: str, end: str) -> CalendarFilter:
    c = "urn:ietf:params:xml:ns:caldav"
    root = ET.fromstring(
        f'<C:filter xmlns:C="{c}"><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter>'
    )
    return xcaldav.parse_filter(root, CalendarFilter(UTC))


def _calendars(world_calendars: list[RenderedCalendar]) -> list[Member]:
    members = []
    for cal in world_calendars:
        by_uid: dict[str, list[RenderedEvent]] = {}
        for event in cal.events:
            by_uid.setdefault(event.uid, []).append(event)
        members += [Member(uid, cal.meta, events) for uid, events in by_uid.items()]
    return members


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_a_time_range_picks_the_same_events_from_the_bare_and_the_full_bytes(
    start: str, end: str, demo_calendars: list[RenderedCalendar]
) -> None:
    members = _calendars(demo_calendars)
    assert len(members) > 20
    query = _filter(start, end)
    bare = [m.uid for m in members if query.check(m.uid, ICalendarFile([m.bare], "text/calendar"))]
    full = [m.uid for m in members if query.check(m.uid, ICalendarFile([m.data], "text/calendar"))]
    assert bare == full
    assert full or start.startswith("2027"), "the range should hold events of the demo"


@pytest.fixture(scope="module")
def demo_calendars(tmp_path_factory: pytest.TempPathFactory) -> list[RenderedCalendar]:
    """Every calendar of the Webex demo org, rendered as a sync renders it."""

    async def sync() -> list[RenderedCalendar]:
        async with PushWorld(tmp_path_factory.mktemp("query"), "webex") as world:
            return list((await world.sync()).values())

    return asyncio.run(sync())

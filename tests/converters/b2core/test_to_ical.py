"""B2CORE events -> VEVENTs: times, alarms, attendees, and the feed they make."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Event
from support import paths

from icsbridge.converters.b2core.convert import Organizer, to_vevent, to_vevents
from icsbridge.converters.b2core.models import B2coreEvent, parse_event
from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event, validate_feed
from icsbridge.converters.ical.model import CalendarMeta

FIXTURES = paths.FIXTURES / "b2core"
PARIS = ZoneInfo("Europe/Paris")
ORGANIZER = Organizer("noreply@bo.example")


def fixture_event(**changes: Any) -> B2coreEvent:
    data = json.loads((FIXTURES / "event.json").read_text())
    data.update(changes)
    return parse_event(data, where="test")


def lines(component: Event) -> list[str]:
    stamped = finalize_event(component, Stamp("uid-1@test", datetime(2025, 1, 1, tzinfo=UTC)))
    feed = assemble(CalendarMeta(key="bo/events", name="B2CORE"), [stamped])
    assert validate_feed(feed) == []
    text = feed.decode()
    body = text[text.index("BEGIN:VEVENT") : text.index("END:VEVENT")]
    return body.split("\r\n")


def test_event_in_the_source_zone_keeps_its_tzid() -> None:
    converted = to_vevent(fixture_event(), tz=PARIS, organizer=ORGANIZER)
    assert converted.native_key == "42"
    assert lines(converted.component) == [
        "BEGIN:VEVENT",
        "UID:uid-1@test",
        "DTSTAMP:20250101T000000Z",
        "LAST-MODIFIED:20250101T000000Z",
        "DTSTART;TZID=Europe/Paris:20250303T140000",
        "DTEND;TZID=Europe/Paris:20250303T150000",
        "SUMMARY:KYC review: ACME Trading Ltd",
        "DESCRIPTION:Check UBO declarations\\; escalate to the MLRO\\, if needed.",
        "ATTENDEE:mailto:anna.keller@broker.example",
        "ATTENDEE:mailto:marco.rossi@broker.example",
        'ORGANIZER;CN="B2CORE Back Office":mailto:noreply@bo.example',
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-P1D",
        "DESCRIPTION:KYC review: ACME Trading Ltd",
        "END:VALARM",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT2H",
        "DESCRIPTION:KYC review: ACME Trading Ltd",
        "END:VALARM",
        "",
    ]


def test_other_offsets_and_no_zone_give_utc() -> None:
    dubai = fixture_event(
        startDate="2025-03-22T13:00:00+04:00", endDate="2025-03-22T14:00:00+04:00"
    )
    for event, tz in ((dubai, PARIS), (fixture_event(), None)):
        component = to_vevent(event, tz=tz, organizer=ORGANIZER).component
        start, end = component["DTSTART"].dt, component["DTEND"].dt
        assert (start.tzinfo, end.tzinfo) == (UTC, UTC)
        assert (start, end) == (event.startDate, event.endDate)  # the same instants


def test_offset_matching_only_in_winter_is_not_read_as_the_zone() -> None:
    # +01:00 in July is not Paris (CEST is +02:00): UTC, never a shifted wall time.
    july = fixture_event(startDate="2025-07-01T09:00:00+01:00", endDate="2025-07-01T10:00:00+01:00")
    component = to_vevent(july, tz=PARIS, organizer=ORGANIZER).component
    assert component["DTSTART"].dt == datetime(2025, 7, 1, 8, 0, tzinfo=UTC)


def test_zero_length_event_has_no_dtend() -> None:
    deadline = fixture_event(endDate="2025-03-03T14:00:00+01:00")
    component = to_vevent(deadline, tz=PARIS, organizer=ORGANIZER).component
    assert "DTEND" not in component and "DURATION" not in component


def test_no_recipients_no_organizer_and_no_empty_description() -> None:
    bare = fixture_event(recipients=[], description="", notifications=[])
    component = to_vevent(bare, tz=PARIS, organizer=ORGANIZER).component
    for name in ("ORGANIZER", "ATTENDEE", "DESCRIPTION"):
        assert name not in component
    assert component.subcomponents == []


def test_absolute_notification_is_a_utc_trigger() -> None:
    event = fixture_event(notifications=["2025-03-03T09:00:00+01:00"])
    assert "TRIGGER;VALUE=DATE-TIME:20250303T080000Z" in lines(
        to_vevent(event, tz=PARIS, organizer=ORGANIZER).component
    )


def test_events_are_ordered_by_numeric_id_and_hints_ignore_the_caption() -> None:
    events = [fixture_event(id=n, caption=f"Meeting {n}") for n in (10, 9, 100)]
    converted = to_vevents(events, tz=PARIS, organizer=ORGANIZER)
    assert [c.native_key for c in converted] == ["9", "10", "100"]
    assert len({c.rename_hint for c in converted}) == 1  # only the captions differ
    moved = fixture_event(id=9, startDate="2025-03-03T15:00:00+01:00")
    assert to_vevent(moved, tz=PARIS, organizer=ORGANIZER).rename_hint != converted[0].rename_hint

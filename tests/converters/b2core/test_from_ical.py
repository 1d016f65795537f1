"""VEVENTs -> B2CORE write payloads, and every refusal with its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event
from support import paths

from icsbridge.converters.b2core.convert import Organizer, from_vevent
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.upload.read import parse_upload

FIXTURES = paths.FIXTURES / "b2core"
PARIS = ZoneInfo("Europe/Paris")
ORGANIZER = Organizer("noreply@bo.example")


def fixture_vevent(name: str) -> Event:
    calendar = Calendar.from_ical((FIXTURES / name).read_bytes())
    event: Event = calendar.walk("VEVENT")[0]
    return event


def vevent(*lines: str) -> Event:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:u1@test"]
    body = "\r\n".join([*head, *lines, "END:VEVENT", "END:VCALENDAR", ""])
    event: Event = Calendar.from_ical(body).walk("VEVENT")[0]
    return event


def refusal(event: Event, tz: ZoneInfo | None = PARIS) -> str:
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(event, tz=tz, organizer=ORGANIZER)
    return str(caught.value)


def test_an_event_edited_in_a_calendar_app() -> None:
    payload = from_vevent(fixture_vevent("edited_in_app.ics"), tz=None, organizer=ORGANIZER)
    assert payload.to_wire() == {
        "caption": "KYC review: ACME Trading Ltd",
        "description": "Moved by an hour; now 90 minutes.",
        "startDate": "2025-03-03T15:00:00+01:00",
        "endDate": "2025-03-03T16:30:00+01:00",
        # -PT2H from the END of a 90-minute event is 30 minutes before the start.
        "notifications": ["PT30M", "PT15M"],
        # The organizer, listed as an attendee by the app, is not a recipient.
        "recipients": ["anna.keller@broker.example"],
    }
    assert payload.id is None


def test_recurrence_parts_are_refused_by_name() -> None:
    assert refusal(fixture_vevent("recurring.ics")) == (
        "event weekly-standup@test: B2CORE calendar event cannot hold: "
        "RRULE (B2CORE events do not repeat; each occurrence would need its own event); "
        "RDATE (B2CORE events do not repeat); EXDATE (B2CORE events do not repeat)"
    )


def test_an_override_of_one_occurrence_is_refused() -> None:
    event = vevent("DTSTART:20250303T090000Z", "RECURRENCE-ID:20250303T090000Z", "SUMMARY:Stand-up")
    assert refusal(event) == (
        "event u1@test: B2CORE calendar event cannot hold: RECURRENCE-ID (an override of one "
        "occurrence; B2CORE events do not repeat)"
    )


def test_all_day_is_refused() -> None:
    assert refusal(fixture_vevent("all_day.ics")) == (
        "event holiday@test: B2CORE calendar event cannot hold: all-day DTSTART;VALUE=DATE "
        "(B2CORE has no all-day events; give a start time)"
    )


def test_floating_time_needs_a_zone() -> None:
    event = vevent("DTSTART:20250303T090000", "DTEND:20250303T100000", "SUMMARY:Call")
    assert refusal(event, tz=None) == (
        "event u1@test: B2CORE calendar event cannot hold: floating DTSTART 2025-03-03T09:00:00 "
        "(no TZID, no Z) and no timezone for this source to read it in"
    )
    read = from_vevent(event, tz=PARIS)
    assert read.to_wire()["startDate"] == "2025-03-03T09:00:00+01:00"


@pytest.mark.parametrize(
    ("lines", "part"),
    [
        (("DTSTART:20250303T090000Z",), "missing SUMMARY (a B2CORE event needs a caption)"),
        (("SUMMARY:x",), "missing DTSTART"),
        (
            ("DTSTART:20250303T090000Z", "DTEND:20250303T080000Z", "SUMMARY:x"),
            "DTEND before DTSTART",
        ),
        (
            ("DTSTART:20250303T090000Z", "DTEND;VALUE=DATE:20250304", "SUMMARY:x"),
            "DTEND is a date but DTSTART a date-time",
        ),
        (
            ("DTSTART:20250303T090000Z", "ATTENDEE:urn:uuid:123", "SUMMARY:x"),
            "ATTENDEE urn:uuid:123 (B2CORE recipients are e-mail addresses, mailto:)",
        ),
        (
            (
                "DTSTART:20250303T090000Z",
                "SUMMARY:x",
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                "TRIGGER:PT10M",
                "END:VALARM",
            ),
            "VALARM PT10M after the start (B2CORE notifications come before the start)",
        ),
    ],
)
def test_other_refusals(lines: tuple[str, ...], part: str) -> None:
    assert refusal(vevent(*lines)) == f"event u1@test: B2CORE calendar event cannot hold: {part}"


def test_every_problem_is_listed_at_once() -> None:
    event = vevent("DTSTART;VALUE=DATE:20250501", "RRULE:FREQ=YEARLY", "ATTENDEE:tel:+331234")
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(event, tz=PARIS)
    assert caught.value.parts == [
        "missing SUMMARY (a B2CORE event needs a caption)",
        "RRULE (B2CORE events do not repeat; each occurrence would need its own event)",
        "all-day DTSTART;VALUE=DATE (B2CORE has no all-day events; give a start time)",
        "ATTENDEE tel:+331234 (B2CORE recipients are e-mail addresses, mailto:)",
    ]


def test_no_dtend_is_zero_length_and_duration_days_are_calendar_days() -> None:
    deadline = from_vevent(vevent("DTSTART:20250303T170000Z", "SUMMARY:Report due"), tz=None)
    assert deadline.endDate == deadline.startDate
    # One DURATION day across the spring change in Paris is 23 hours.
    spring = from_vevent(
        vevent("DTSTART;TZID=Europe/Paris:20250329T120000", "DURATION:P1D", "SUMMARY:x"),
        tz=None,
    )
    assert spring.duration == timedelta(hours=23)


def test_absolute_trigger_is_kept() -> None:
    event = vevent(
        "DTSTART:20250303T090000Z",
        "SUMMARY:x",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER;VALUE=DATE-TIME:20250302T080000Z",
        "END:VALARM",
    )
    assert from_vevent(event, tz=None).notifications == [datetime(2025, 3, 2, 8, tzinfo=UTC)]


def test_an_absolute_trigger_in_year_one_is_refused_in_one_line_not_an_overflow() -> None:
    # A damaged Apple alarm (TRIGGER:00010101T000000) overflowed B2CORE's wire model
    # ("date value out of range", a bare exception) instead of a refusal.
    upload = parse_upload((paths.FIXTURES / "ics/upload_alarm_year_one.ics").read_bytes())
    (event,) = upload.values()
    text = refusal(event.component)
    assert "VALARM TRIGGER 0001-01-01T00:00:00" in text
    assert "is outside the years 1000-8999" in text
    assert "\n" not in text

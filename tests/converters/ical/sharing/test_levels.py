"""Detail levels on one rendered event: what each level keeps, and the UIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Alarm, Event, vCalAddress

from icsbridge.converters.ical.assembly import RenderedEvent, Stamp, prepare, stamp_prepared
from icsbridge.converters.ical.sharing.levels import Level, share_event, shared_uid

PARIS = ZoneInfo("Europe/Paris")
STAMP = Stamp("meeting-1@icsbridge", datetime(2026, 3, 1, tzinfo=UTC))


def rendered(categories: str = "Meeting") -> RenderedEvent:
    event = Event()
    event.add("summary", "Contract review with ACME")
    event.add("dtstart", datetime(2026, 3, 2, 9, tzinfo=PARIS))
    event.add("dtend", datetime(2026, 3, 2, 10, tzinfo=PARIS))
    event.add("rrule", {"FREQ": "WEEKLY", "COUNT": 4})
    event.add("description", "Bring the signed copy")
    event.add("location", "Room 4")
    event.add("categories", [categories])
    event.add("transp", "OPAQUE")
    event.add("x-wordbee-reference", "P-17")
    attendee = vCalAddress("mailto:anna@example.com")
    attendee.params["CN"] = "Anna"
    event.add("attendee", attendee)
    event.add("organizer", vCalAddress("mailto:boss@example.com"))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", "Soon")
    alarm.add("trigger", datetime(2026, 3, 2, 8, tzinfo=UTC))
    event.add_component(alarm)
    return stamp_prepared(prepare(event), STAMP)


def names(event: RenderedEvent) -> list[str]:
    return [line.split(":")[0].split(";")[0] for line in event.lines]


def test_full_with_attendees_is_the_event_itself() -> None:
    event = rendered()
    assert share_event(event, Level("full", attendees=True)) is event


def test_full_without_attendees_drops_attendee_and_organizer_only() -> None:
    event = rendered()
    shared = share_event(event, Level("full"))
    assert [n for n in names(event) if n not in ("ATTENDEE", "ORGANIZER")] == names(shared)
    assert shared.uid == event.uid
    assert b"anna@example.com" not in shared.data and b"boss@" not in shared.data


def test_limited_keeps_summary_times_recurrence_location_categories() -> None:
    shared = share_event(rendered(), Level("limited"))
    assert names(shared) == [
        "BEGIN", "UID", "DTSTAMP", "LAST-MODIFIED", "DTSTART", "DTEND", "RRULE", "SUMMARY",
        "LOCATION", "CATEGORIES", "TRANSP", "END",
    ]  # fmt: skip
    assert "SUMMARY:Contract review with ACME" in shared.lines
    for gone in (b"DESCRIPTION", b"ATTENDEE", b"ORGANIZER", b"VALARM", b"X-WORDBEE"):
        assert gone not in shared.data


def test_availability_shows_a_fixed_summary_and_the_times() -> None:
    shared = share_event(rendered(), Level("availability"))
    assert names(shared) == [
        "BEGIN", "UID", "DTSTAMP", "LAST-MODIFIED", "DTSTART", "DTEND", "RRULE", "SUMMARY",
        "TRANSP", "END",
    ]  # fmt: skip
    assert "SUMMARY:Busy" in shared.lines
    assert b"ACME" not in shared.data and b"Room 4" not in shared.data
    custom = share_event(rendered(), Level("availability", summary="Taken; sorry"))
    assert "SUMMARY:Taken\\; sorry" in custom.lines


def test_availability_of_business_hours_says_open() -> None:
    shared = share_event(rendered("Business hours"), Level("availability"))
    assert "SUMMARY:Open" in shared.lines


def test_uids_below_full_differ_from_the_full_ones_and_from_each_other() -> None:
    event = rendered()
    limited = share_event(event, Level("limited"))
    availability = share_event(event, Level("availability"))
    assert len({event.uid, limited.uid, availability.uid}) == 3
    assert (
        limited.uid == shared_uid(event.uid, "limited") == share_event(event, Level("limited")).uid
    )
    assert f"UID:{limited.uid}" in limited.lines
    assert limited.recurrence_key == event.recurrence_key


def test_an_email_alarm_goes_with_the_attendees_it_names() -> None:
    event = Event()
    event.add("summary", "Review")
    event.add("dtstart", datetime(2026, 3, 2, 9, tzinfo=PARIS))
    for action in ("DISPLAY", "EMAIL"):
        alarm = Alarm()
        alarm.add("action", action)
        alarm.add("description", f"{action} reminder")
        alarm.add("trigger", datetime(2026, 3, 2, 8, tzinfo=UTC))
        if action == "EMAIL":
            alarm.add("summary", "Soon")
            alarm.add("attendee", vCalAddress("mailto:anna@example.com"))
        event.add_component(alarm)
    full = stamp_prepared(prepare(event), STAMP)
    shared = share_event(full, Level("full"))
    assert b"DISPLAY reminder" in shared.data
    assert b"EMAIL" not in shared.data and b"anna@" not in shared.data
    assert share_event(full, Level("full", attendees=True)) is full
    assert shared.lines.count("BEGIN:VALARM") == shared.lines.count("END:VALARM") == 1

"""Calendar assembly: identity stamps, content hashes and deterministic feed bytes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event
from support import paths

import icsbridge.converters.ical.assembly as calendar_module
from icsbridge.converters.ical.assembly import (
    Stamp,
    assemble,
    content_hash,
    duration_text,
    finalize_event,
    validate_feed,
)
from icsbridge.converters.ical.model import CalendarMeta

FIXTURES = paths.FIXTURES / "ics"
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MODIFIED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
META = CalendarMeta(
    key="webex/office",
    name="Office hours",
    description="Front desk, floor 2",
    timezone="Europe/Paris",
)


def weekly(summary: str = "Office hours") -> Event:
    event = Event()
    event.add("summary", summary)
    event.add("dtstart", datetime(2024, 3, 4, 9, 0, tzinfo=PARIS))
    event.add("dtend", datetime(2024, 3, 4, 17, 0, tzinfo=PARIS))
    event.add("rrule", {"freq": "weekly", "byday": ["MO", "TU"]})
    return event


def holiday() -> Event:
    event = Event()
    event.add("summary", "Christmas")
    event.add("dtstart", date(2024, 12, 25))
    event.add("dtend", date(2024, 12, 26))
    event.add("rrule", {"freq": "yearly"})
    return event


def stamped(event: Event, uid: str, sequence: int = 0) -> Event:
    return finalize_event(event, Stamp(uid, MODIFIED, sequence))


def lines_of(data: bytes) -> list[str]:
    """Unfolded lines of a feed."""
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


# --- Stamp and finalize_event -------------------------------------------------


def test_stamp_stores_modified_in_utc() -> None:
    stamp = Stamp("a@x", datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))))
    assert stamp.modified == MODIFIED
    assert stamp.modified.tzinfo is UTC


@pytest.mark.parametrize(
    ("uid", "modified", "sequence", "message"),
    [
        ("", MODIFIED, 0, "Stamp.uid is empty"),
        (
            "a@x",
            datetime(2024, 1, 1),
            0,
            "Stamp a@x: modified 2024-01-01 00:00:00 has no time zone",
        ),
        ("a@x", MODIFIED, -1, "Stamp a@x: sequence -1 is negative"),
    ],
)
def test_stamp_refuses_bad_values(
    uid: str, modified: datetime, sequence: int, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Stamp(uid, modified, sequence)


def test_finalize_sets_identity_from_the_stamp() -> None:
    event = stamped(weekly(), "office@icsbridge", 3)
    lines = event.to_ical().decode().split("\r\n")
    assert "UID:office@icsbridge" in lines
    assert "DTSTAMP:20240102T030405Z" in lines
    assert "LAST-MODIFIED:20240102T030405Z" in lines
    assert "SEQUENCE:3" in lines


def test_finalize_writes_no_sequence_zero_and_replaces_old_identity() -> None:
    source = weekly()
    source.add("uid", "old@x")
    source.add("sequence", 7)
    source.add("dtstamp", datetime(2020, 1, 1, tzinfo=UTC))
    event = stamped(source, "new@x", 0)
    assert str(event["UID"]) == "new@x"
    assert "SEQUENCE" not in event
    assert event["DTSTAMP"].dt == MODIFIED
    assert str(source["UID"]) == "old@x"  # the input is not touched


def test_finalize_drops_empty_text_properties() -> None:
    source = weekly()
    source.add("description", "")
    source.add("location", "")
    source.add("comment", "")
    source.add("comment", "kept")
    event = stamped(source, "a@x")
    assert "DESCRIPTION" not in event
    assert "LOCATION" not in event
    assert str(event["COMMENT"]) == "kept"


# --- content_hash -------------------------------------------------------------


def test_hash_ignores_property_order_and_repeated_property_order() -> None:
    one, two = Event(), Event()
    one.add("summary", "Office")
    one.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=PARIS))
    one.add("exdate", datetime(2024, 3, 11, 9, tzinfo=PARIS))
    one.add("exdate", datetime(2024, 3, 18, 9, tzinfo=PARIS))
    one.add("attendee", "mailto:a@example.com")
    one.add("attendee", "mailto:b@example.com")
    two.add("attendee", "mailto:b@example.com")
    two.add("exdate", datetime(2024, 3, 18, 9, tzinfo=PARIS))
    two.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=PARIS))
    two.add("attendee", "mailto:a@example.com")
    two.add("exdate", datetime(2024, 3, 11, 9, tzinfo=PARIS))
    two.add("summary", "Office")
    assert content_hash(one) == content_hash(two)


def test_hash_ignores_identity_and_empty_text() -> None:
    source = weekly()
    bare = content_hash(source)
    assert content_hash(stamped(source, "a@x", 4)) == bare
    assert content_hash(finalize_event(source, Stamp("b@y", MODIFIED + timedelta(1)))) == bare
    with_empty = weekly()
    with_empty.add("description", "")
    assert content_hash(with_empty) == bare


def test_hash_changes_with_content() -> None:
    assert content_hash(weekly("Office hours")) != content_hash(weekly("Office hours!"))
    moved = weekly()
    moved.pop("DTEND")
    moved.add("dtend", datetime(2024, 3, 4, 18, 0, tzinfo=PARIS))
    assert content_hash(moved) != content_hash(weekly())


def test_hash_is_the_same_for_every_spelling_of_utc() -> None:
    def at(zone: tzinfo) -> Event:
        event = Event()
        event.add("summary", "Call")
        event.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=zone))
        return event

    hashes = {content_hash(at(zone)) for zone in (UTC, ZoneInfo("UTC"), timezone(timedelta(0)))}
    assert len(hashes) == 1
    assert len(next(iter(hashes))) == 64


# --- assemble -----------------------------------------------------------------


def sample_events() -> list[Event]:
    override = Event()
    override.add("summary", "Office hours (short)")
    override.add("recurrence-id", datetime(2024, 3, 11, 9, 0, tzinfo=PARIS))
    override.add("dtstart", datetime(2024, 3, 11, 10, 0, tzinfo=PARIS))
    override.add("dtend", datetime(2024, 3, 11, 12, 0, tzinfo=PARIS))
    flight = Event()
    flight.add("summary", "Flight, Paris; New York")
    flight.add("dtstart", datetime(2024, 6, 1, 10, 0, tzinfo=PARIS))
    flight.add("dtend", datetime(2024, 6, 1, 12, 30, tzinfo=NEW_YORK))
    return [
        stamped(weekly(), "office@x", 2),
        stamped(override, "office@x", 1),
        stamped(holiday(), "christmas@x"),
        stamped(flight, "flight@x"),
    ]


def test_same_input_gives_identical_bytes_in_any_order() -> None:
    events = sample_events()
    first = assemble(META, events)
    assert assemble(META, events) == first
    assert assemble(META, list(reversed(events))) == first
    assert assemble(META, sample_events()) == first


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(range(4)))
def test_event_order_never_matters(order: list[int]) -> None:
    events = sample_events()
    assert assemble(META, [events[i] for i in order]) == assemble(META, events)


def test_events_are_sorted_by_uid_then_recurrence_id() -> None:
    uids = [line for line in lines_of(assemble(META, sample_events())) if line.startswith("UID:")]
    assert uids == ["UID:christmas@x", "UID:flight@x", "UID:office@x", "UID:office@x"]
    rids = [line for line in lines_of(assemble(META, sample_events())) if "RECURRENCE-ID" in line]
    assert rids == ["RECURRENCE-ID;TZID=Europe/Paris:20240311T090000"]


def test_calendar_properties() -> None:
    lines = lines_of(assemble(META, sample_events()))
    assert lines[:11] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//icsbridge//icsbridge 0.1.0//EN",
        "CALSCALE:GREGORIAN",
        "NAME:Office hours",
        "X-WR-CALNAME:Office hours",
        "DESCRIPTION:Front desk\\, floor 2",
        "X-WR-CALDESC:Front desk\\, floor 2",
        "X-WR-TIMEZONE:Europe/Paris",
        "REFRESH-INTERVAL;VALUE=DURATION:PT15M",
        "X-PUBLISHED-TTL:PT15M",
    ]
    assert lines[-1] == "END:VCALENDAR"
    assert not [line for line in lines if line.startswith("METHOD")]


def test_optional_calendar_properties_are_left_out_when_empty() -> None:
    meta = CalendarMeta(key="k", name="Plain", refresh_seconds=5400, categories=["Work", "HQ"])
    lines = lines_of(assemble(meta, []))
    assert not [ln for ln in lines if ln.startswith(("DESCRIPTION", "X-WR-CALDESC", "X-WR-TIME"))]
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H30M" in lines
    assert "X-PUBLISHED-TTL:PT1H30M" in lines
    assert "CATEGORIES:Work,HQ" in lines
    assert validate_feed(assemble(meta, [])) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (900, "PT15M"),
        (3600, "PT1H"),
        (5400, "PT1H30M"),
        (86400, "P1D"),
        (90061, "P1DT1H1M1S"),
        (0, "PT0S"),
        (-60, "-PT1M"),
    ],
)
def test_duration_text(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


def test_refresh_must_be_positive() -> None:
    meta = CalendarMeta(key="webex/x", name="X", refresh_seconds=0)
    with pytest.raises(ValueError, match=r"^calendar webex/x: refresh_seconds must be positive$"):
        assemble(meta, [])


def test_prodid_version_falls_back_to_0(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise calendar_module.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(calendar_module.metadata, "version", missing)
    calendar_module._prodid.cache_clear()
    try:
        assert "PRODID:-//icsbridge//icsbridge 0//EN" in lines_of(assemble(META, []))
    finally:
        calendar_module._prodid.cache_clear()


def test_one_vtimezone_per_tzid_used_anywhere() -> None:
    data = assemble(META, sample_events())
    lines = lines_of(data)
    assert [line for line in lines if line.startswith("TZID:")] == [
        "TZID:America/New_York",
        "TZID:Europe/Paris",
    ]
    assert validate_feed(data) == []


def test_vtimezone_covers_the_earliest_date_of_its_zone() -> None:
    old = Event()
    old.add("summary", "Since 2005")
    old.add("dtstart", datetime(2005, 6, 1, 9, tzinfo=NEW_YORK))
    old.add("rrule", {"freq": "weekly"})
    lines = lines_of(assemble(META, [stamped(old, "old@x")]))
    starts = [line for line in lines if line.startswith("DTSTART:")]
    assert starts[0] <= "DTSTART:20050403T020000"  # the 2005 summer time is in force
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in lines  # and the 2007 rule follows


def test_utc_times_are_written_with_z_never_tzid_utc() -> None:
    events = []
    for index, zone in enumerate(
        [UTC, ZoneInfo("UTC"), ZoneInfo("Etc/UTC"), timezone(timedelta(0))]
    ):
        event = Event()
        event.add("summary", "Call")
        event.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=zone))
        event.add("exdate", datetime(2024, 3, 11, 9, tzinfo=zone))
        event.add("rrule", {"freq": "weekly"})
        events.append(stamped(event, f"utc{index}@x"))
    data = assemble(META, events)
    assert b"TZID" not in data
    assert lines_of(data).count("DTSTART:20240304T090000Z") == 4
    assert validate_feed(data) == []


def test_fixed_offsets_become_utc() -> None:
    event = Event()
    event.add("summary", "Call")
    event.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=timezone(timedelta(hours=2))))
    lines = lines_of(assemble(META, [stamped(event, "fixed@x")]))
    assert "DTSTART:20240304T070000Z" in lines
    assert not [line for line in lines if "UTC+02:00" in line]


def test_until_takes_the_form_dtstart_wants() -> None:
    zoned = weekly()
    zoned["RRULE"]["UNTIL"] = [datetime(2024, 6, 24, 9, tzinfo=PARIS)]
    day_until = weekly()
    day_until["RRULE"]["UNTIL"] = [date(2024, 6, 30)]
    all_day = holiday()
    all_day["RRULE"]["UNTIL"] = [datetime(2030, 12, 25, 0, tzinfo=UTC)]
    events = [stamped(zoned, "a@x"), stamped(day_until, "b@x"), stamped(all_day, "c@x")]
    data = assemble(META, events)
    rules = [line for line in lines_of(data) if line.startswith("RRULE:") and "WEEKLY" in line]
    rules += [line for line in lines_of(data) if line.startswith("RRULE:FREQ=YEARLY;UNTIL")]
    assert rules == [
        "RRULE:FREQ=WEEKLY;UNTIL=20240624T070000Z;BYDAY=MO,TU",
        "RRULE:FREQ=WEEKLY;UNTIL=20240630T215959Z;BYDAY=MO,TU",  # through June 30 in Paris
        "RRULE:FREQ=YEARLY;UNTIL=20301225",
    ]
    assert validate_feed(data) == []


def test_exdate_and_rdate_move_to_dtstart_zone() -> None:
    """Same instants, DTSTART's TZID: what ICALENDAR.md asks of EXDATE/RDATE."""
    event = weekly()
    event.add("exdate", datetime(2024, 3, 11, 8, tzinfo=UTC))
    event.add("exdate", datetime(2024, 3, 18, 17, tzinfo=ZoneInfo("Asia/Tokyo")))
    event.add("rdate", datetime(2024, 3, 20, 9, tzinfo=timezone(timedelta(hours=1))))
    data = assemble(META, [stamped(event, "moved@x")])
    lines = lines_of(data)
    assert "EXDATE;TZID=Europe/Paris:20240311T090000" in lines
    assert "EXDATE;TZID=Europe/Paris:20240318T090000" in lines
    assert "RDATE;TZID=Europe/Paris:20240320T090000" in lines
    assert validate_feed(data) == []


def test_rdate_periods_keep_tzid_and_value_period() -> None:
    """icalendar 7.3 writes RDATE:20240305T090000/PT2H (floating, no VALUE=PERIOD)."""
    event = weekly()
    event.add("rdate", [(datetime(2024, 3, 6, 9, tzinfo=PARIS), timedelta(hours=2))])
    event.add("rdate", [(datetime(2024, 3, 7, 8, tzinfo=UTC), datetime(2024, 3, 7, 9, tzinfo=UTC))])
    data = assemble(META, [stamped(event, "periods@x")])
    lines = lines_of(data)
    assert "RDATE;TZID=Europe/Paris;VALUE=PERIOD:20240306T090000/PT2H" in lines
    assert "RDATE;TZID=Europe/Paris;VALUE=PERIOD:20240307T090000/20240307T100000" in lines
    assert validate_feed(data) == []


def test_event_without_identity_is_refused() -> None:
    with pytest.raises(ValueError, match=r'^event "Office hours" has no UID or DTSTAMP: call '):
        assemble(META, [weekly()])


def test_floating_time_is_refused() -> None:
    event = Event()
    event.add("summary", "Floating")
    event.add("dtstart", datetime(2024, 3, 4, 9))
    message = 'event "Floating": 2024-03-04T09:00:00 has no time zone (floating): attach the zone'
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        stamped(event, "f@x")


def test_unknown_zone_is_refused() -> None:
    class Mars(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta:
            return timedelta(hours=1)

        def dst(self, dt: datetime | None) -> timedelta:
            return timedelta(0)

        def tzname(self, dt: datetime | None) -> str:
            return "Mars/Base"

    event = Event()
    event.add("summary", "Landing")
    event.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=Mars()))
    with pytest.raises(ValueError, match=r'^TZID "Mars/Base" is not a zone of the tz database$'):
        assemble(META, [stamped(event, "mars@x")])


def test_events_of_several_calendars_merge_into_one_feed() -> None:
    tokyo = Event()
    tokyo.add("summary", "Tokyo desk")
    tokyo.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=ZoneInfo("Asia/Tokyo")))
    tokyo.add("duration", timedelta(hours=8))
    merged_meta = CalendarMeta(key="all", name="All offices")
    data = assemble(merged_meta, [*sample_events(), stamped(tokyo, "tokyo@x")])
    lines = lines_of(data)
    assert [ln for ln in lines if ln.startswith("TZID:")] == [
        "TZID:America/New_York",
        "TZID:Asia/Tokyo",
        "TZID:Europe/Paris",
    ]
    assert validate_feed(data) == []
    parsed = Calendar.from_ical(data)
    assert len(parsed.walk("VEVENT")) == 5


def test_golden_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exact bytes; a change here changes every subscriber's ETag, so make it on purpose.

    Regenerate: assemble(META, sample_events()) with PRODID version "test" and write it to
    tests/fixtures/ics/assembled_office.ics.
    """
    monkeypatch.setattr(calendar_module, "_prodid", lambda: "-//icsbridge//icsbridge test//EN")
    expected = (FIXTURES / "assembled_office.ics").read_bytes()
    assert assemble(META, sample_events()) == expected

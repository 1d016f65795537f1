"""Reading uploaded calendars: what no later step could read is refused in one line.

Each fixture is a bug that reached the push engine as a crash (a traceback, a 500)
before parse_upload checked values and zones, or (issue 14) a file as an app writes it
that was refused with a message that did not help, or read with another file's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support import paths

from icsbridge.converters.ical.upload.errors import UploadError
from icsbridge.converters.ical.upload.identity import component_text, edit_hash
from icsbridge.converters.ical.upload.read import parse_upload

FIXTURES = paths.FIXTURES / "ics"


def _read(name: str) -> object:
    return parse_upload((FIXTURES / name).read_bytes(), what=name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "upload_broken_dtstart.ics",
            'upload_broken_dtstart.ics: event "broken-start@example.com": DTSTART cannot be '
            "read ('garbage'; expected a date or date-time); fix it in the calendar app and "
            "upload again",
        ),
        (
            "upload_unknown_tzid.ics",
            'upload_unknown_tzid.ics: event "unknown-zone@example.com": DTSTART '
            '2026-12-01T09:00:00 has no time zone (TZID "Mars/Base" is not a time zone known '
            'here); give it an IANA TZID (e.g. TZID=Europe/Paris) or a UTC time ("Z")',
        ),
        (
            "upload_floating.ics",
            'upload_floating.ics: event "floating@example.com": DTSTART 2026-12-01T09:00:00 '
            "has no time zone (it is floating); give it an IANA TZID (e.g. TZID=Europe/Paris) "
            'or a UTC time ("Z")',
        ),
    ],
)
def test_unreadable_values_and_unzoned_times_are_one_line(name: str, message: str) -> None:
    with pytest.raises(UploadError) as caught:
        _read(name)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(message), text


def test_a_windows_zone_name_is_read_as_its_iana_zone() -> None:
    events = parse_upload((FIXTURES / "upload_windows_zone.ics").read_bytes())
    start = events["windows-zone@example.com"].component["DTSTART"].dt
    assert isinstance(start, datetime) and start.tzinfo is not None
    assert start.utcoffset() is not None and start.utcoffset().total_seconds() == 3600


def test_deeply_nested_valarms_are_refused_in_one_line_before_the_parser_recurses() -> None:
    # 489 VALARMs inside one another (13 KB, made once by a loop): icalendar parsed them,
    # then a later copy or write recursed past Python's limit, a 500 and a 3,000-line
    # traceback per request.
    with pytest.raises(UploadError) as caught:
        _read("deeply_nested_valarms.ics")
    assert str(caught.value) == (
        "deeply_nested_valarms.ics: components nested more than 10 deep (the BEGIN on "
        "line 18); an event holds alarms, not alarms in alarms: remove the nested "
        "components and upload again"
    )


def _nested(depth: int, begin: str = "BEGIN:VALARM", inside: tuple[str, ...] = ()) -> bytes:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", "BEGIN:VEVENT"]
    event = ["UID:n@example.com", "DTSTAMP:20261121T090000Z", "DTSTART:20261201T090000Z"]
    alarms = [begin, *inside] * (depth - 2) + ["END:VALARM"] * (depth - 2)
    return "\r\n".join([*head, *event, *alarms, "END:VEVENT", "END:VCALENDAR", ""]).encode()


def test_ten_levels_of_components_are_still_read() -> None:
    assert list(parse_upload(_nested(10))) == ["n@example.com"]


def test_siblings_do_not_add_up_to_depth() -> None:
    # ENDs written in lower case or with blanks still close their component.
    event = (
        "BEGIN:VEVENT\r\nUID:{n}@example.com\r\nDTSTAMP:20261121T090000Z\r\n"
        "DTSTART:20261201T090000Z\r\nbegin:valarm\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n"
        "end:valarm\r\nE ND :VEVENT\r\n"
    )
    body = "".join(event.format(n=n) for n in range(30))
    data = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n"
    assert len(parse_upload(data.encode())) == 30


@pytest.mark.parametrize(
    ("begin", "inside"),
    [
        ("begin:VALARM", ()),
        ("BEGIN;X-A=1:VALARM", ()),
        ("B EGIN\t:VALARM", ()),
        ("BEG\r\n IN:VALARM", ()),
        ("\x0cBEGIN:VALARM", ()),
        # Lines that look like an END but are none to the parser: a fold's continuation
        # (part of the X-A value), also after a blank line.
        ("BEGIN:VALARM", ("X-A:b", " END:VALARM")),
        ("BEGIN:VALARM", ("X-A:b", "\r\n END:VALARM")),
    ],
)
def test_nesting_is_counted_on_lines_as_the_parser_reads_them(
    begin: str, inside: tuple[str, ...]
) -> None:
    with pytest.raises(UploadError, match="components nested more than 10 deep"):
        parse_upload(_nested(11, begin, inside))


# --- issue 14: what calendar apps write, read or refused in one line naming the event ------


def _refusal(name: str) -> str:
    with pytest.raises(UploadError) as caught:
        _read(name)
    text = str(caught.value)
    assert "\n" not in text and "Error" not in text and "<" not in text, text
    return text


OUTLOOK_UID = "040000008200E00074C5B7101A82E00800000000D0C2E1A51B7CDB01000000000000000010000000"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "upload_outlook_two_dtstart.ics",
            f'upload_outlook_two_dtstart.ics: event "{OUTLOOK_UID}": 2 DTSTART lines '
            '("2026-12-01T09:00:00-05:00", "2026-12-01T10:00:00-05:00"); an event has one '
            "DTSTART: keep the right one and upload again",
        ),
        (
            "upload_rdate_period_of_dates.ics",
            'upload_rdate_period_of_dates.ics: event "7d1f2a90-5b8e-4f0e-9a61-3c2b1e0d4f11": '
            "RDATE;VALUE=PERIOD 20261208T000000/20261209T000000 has no time zone (it is "
            "floating, or made of dates); a period is two date-times with a zone (e.g. "
            "20261208T090000Z/PT1H), and whole days are RDATE;VALUE=DATE:20261208",
        ),
        (
            "upload_rrule_value_text.ics",
            'upload_rrule_value_text.ics: event "3b6e0c52-8a41-4d7f-b1e9-52c0f7a8d213": '
            "RRULE;VALUE=TEXT FREQ=WEEKLY;COUNT=4 is not a recurrence rule such as "
            "FREQ=WEEKLY;BYDAY=MO; fix it in the calendar app and upload again",
        ),
        (
            "upload_bare_vevent.ics",
            "upload_bare_vevent.ics: the file holds a VEVENT but no VCALENDAR around it; "
            "calendar apps export whole calendars (BEGIN:VCALENDAR ... END:VCALENDAR): export "
            "the calendar, or put the events between BEGIN:VCALENDAR and END:VCALENDAR lines",
        ),
        (
            "upload_cut_short.ics",
            "upload_cut_short.ics: BEGIN:VCALENDAR at line 1 has no END:VCALENDAR: the file is "
            "cut short; upload all of it",
        ),
        (
            "upload_missing_end_vevent.ics",
            "upload_missing_end_vevent.ics: line 15: END:VCALENDAR closes BEGIN:VEVENT of "
            "line 4 (an END:VEVENT is missing); fix it in the calendar app and upload again",
        ),
        (
            "upload_line_skipped_by_parser.ics",
            'upload_line_skipped_by_parser.ics: line 9 (event "1F2E3D4C-5B6A-4798-8A9B-'
            "ACBDCEDFE0F1\"): 'DTEND;TZID=\"Europe/Paris:20261201T170000' is not a property "
            "(NAME:VALUE or NAME;PARAMETER=...:VALUE); fix it in the calendar app and upload "
            "again",
        ),
        (
            "upload_x_wr_timezone_unknown.ics",
            'upload_x_wr_timezone_unknown.ics: event "yahoo-unknown-zone@example.com": DTSTART '
            "2026-12-01T09:00:00 has no time zone (it is floating, and X-WR-TIMEZONE "
            '"Central European" is no zone known here); give it an IANA TZID (e.g. '
            'TZID=Europe/Paris) or a UTC time ("Z")',
        ),
        (
            "upload_custom_zone_undefined.ics",
            'upload_custom_zone_undefined.ics: event "office-undefined@example.com": DTSTART '
            '2026-12-01T09:00:00 has no time zone (TZID "Office Time" is not a time zone known '
            'here); give it an IANA TZID (e.g. TZID=Europe/Paris) or a UTC time ("Z")',
        ),
        (
            "upload_dtend_value_duration.ics",
            'upload_dtend_value_duration.ics: event "dtend-duration@example.com": '
            "DTEND;VALUE=DURATION P1D is not a date or date-time (a length goes in DURATION, "
            "e.g. DURATION:PT1H); fix it in the calendar app and upload again",
        ),
        (
            "upload_dtstart_year_one.ics",
            'upload_dtstart_year_one.ics: event "year-one@example.com": DTSTART '
            "0001-01-01T00:00:00+00:00 is outside the years 1000-8999; fix it in the calendar "
            "app and upload again",
        ),
    ],
    ids=lambda value: value.removesuffix(".ics") if value.endswith(".ics") else "",
)
def test_malformed_uploads_are_one_line_naming_the_event_and_what_is_right(
    name: str, message: str
) -> None:
    assert _refusal(name) == message


def test_a_utf8_bom_is_not_part_of_the_calendar() -> None:
    data = (FIXTURES / "upload_bom.ics").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    events = parse_upload(data)
    assert [event.component["SUMMARY"] for event in events.values()] == ["Standup"]


def test_floating_times_take_the_calendars_x_wr_timezone_as_google_means_it() -> None:
    (event,) = parse_upload((FIXTURES / "upload_google_x_wr_timezone.ics").read_bytes()).values()
    start, exdate = event.component["DTSTART"], event.component["EXDATE"]
    assert start.dt == datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert start.params["TZID"] == "Europe/Paris"
    assert exdate.dts[0].dt == datetime(2026, 4, 6, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert exdate.params["TZID"] == "Europe/Paris"
    # UNTIL was wall time too; with a zone given it must be UTC (RFC 5545 3.3.10)
    assert event.component["RRULE"]["UNTIL"] == [datetime(2026, 6, 29, 7, 0, tzinfo=UTC)]
    assert edit_hash(event.component)


def test_an_x_wr_timezone_with_a_windows_name_is_read_as_its_iana_zone() -> None:
    (event,) = parse_upload((FIXTURES / "upload_x_wr_timezone_windows.ics").read_bytes()).values()
    start = event.component["DTSTART"].dt
    assert start == datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_a_bad_value_in_a_property_nobody_reads_never_refuses_the_file() -> None:
    (event,) = parse_upload(
        (FIXTURES / "upload_google_created_year_zero.ics").read_bytes()
    ).values()
    assert str(event.component["CREATED"]) == "00001231T000000Z"  # carried as written
    assert str(event.component["GEO"]) == "not a place"
    assert edit_hash(event.component)
    assert "CREATED:00001231T000000Z" in component_text(event.component)


def test_an_unreadable_alarm_is_left_for_the_target_that_keeps_alarms() -> None:
    (event,) = parse_upload((FIXTURES / "upload_alarm_line_unreadable.ics").read_bytes()).values()
    (alarm,) = event.component.walk("VALARM")
    assert str(alarm["TRIGGER"]) == "-15 minutes"


def test_an_outlook_zone_from_1601_is_read_from_its_vtimezone() -> None:
    (event,) = parse_upload(
        (FIXTURES / "upload_outlook_eastern_recurring.ics").read_bytes()
    ).values()
    start = event.component["DTSTART"]
    assert start.params["TZID"] == "Eastern Standard Time"
    assert start.dt.utcoffset() == timedelta(hours=-5)
    assert start.dt.replace(month=7).utcoffset() == timedelta(hours=-4)


def test_each_upload_reads_its_own_definition_of_a_zone_whatever_came_before() -> None:
    """icalendar keeps the first VTIMEZONE it reads for a TZID for the whole process."""
    plus_one = "upload_custom_zone_plus_one.ics"
    plus_five = "upload_custom_zone_plus_five.ics"
    for name, hours in ((plus_one, 1), (plus_five, 5), (plus_one, 1)):
        (event,) = parse_upload((FIXTURES / name).read_bytes()).values()
        assert event.component["DTSTART"].dt.utcoffset() == timedelta(hours=hours), name
    # and a file that does not define the zone does not borrow an earlier file's
    assert "is not a time zone known here" in _refusal("upload_custom_zone_undefined.ics")

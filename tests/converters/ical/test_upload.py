"""Reading uploaded calendars: what no later step could read is refused in one line.

Each fixture is a bug that reached the push engine as a crash (a traceback, a 500)
before parse_upload checked values and zones.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from support import paths

from icsbridge.converters.ical.upload import UploadError, parse_upload

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

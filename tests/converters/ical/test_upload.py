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

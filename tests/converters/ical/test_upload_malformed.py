"""Every malformed upload is a one-line refusal, never an exception type (issue 14).

Files as Outlook, Google and Apple write them, each damaged the way hand edits, exports
and broken clients damage files (a line given twice or lost, a value replaced, a VALUE=
or TZID= that does not fit, a stray BEGIN/END): reading the upload either refuses it with
one line (``UploadError``), or every later step takes each event (the edit hash, the
journal text, every converter, which may refuse in words: ``UnsupportedByTarget``).
Before, such files escaped as ``AttributeError``, ``TypeError``, ``OverflowError``...
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Event
from support import paths

from icsbridge.converters.apio import convert as apio
from icsbridge.converters.b2core import convert as b2core
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.upload.errors import UploadError
from icsbridge.converters.ical.upload.identity import component_text, edit_hash
from icsbridge.converters.ical.upload.read import parse_upload
from icsbridge.converters.webex import convert as webex

FIXTURES = paths.FIXTURES / "ics"
BASES = [
    "upload_outlook_eastern_recurring.ics",
    "upload_google_x_wr_timezone.ics",
    "upload_alarm_line_unreadable.ics",
    "upload_lotus_notes_zone.ics",
]
PARIS = ZoneInfo("Europe/Paris")
STEPS: list[Callable[[Event], Any]] = [
    edit_hash,
    component_text,
    lambda v: webex.from_vevent(v, level="PEOPLE", tz=PARIS),
    lambda v: webex.from_vevent(v, level="LOCATION", tz=PARIS),
    lambda v: apio.from_vevent(v, family="holiday", tz=PARIS),
    lambda v: apio.from_vevent(v, family="time", tz=PARIS),
    lambda v: apio.from_vevent(v, family="advanced", tz=PARIS),
    lambda v: b2core.from_vevent(v, tz=PARIS),
    lambda v: b2core.from_vevent(v, tz=None),
]
VALUES = [
    "",
    "garbage",
    "0",
    "00001231T000000Z",
    "20261341T250000Z",
    "20261201",
    "20261201T090000",
    "20261201T090000Z",
    "-PT15M",
    "PT1H",
    "083000",
    "20261208/20261209",
    "20261208T090000/PT1H",
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=YEARLY;COUNT=0",
    "FREQ=WEEKLY;UNTIL=20261201",
    "+0100",
    "99991231T230000Z",
    "00010101T000000",
    "20261201T090000Z,20261202",
    "mailto:",
]
PARAMETERS = [
    "",
    ";VALUE=DATE",
    ";VALUE=DATE-TIME",
    ";VALUE=PERIOD",
    ";VALUE=TIME",
    ";VALUE=DURATION",
    ";VALUE=TEXT",
    ";TZID=Mars/Base",
    ";TZID=W. Europe Standard Time",
    ";TZID=Eastern Standard Time",
    ";TZID=",
    ";RELATED=END",
]
NAMES = [
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "RDATE",
    "EXDATE",
    "TRIGGER",
    "RECURRENCE-ID",
    "UID",
    "SUMMARY",
    "STATUS",
    "CREATED",
    "SEQUENCE",
    "TZOFFSETFROM",
    "TZOFFSETTO",
    "X-WR-TIMEZONE",
]
BLOCKS = ["BEGIN:VALARM", "END:VALARM", "BEGIN:STANDARD", "END:VEVENT", "BEGIN:VEVENT"]


def damaged(lines: list[str], rnd: random.Random) -> list[str]:
    lines = list(lines)
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randrange(len(lines))
        line = lines[at]
        plain = ":" in line and not line.startswith(("BEGIN", "END"))
        step = rnd.randrange(6)
        if step == 0 and plain:
            lines.insert(at, line)
        elif step == 1 and plain:
            del lines[at]
        elif step == 2 and plain:
            lines[at] = line.split(":")[0] + ":" + rnd.choice(VALUES)
        elif step == 3 and plain:
            name = line.split(":")[0].split(";")[0]
            lines[at] = name + rnd.choice(PARAMETERS) + ":" + line.split(":", 1)[1]
        elif step == 4:
            lines.insert(at, rnd.choice(NAMES) + rnd.choice(PARAMETERS) + ":" + rnd.choice(VALUES))
        elif step == 5:
            lines.insert(at, rnd.choice(BLOCKS))
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_a_damaged_upload_is_refused_in_one_line_or_read_by_every_step(
    base: str, seed: int
) -> None:
    lines = (FIXTURES / base).read_text().splitlines()
    data = ("\r\n".join(damaged(lines, random.Random(seed))) + "\r\n").encode()
    try:
        events = parse_upload(data, what="upload.ics")
    except UploadError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("upload.ics: "), str(exc)
        return
    for event in events.values():
        for step in STEPS:
            try:
                step(event.component)
            except UnsupportedByTarget as exc:
                text = str(exc)
                assert "\n" not in text and "<" not in text, text

"""A large Outlook calendar, built from the one-event fixture Outlook wrote.

``tests/fixtures/ics/upload_outlook_eastern_recurring.ics`` is a weekly event in
Outlook's own "Eastern Standard Time" VTIMEZONE (rules from 1601). :func:`outlook_calendar`
repeats its VEVENT ``count`` times, each with its own UID, SUMMARY, day and hour, and keeps
the file's VTIMEZONE once: the shape of a whole Outlook calendar saved back (issue 14).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ics"
FIXTURE = FIXTURES / "upload_outlook_eastern_recurring.ics"
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def outlook_calendar(count: int, *, first: date = date(2026, 1, 5)) -> bytes:
    """``count`` weekly events in the fixture's zone, as Outlook writes a calendar."""
    lines = FIXTURE.read_text().splitlines()
    start, end = lines.index("BEGIN:VEVENT"), lines.index("END:VEVENT")
    head, template, tail = lines[:start], lines[start : end + 1], lines[end + 1 :]
    out = list(head)
    for number in range(count):
        day = first + timedelta(days=number % 350)
        hour = 7 + number % 10
        minute = number % 4 * 15
        for line in template:
            name = line.split(":", 1)[0].split(";", 1)[0]
            if name == "UID":
                line = f"UID:040000008200E00074C5B7101A82E008{number:08d}"
            elif name == "SUMMARY":
                line = f"SUMMARY;LANGUAGE=en-us:Weekly review {number}"
            elif name in ("DTSTART", "DTEND"):
                at = hour + (name == "DTEND")
                line = f"{line.split(':', 1)[0]}:{day:%Y%m%d}T{at:02d}{minute:02d}00"
            elif name == "RRULE":
                line = f"RRULE:FREQ=WEEKLY;BYDAY={_DAYS[day.weekday()]}"
            out.append(line)
    out += tail
    return ("\r\n".join(out) + "\r\n").encode()

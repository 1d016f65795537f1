"""Benchmark: reading a 1,000-event Outlook calendar pushed back, vs icalendar alone.

The calendar is what Outlook exports: one VTIMEZONE ``Eastern Standard Time`` whose
STANDARD and DAYLIGHT rules start in 1601, and 1,000 weekly events at their own dates and
times in that zone (issue 14: such an upload cost seconds of CPU per event in the zone
comparison). Each side runs in a fresh child process (cold caches, as a daemon's first
upload of that zone), several rounds interleaved, median wall time:

- icsbridge: ``parse_upload`` (decode, parse, the checks, each TZID bound to this file's
  zone) and, per event, the zone comparison a push to a schedule in America/New_York makes
  (``rrule.offsets_agree`` of DTSTART's zone with the schedule's) and DTSTART/DTEND as
  wall times there (``rrule.wall_time``), as ``converters.wire.span`` does;
- reference: ``icalendar.Calendar.from_ical`` of the same bytes, nothing else.

Run: .venv/bin/python bench/upload_bench.py [--events 1000 --rounds 3]
The figure to quote is the ratio (icsbridge / reference); absolute times vary by machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Eastern Standard Time
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""


def outlook_calendar(events: int) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
        "VERSION:2.0",
        "METHOD:PUBLISH",
        *VTIMEZONE.splitlines(),
    ]
    zone = "Eastern Standard Time"
    for number in range(events):
        day = date(2025, 1, 6) + timedelta(days=number % 700)
        hour = 7 + number % 11
        lines += [
            "BEGIN:VEVENT",
            f"UID:040000008200E00074C5B7101A82E0080000000{number:05d}",
            f"SUMMARY:Weekly review {number}",
            f"DTSTART;TZID={zone}:{day:%Y%m%d}T{hour:02d}{number % 4 * 15:02d}00",
            f"DTEND;TZID={zone}:{day:%Y%m%d}T{hour + 1:02d}{number % 4 * 15:02d}00",
            f"RRULE:FREQ=WEEKLY;BYDAY={('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[day.weekday()]}",
            "DTSTAMP:20261120T101500Z",
            "CLASS:PUBLIC",
            "PRIORITY:5",
            "TRANSP:OPAQUE",
            "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def run_icsbridge(data: bytes) -> dict[str, float]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from icsbridge.converters.ical import rrule
    from icsbridge.converters.ical.upload.read import parse_upload

    schedule_zone = ZoneInfo("America/New_York")
    started = time.perf_counter()
    events = parse_upload(data)
    parsed = time.perf_counter()
    agreeing = 0
    for event in events.values():
        start = event.component["DTSTART"].dt
        end = event.component["DTEND"].dt
        assert isinstance(start, datetime) and start.tzinfo is not None
        agreeing += rrule.offsets_agree(start.tzinfo, schedule_zone, start)
        rrule.wall_time(start, schedule_zone)
        rrule.wall_time(end, schedule_zone)
    done = time.perf_counter()
    assert agreeing == len(events), "Outlook's Eastern zone must keep New York's offsets"
    return {"wall_s": done - started, "parse_s": parsed - started, "zones_s": done - parsed}


def run_reference(data: bytes) -> dict[str, float]:
    from icalendar import Calendar

    started = time.perf_counter()
    calendar = Calendar.from_ical(data)
    done = time.perf_counter()
    assert len(calendar.walk("VEVENT")) > 0
    return {"wall_s": done - started}


def _child(part: str, events: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--part", part, "--events", str(events)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", choices=["icsbridge", "reference"])
    args = parser.parse_args()
    if args.part:
        data = outlook_calendar(args.events)
        run = run_icsbridge if args.part == "icsbridge" else run_reference
        print(json.dumps(run(data)))
        return 0
    ours: list[dict[str, float]] = []
    reference: list[dict[str, float]] = []
    for _ in range(args.rounds):
        ours.append(_child("icsbridge", args.events))
        reference.append(_child("reference", args.events))

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    wall, ref = median(ours, "wall_s"), median(reference, "wall_s")
    print(
        f"upload of {args.events} Outlook events (VTIMEZONE from 1601), {args.rounds} "
        "interleaved rounds, medians, fresh process each"
    )
    print(
        f"icsbridge  {wall:.3f} s  (parse_upload {median(ours, 'parse_s'):.3f} s, zone "
        f"comparison and wall times {median(ours, 'zones_s'):.3f} s)"
    )
    print(f"icalendar  {ref:.3f} s  (Calendar.from_ical alone)")
    print(f"ratio      {wall / ref:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

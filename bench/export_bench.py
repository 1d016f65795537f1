"""Benchmark: `icsbridge export` of ~10,000 Webex events vs icalendar alone.

Both sides run in the same invocation, each in a fresh child process (so peak RSS is
per side), several rounds, median wall time:

- icsbridge: the whole export through the Webex simulator in-process (real httpx client
  over ASGITransport, JSON parsing, conversion, identity in a SQLite state, assembly,
  atomic file writes);
- reference: the same events built as icalendar.Event objects from the same Webex JSON
  and serialised with icalendar's own to_ical(), one calendar per schedule, with
  icalendar's add_missing_timezones(). No HTTP, no state, no files.

Run: .venv/bin/python bench/export_bench.py [--people 200 --schedules 2 --events 25 --rounds 3]
The figure to quote is the ratio (icsbridge / reference); absolute times vary by machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icsbridge.daemon.simulators.webex import seed as webex_seed

TARGET_RATIO = 1.5


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sim(args: argparse.Namespace) -> Any:

    return webex_seed.bulk_state(args.people, args.schedules, args.events)


def run_icsbridge(args: argparse.Namespace) -> dict[str, float]:
    import httpx

    from icsbridge.config.loader import load_settings
    from icsbridge.daemon.cli.export import run_export
    from icsbridge.daemon.simulators.webex.app import create_app

    sim = _sim(args)
    app = create_app(sim)
    with tempfile.TemporaryDirectory() as folder:
        people = ", ".join(f'"{p}"' for p in sorted(sim.people))
        (Path(folder) / "token").write_text("demo-token")
        config = Path(folder) / "config.toml"
        config.write_text(
            '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n[[sources]]\n'
            'name = "bench"\nkind = "webex"\ninterval = "15m"\ntimezone = "UTC"\n'
            f'token = "file:token"\npeople = [{people}]\nlocations = "all"\n'
        )
        settings = load_settings(config)
        rss_before = _peak_rss_mb()
        start = time.perf_counter()
        report = asyncio.run(
            run_export(
                settings,
                now=datetime(2026, 1, 1, tzinfo=UTC),
                transport_for=lambda _s: httpx.ASGITransport(app=app),
            )
        )
        wall = time.perf_counter() - start
        if report.failures:
            raise SystemExit(f"export failed: {report.failures}")
        return {
            "wall_s": wall,
            "peak_rss_mb": _peak_rss_mb(),
            "rss_setup_mb": rss_before,
            "events": report.events,
            "calendars": len(report.written),
        }


def _reference_event(ev: dict[str, Any], tz: ZoneInfo, uid: str, stamp: datetime) -> Any:
    from icalendar import Event

    out = Event()
    out.add("uid", uid)
    out.add("dtstamp", stamp)
    out.add("summary", ev["name"])
    start = date.fromisoformat(ev["startDate"])
    end = date.fromisoformat(ev["endDate"])
    if ev.get("allDayEnabled"):
        out.add("dtstart", start)
        out.add("dtend", end + timedelta(days=1))
    else:
        t0 = datetime.strptime(ev["startTime"], "%H:%M").time()
        t1 = datetime.strptime(ev["endTime"], "%H:%M").time()
        out.add("dtstart", datetime.combine(start, t0, tz))
        out.add("dtend", datetime.combine(end, t1, tz))
    rec = ev.get("recurrence") or {}
    if "recurWeekly" in rec:
        days = [d[:2].upper() for d, on in rec["recurWeekly"].items() if on is True]
        out.add("rrule", {"freq": "weekly", "byday": days})
    elif "recurDaily" in rec:
        rule: dict[str, Any] = {"freq": "daily"}
        if rec.get("recurEndOccurrence"):
            rule["count"] = rec["recurEndOccurrence"]
        out.add("rrule", rule)
    out.add("categories", ["Business hours", "Schedule"])
    out.add("transp", "TRANSPARENT")
    return out


def run_reference(args: argparse.Namespace) -> dict[str, float]:
    from icalendar import Calendar

    sim = _sim(args)
    schedules = []  # (zone, events) gathered outside the timed part
    for owner in [*sim.people.values(), *sim.locations.values()]:
        zone_name = getattr(owner, "time_zone", None) or "UTC"
        for sched in owner.schedules:
            schedules.append((ZoneInfo(zone_name), list(sched.events.values())))
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    total = 0
    size = 0
    for index, (tz, events) in enumerate(schedules):
        cal = Calendar()
        cal.add("prodid", "-//bench//reference//EN")
        cal.add("version", "2.0")
        for n, ev in enumerate(events):
            cal.add_component(_reference_event(ev, tz, f"{index}-{n}@bench", stamp))
        cal.add_missing_timezones()
        size += len(cal.to_ical())
        total += len(events)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_setup_mb": rss_before,
        "events": total,
        "calendars": len(schedules),
    }


def _child(part: str, args: argparse.Namespace) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--part",
        part,
        "--people",
        str(args.people),
        "--schedules",
        str(args.schedules),
        "--events",
        str(args.events),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--schedules", type=int, default=2)
    parser.add_argument("--events", type=int, default=25, help="events per schedule")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", choices=["icsbridge", "reference"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        runner = run_icsbridge if args.part == "icsbridge" else run_reference
        print(json.dumps(runner(args)))
        return 0

    runs: dict[str, list[dict[str, float]]] = {"icsbridge": [], "reference": []}
    for _ in range(args.rounds):  # interleaved, so drift hits both sides alike
        for part in runs:
            runs[part].append(_child(part, args))
    print(f"export benchmark: {args.rounds} rounds, median wall time, peak RSS of the child")
    print(
        f"{'side':<11}{'events':>8}{'calendars':>11}{'wall s':>9}{'peak RSS MB':>13}"
        f"{'RSS before MB':>15}"
    )
    med = {}
    for part, results in runs.items():
        med[part] = statistics.median(r["wall_s"] for r in results)
        last = results[-1]
        print(
            f"{part:<11}{int(last['events']):>8}{int(last['calendars']):>11}"
            f"{med[part]:>9.2f}{max(r['peak_rss_mb'] for r in results):>13.0f}"
            f"{last['rss_setup_mb']:>15.0f}"
        )
    print("(RSS before: the child after building its input, before the timed part;")
    print(" icsbridge's includes the in-process simulator holding the org)")
    ratio = med["icsbridge"] / med["reference"]
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"ratio icsbridge/reference: {ratio:.2f} ({verdict} the target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

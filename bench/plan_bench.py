"""Benchmark: planning a push of an Outlook calendar, vs icalendar reading the same bytes.

The upload is bench/upload_bench.py's Outlook calendar (one VTIMEZONE "Eastern Standard
Time" with rules from 1601, weekly events in it), pushed as a dry run to the Webex
simulator's "NY Office Hours" schedule (America/New_York): ``push.engine.push`` pulls the
calendar, reads the rows, and plans in its worker thread (diff, ``from_vevent`` of every
event, zone comparison, conflict checks). The upload is parsed before the clock starts.
Each figure comes from a fresh child process, rounds interleaved, medians:

- **1,000 events** (issue 14's bound, under a second): the plan against
  ``icalendar.Calendar.from_ical`` of the same bytes alone;
- **scaling**: the plan of 20,000 events against the plan of 5,000 (linear is 4).

Run: .venv/bin/python bench/plan_bench.py [--rounds 3] [--no-scaling]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALENDAR = "webex-demo/locations/New York/businessHours/NY Office Hours"


async def _plan(events: int) -> dict[str, float]:
    from datetime import UTC, datetime

    import httpx

    from bench.upload_bench import outlook_calendar
    from icsbridge.config.loader import load_settings
    from icsbridge.converters.ical.upload.read import parse_upload
    from icsbridge.daemon.cli.demo import webex_demo_api
    from icsbridge.daemon.push.engine import push
    from icsbridge.daemon.push.plan import PushRequest
    from icsbridge.daemon.sources.kinds import source_for
    from icsbridge.daemon.store.state import StateStore
    from icsbridge.daemon.sync.pull import pull_and_render

    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    api = webex_demo_api()
    with tempfile.TemporaryDirectory() as folder:
        for name, content in api.secret_files.items():
            (Path(folder) / name).write_text(content)
        config = Path(folder) / "config.toml"
        config.write_text(
            f'[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
            f"{api.source_toml('http://webex.sim/v1')}max_creates = {events}\n"
        )
        settings = load_settings(config).sources[0]

        async def no_sleep(_seconds: float) -> None:
            return None

        with StateStore(Path(folder) / "state.sqlite") as state:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app)) as client:
                source = source_for(settings, client, tokens=state, sleep=no_sleep)
                await pull_and_render(source, settings.name, state, now=now, settle=None)
                uploaded = parse_upload(outlook_calendar(events))
                request = PushRequest(CALENDAR, uploaded, "calendar", None, True)
                started = time.perf_counter()
                outcome = await push(source, state, request, now=now)
                done = time.perf_counter()
    assert len(outcome.plan) == events + 1, outcome.summary()  # the creates, one delete
    return {"wall_s": done - started}


def _child(part: str, events: int) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.plan_bench", "--part", part, "--events", str(events)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["wall_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--part", choices=["plan", "reference"])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    if args.part == "plan":
        print(json.dumps(asyncio.run(_plan(args.events))))
        return 0
    if args.part == "reference":
        from bench.upload_bench import outlook_calendar, run_reference

        print(json.dumps(run_reference(outlook_calendar(args.events))))
        return 0
    runs: dict[str, list[float]] = {}
    parts = [("plan", 1000), ("reference", 1000)]
    if not args.no_scaling:
        parts += [("plan", 5000), ("plan", 20000)]
    for _ in range(args.rounds):
        for part, events in parts:
            runs.setdefault(f"{part} {events}", []).append(_child(part, events))
    median = {key: statistics.median(values) for key, values in runs.items()}
    print(f"planning an Outlook upload (VTIMEZONE from 1601), {args.rounds} rounds, medians")
    plan, ref = median["plan 1000"], median["reference 1000"]
    print(
        f"1,000 events: plan {plan:.3f} s, icalendar from_ical {ref:.3f} s, ratio {plan / ref:.2f}"
    )
    if not args.no_scaling:
        small, big = median["plan 5000"], median["plan 20000"]
        print(
            f"scaling: 5,000 {small:.3f} s, 20,000 {big:.3f} s, ratio {big / small:.2f} (linear 4)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

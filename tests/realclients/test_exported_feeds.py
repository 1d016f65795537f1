"""Exported Webex feeds, judged by ical.js, libical and icalendar+dateutil.

Over one year, the occurrence starts every parser finds in each exported calendar agree
with each other and with an independent day-by-day reading of the Webex JSON.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from support.feeds import exported_files
from support.webex_oracle import occurrence_starts
from support.webex_org import NOW, write_config

from icsbridge.config.loader import load_settings
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState, create_app
from realclients.harness import (
    assert_parsers_agree,
    by_summary,
    parse_problems,
)

WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def _expected(sim: WebexSimState, key: str) -> dict[str, list[datetime]]:
    """What the Webex data says the calendar ``key`` holds, by event name."""
    _source, kind, owner_name, sched_type, sched_name = key.split("/")
    if kind == "locations":
        owner = next(loc for loc in sim.locations.values() if loc.name == owner_name)
        zone = owner.time_zone
    else:
        owner = next(p for p in sim.people.values() if p.display_name == owner_name)
        loc = sim.locations.get(owner.location_id or "")
        zone = (loc.time_zone if loc else None) or owner.time_zone or "Europe/Paris"
    schedule = next(s for s in owner.schedules if (s.type, s.name) == (sched_type, sched_name))
    tz = ZoneInfo(zone or "Europe/Paris")
    out = {}
    for name, event in schedule.events.items():
        starts = occurrence_starts(event, tz, *WINDOW)
        if starts:
            out[name] = starts
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[WebexSimState, dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("export")
    sim = webex_seed.demo_state()
    # Every other week on Sunday and Tuesday, entered on a Monday: the week start (WKST)
    # decides which Sunday comes first, so simulator, converter and parsers must agree.
    bruno = next(p.id for p in sim.people.values() if p.display_name == "Bruno Lefevre")
    days = dict.fromkeys(("monday", "wednesday", "thursday", "friday", "saturday"), False)
    sim.set_event(
        bruno,
        "businessHours",
        "Reviews",
        {
            "name": "Biweekly Sunday Review",
            "startDate": "2026-01-05",
            "endDate": "2026-01-05",
            "startTime": "10:00",
            "endTime": "11:00",
            "allDayEnabled": False,
            "recurrence": {
                "recurForEver": True,
                "recurWeekly": {"recurInterval": 2, "sunday": True, "tuesday": True, **days},
            },
        },
    )
    (folder / "token").write_text("demo-token")
    config = write_config(folder, sim)
    config.write_text(config.read_text().replace("env:ICSBRIDGE_TEST_WEBEX_TOKEN", "file:token"))
    settings = load_settings(config)
    app = create_app(sim)
    report = asyncio.run(
        run_export(settings, now=NOW, transport_for=lambda _s: httpx.ASGITransport(app=app))
    )
    assert report.failures == []
    files = exported_files(settings.daemon.output_dir)
    assert len(files) == 11
    return sim, files


def test_every_parser_reads_every_feed_without_complaint(
    exported: tuple[WebexSimState, dict[str, bytes]],
) -> None:
    _sim, files = exported
    for key, data in sorted(files.items()):
        assert parse_problems(data) == [], key


def test_parsers_agree_with_the_webex_data_over_a_year(
    exported: tuple[WebexSimState, dict[str, bytes]],
) -> None:
    sim, files = exported
    checked = 0
    for key, data in sorted(files.items()):
        by_uid = assert_parsers_agree(data, *WINDOW)
        by_name = by_summary(data, by_uid)
        assert by_name == _expected(sim, key), key
        checked += sum(len(s) for s in by_name.values())
    assert checked > 500  # the window really holds the demo's recurring schedules

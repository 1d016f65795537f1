"""The exported B2CORE feed, judged by ical.js, libical and icalendar+dateutil.

``icsbridge export`` reads the demo back office (around today: the source's window comes
from the real clock) through the config a user would write; every parser reads the feed
without complaint, and the event starts they find agree with each other and with the
simulator's JSON, read independently here (``datetime.fromisoformat``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from icalendar import Calendar

from icsbridge.config.loader import load_settings
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.b2core.app import (
    B2coreSimState,
    create_app,
    demo_secret_files,
    demo_source,
)
from realclients.harness import (
    assert_parsers_agree,
    by_summary,
    parse_problems,
)


@pytest.fixture(scope="module")
def exported(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[B2coreSimState, date, bytes]:
    folder = tmp_path_factory.mktemp("b2core-export")
    today = datetime.now(UTC).date()
    sim = b2core_seed.demo_state(today)
    for name, text in demo_secret_files().items():
        (folder / name).write_text(text)
    config = folder / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        + demo_source("https://bo.example.com")
    )
    settings = load_settings(config)
    app = create_app(sim)
    report = asyncio.run(
        run_export(
            settings,
            now=datetime.now(UTC),
            transport_for=lambda _s: httpx.ASGITransport(app=app),
        )
    )
    assert report.failures == []
    if datetime.now(UTC).date() != today:  # midnight passed during the export: try again
        pytest.skip("the UTC date changed during the export")
    feed = settings.daemon.output_dir / "b2core-demo" / "events.ics"
    return sim, today, feed.read_bytes()


def test_every_parser_reads_the_feed_without_complaint(
    exported: tuple[B2coreSimState, date, bytes],
) -> None:
    _sim, _today, data = exported
    assert parse_problems(data) == []


def test_parsers_agree_with_the_json(exported: tuple[B2coreSimState, date, bytes]) -> None:
    sim, today, data = exported
    midnight = datetime.combine(today, datetime.min.time(), UTC)
    window = (midnight - timedelta(days=30), midnight + timedelta(days=181))
    wide = (midnight - timedelta(days=400), midnight + timedelta(days=800))
    by_uid = assert_parsers_agree(data, *wide)
    found = by_summary(data, by_uid)
    expected = {}
    for event in sim.events.values():
        start = datetime.fromisoformat(event["startDate"]).astimezone(UTC)
        end = datetime.fromisoformat(event["endDate"]).astimezone(UTC)
        if start >= window[0] and end <= window[1]:
            expected[event["caption"]] = [start]
    assert found == expected
    assert len(found) == 12  # two demo events lie outside the window
    # Alarms and attendees made it into the feed too.
    events = Calendar.from_ical(data).walk("VEVENT")
    assert sum(len(ev.walk("VALARM")) for ev in events) == 15
    assert all("ORGANIZER" in ev for ev in events if "ATTENDEE" in ev)

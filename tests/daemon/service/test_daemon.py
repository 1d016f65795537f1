"""The daemon's sync cycle in-process: feeds, health and metrics after good and bad syncs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar, vText
from support.webex_org import NOW, FakeSleep

from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.push.vdir import VDIR_FOLDER
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.service.scheduler import SourceScheduler
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]
MERGED = '\n[[feeds]]\nname = "everything"\ncalendars = ["hq/*"]\n'


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> Any:
        return self.now


@pytest.fixture
def daemon(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep
) -> Iterator[tuple[Daemon, Clock]]:
    settings.path.write_text(settings.path.read_text() + MERGED)
    clock = Clock()
    d = Daemon(settings.path, clock=clock, transport_for=transport_for, sleep=fake_sleep)
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        yield d, clock


async def _get(d: Daemon, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
    ) as client:
        return await client.get(path, headers=headers)


async def test_health_is_503_until_every_source_synced(daemon: tuple[Daemon, Clock]) -> None:
    d, _clock = daemon
    status, body = d.health()
    assert status == 503
    assert body["sources"]["hq"]["ok"] is False
    await d._sync_job("hq")
    status, body = d.health()
    assert status == 200
    assert body["sources"]["hq"]["last_error"] is None
    response = await _get(d, "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_feeds_are_served_after_a_sync(daemon: tuple[Daemon, Clock]) -> None:
    d, _clock = daemon
    await d._sync_job("hq")
    assert "everything" in d.feeds.names()
    response = await _get(d, d.tokens.url_path("everything"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.content == d.feeds.get("everything").data  # type: ignore[union-attr]
    again = await _get(
        d, d.tokens.url_path("everything"), **{"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    metrics = (await _get(d, "/metrics")).text
    assert 'icsbridge_syncs_total{outcome="ok",source="hq"} 1' in metrics or (
        'icsbridge_syncs_total{source="hq",outcome="ok"} 1' in metrics
    )


@pytest.mark.parametrize("fault", ["server errors", "garbage json"])
async def test_failing_source_never_empties_a_feed_and_health_shows_it(
    fault: str, daemon: tuple[Daemon, Clock], sim: WebexSimState
) -> None:
    d, clock = daemon
    await d._sync_job("hq")
    before = {name: d.feeds.get(name) for name in d.feeds.names()}
    files = {c.path: c.path.read_bytes() for c in before.values() if c is not None}
    if fault == "server errors":
        sim.inject(500, times=1000)
    else:
        sim.inject(200, body=b'{"schedules": [', path_contains="schedules", times=1000)
    clock.now = NOW + timedelta(hours=1)
    await d._sync_job("hq")
    assert {name: d.feeds.get(name) for name in d.feeds.names()} == before
    assert {p: p.read_bytes() for p in files} == files
    status, body = d.health()
    assert status == 503
    error = body["sources"]["hq"]["last_error"]
    assert error.startswith('source "hq": ') and "\n" not in error
    assert body["sources"]["hq"]["last_success"] == NOW.isoformat()
    assert body["sources"]["hq"]["age_seconds"] == 3600


async def test_a_crashing_job_is_recorded_by_the_listener() -> None:
    problems: list[tuple[str, str]] = []
    seen = asyncio.Event()

    async def crash(name: str) -> None:
        raise RuntimeError("boom")

    def on_problem(name: str, message: str) -> None:
        problems.append((name, message))
        seen.set()

    scheduler = SourceScheduler(crash, on_problem)

    class Src:
        name = "hq"
        interval_seconds = 3600

    scheduler.start([Src()])  # type: ignore[list-item]
    try:
        await asyncio.wait_for(seen.wait(), timeout=10)
    finally:
        scheduler.shutdown()
    assert problems == [("hq", "internal error RuntimeError: boom; please report it")]


async def test_reload_with_a_broken_config_keeps_the_old_one(
    daemon: tuple[Daemon, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    d, _clock = daemon
    good = d.settings
    d.settings.path.write_text("this is = = not toml")

    class NoScheduler:
        def apply(self, _sources: object) -> list[str]:
            raise AssertionError("a refused reload must not reschedule")

    d.scheduler = NoScheduler()  # type: ignore[assignment]
    await d.reload()
    assert d.settings is good
    assert "reload refused" in caplog.text


def _paris_holidays(sim: WebexSimState) -> dict[str, Any]:
    paris = next(loc.id for loc in sim.locations.values() if loc.name == "Paris HQ")
    return sim.schedule_by_name(paris, "holidays", "French Holidays").events


def _summaries(folder: Path) -> dict[str, Path]:
    out = {}
    for file in sorted(folder.glob("*.ics")):
        (event,) = Calendar.from_ical(file.read_bytes()).walk("VEVENT")
        out[str(event["SUMMARY"])] = file
    return out


def _vdir_daemon(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep, clock: Clock
) -> Daemon:
    settings.path.write_text(settings.path.read_text() + "vdir = true\n")
    return Daemon(settings.path, clock=clock, transport_for=transport_for, sleep=fake_sleep)


def _french_holidays_vdir(d: Daemon) -> Path:
    return d.settings.daemon.output_dir.joinpath(
        VDIR_FOLDER, "hq", "locations", "Paris HQ", "holidays", "French Holidays"
    )


async def test_a_vdir_edit_is_pushed_by_the_daemon_and_the_file_keeps_it(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep, sim: WebexSimState
) -> None:
    # Under `run` nothing fills the export's calendars table: the daemon must find the
    # vdirs it wrote itself, or the edit is never pushed and the next write undoes it.
    clock = Clock()
    d = _vdir_daemon(settings, transport_for, fake_sleep, clock)
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        await d._sync_job("hq")
        folder = _french_holidays_vdir(d)
        file = _summaries(folder)["Christmas"]
        cal = Calendar.from_ical(file.read_bytes())
        cal.walk("VEVENT")[0]["SUMMARY"] = vText("Christmas Eve")
        file.write_bytes(cal.to_ical())

        clock.now = NOW + timedelta(minutes=15)
        await d._sync_job("hq")
        assert "Christmas Eve" in _paris_holidays(sim)
        assert "Christmas" not in _paris_holidays(sim)
        assert "Christmas Eve" in _summaries(folder)
        assert "Christmas" not in _summaries(folder)
        writes = len(sim.writes())
        clock.now = NOW + timedelta(minutes=30)
        await d._sync_job("hq")
        assert len(sim.writes()) == writes


async def test_a_calendar_held_empty_keeps_its_vdir_files(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep, sim: WebexSimState
) -> None:
    # The feed store held a calendar that answered with no events while its source had
    # some, but the vdir was written from the empty render: its files were deleted.
    clock = Clock()
    d = _vdir_daemon(settings, transport_for, fake_sleep, clock)
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        await d._sync_job("hq")
        folder = _french_holidays_vdir(d)
        before = {f.name: f.read_bytes() for f in folder.glob("*.ics")}
        assert before
        _paris_holidays(sim).clear()

        clock.now = NOW + timedelta(minutes=15)
        await d._sync_job("hq")
        assert d.feeds.held_calendars("hq") == {"hq/locations/Paris HQ/holidays/French Holidays"}
        assert {f.name: f.read_bytes() for f in folder.glob("*.ics")} == before
        assert sim.writes() == []  # and nothing was read as a deletion

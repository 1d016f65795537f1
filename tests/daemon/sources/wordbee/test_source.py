"""The Wordbee source against its simulator: the month loop, boundary de-duplication,
time zones (mapping, fallback, refusal), calendar keys, describe and read-only."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from support.fakes import DictTokens

from icsbridge.config.sources.wordbee import WordbeeSourceSettings
from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.simulators.wordbee.app import WordbeeSimState, create_app
from icsbridge.daemon.sources.base import PulledCalendar
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.wordbee.source import WordbeeSource, window_instants, window_months
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import render_pulled

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def settings(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> WordbeeSourceSettings:
    monkeypatch.setenv("WB_KEY", "demo-key")
    data = {
        "name": "wb",
        "interval": "15m",
        "base_url": "http://wordbee.test/api",
        "account_id": "demo",
        "key": "env:WB_KEY",
        "persons": [143, 3],
        **extra,
    }
    return WordbeeSourceSettings.model_validate(data)


async def pull(
    sim: WordbeeSimState, s: WordbeeSourceSettings, clock: Clock
) -> list[PulledCalendar]:
    transport = httpx.ASGITransport(app=create_app(sim))
    async with httpx.AsyncClient(transport=transport) as client:
        source = WordbeeSource(s, client, tokens=DictTokens(), clock=clock, sleep=clock.sleep)
        return await source.pull()


def by_key(calendars: list[PulledCalendar]) -> dict[str, PulledCalendar]:
    return {c.meta.key: c for c in calendars}


def test_window_months_cross_years() -> None:
    assert window_months(date(2026, 1, 31), 1, 2) == [(2025, 12), (2026, 1), (2026, 2), (2026, 3)]
    assert window_months(date(2026, 11, 1), 0, 2) == [(2026, 11), (2026, 12), (2027, 1)]
    start, end = window_instants([(2026, 3), (2026, 4)], ZoneInfo("Europe/Paris"))
    assert (start, end) == (
        datetime(2026, 2, 28, 23, tzinfo=UTC),
        datetime(2026, 4, 30, 22, tzinfo=UTC),
    )


async def test_the_window_is_read_month_by_month_with_the_auth_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    sim = wordbee_seed.demo_state(clock)
    calendars = await pull(sim, settings(monkeypatch), clock)
    views = sim.view_requests()
    months = [(r.query["year"], r.query["month"]) for r in views]
    expected = [("2026", str(m)) for m in range(2, 10)]  # 1 back, this month, 6 ahead
    assert months == expected * 2
    assert [r.path.split("/")[3] for r in views] == ["143"] * 8 + ["3"] * 8
    assert all(r.query["range"] == "m" for r in views)
    assert all(r.headers["x-auth-accountid"] == "demo" for r in views)
    assert all(r.headers["x-auth-token"] == "<redacted>" for r in views)  # sent, not logged
    logins = [r for r in sim.requests if r.path == "/api/auth/token"]
    assert len(logins) == 1 and sim.requests[0] is logins[0]
    assert sorted(by_key(calendars)) == [
        "wb/143/calendar",
        "wb/143/work-items",
        "wb/3/calendar",
        "wb/3/work-items",
    ]
    assert clock.slept == []


async def test_calendars_carry_names_zones_and_unique_appointments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    sim = wordbee_seed.demo_state(clock)
    cals = by_key(await pull(sim, settings(monkeypatch), clock))
    younes = cals["wb/143/calendar"]
    assert younes.meta.name == "Younes Guarssifi (Wordbee)"
    assert younes.meta.timezone == "Europe/Paris"
    assert younes.meta.refresh_seconds == 900
    assert "2026-02 to 2026-09" in younes.meta.description
    assert younes.ref == {"person": "143", "tz": "Europe/Paris"}
    assert cals["wb/3/calendar"].meta.timezone == "Europe/London"  # "GMT Standard Time"
    keys = [e.native_key for e in younes.events]
    assert len(keys) == len(set(keys))
    # The overnight migration (31 March 21:00 to 1 April 02:00 after the demo's shift)
    # is listed by March and by April; it is published once.
    boundary = [r for r in sim.view_requests() if r.query["month"] in ("3", "4")]
    assert len(boundary) == 4
    assert keys.count("appointment:130") == 1
    migration = next(e for e in younes.events if e.native_key == "appointment:130").component
    assert migration["DTSTART"].dt.month != migration["DTEND"].dt.month
    # The weekly sync is one RRULE; the rule Wordbee writes in words stays single events.
    assert "series:120" in keys
    assert not any(k.startswith("appointment:120") for k in keys)
    review = [e for e in younes.events if e.native_key.startswith("appointment:140")]
    assert len(review) > 3
    assert {str(e.component["X-WORDBEE-RCULE"]) for e in review} == {
        "Every 2 weeks on Thursday, 10 times"
    }
    work = cals["wb/143/work-items"]
    assert work.meta.name == "Younes Guarssifi: work items (Wordbee)"
    assert {e.native_key.split(":")[0] for e in work.events} == {"project", "job", "order"}
    assert cals["wb/3/work-items"].events == []  # no access: null lists


async def test_dst_inside_the_window_keeps_wall_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    sim = wordbee_seed.demo_state(clock)
    cals = by_key(await pull(sim, settings(monkeypatch, persons=[143]), clock))
    sync = next(e for e in cals["wb/143/calendar"].events if e.native_key == "series:120")
    start = sync.component["DTSTART"].dt
    assert (start.tzinfo, start.hour) == (ZoneInfo("Europe/Paris"), 10)
    # What the simulator listed month by month, as instants...
    younes = sim.persons[143]
    served = sorted(
        datetime.fromisoformat(a["dtfrom"])
        for year, month in window_months(NOW.date(), 1, 6)
        for a in sim.view(younes, sim.month_days(year, month), NOW)["appointments"]
        if a["appid"] == 120 or a["rcparent"] == 120
    )
    assert {moment.hour for moment in served} == {9, 8}  # winter and summer time
    # ...is what the RRULE on Paris wall time gives.
    rule = sync.component["RRULE"].to_ical().decode()
    expanded = [moment.astimezone(UTC) for moment in rrulestr(rule, dtstart=start)]
    assert expanded == served


async def test_offset_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    s = settings(monkeypatch, persons=[143])
    plain = await pull(wordbee_seed.demo_state(clock), s, clock)
    sim = wordbee_seed.demo_state(clock)

    def odd_offset(view: Any) -> Any:
        return {**view, "offset": -600.0}

    sim.mangle(odd_offset, times=100, path_contains="/calendar/view")
    odd = await pull(sim, s, clock)
    assert [[e.component.to_ical() for e in c.events] for c in odd] == [
        [e.component.to_ical() for e in c.events] for c in plain
    ]


async def test_unknown_zone_falls_back_to_the_config_with_a_note(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    sim = wordbee_seed.demo_state(clock)
    sim.persons[143].windows_zone = "Atlantis Standard Time"
    s = settings(monkeypatch, persons=[143], timezone="America/New_York")
    with caplog.at_level(logging.WARNING, logger="icsbridge.wordbee"):
        cals = by_key(await pull(sim, s, clock))
    assert cals["wb/143/calendar"].meta.timezone == "America/New_York"
    assert (
        'source "wb": person 143: Wordbee names the time zone "Atlantis Standard Time", which '
        'is no Windows or IANA zone icsbridge knows; using timezone = "America/New_York" from '
        "the config"
    ) in caplog.messages


async def test_unknown_zone_without_fallback_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    sim = wordbee_seed.demo_state(clock)
    sim.persons[3].windows_zone = "Atlantis Standard Time"
    with pytest.raises(SourceError) as caught:
        await pull(sim, settings(monkeypatch), clock)
    assert str(caught.value) == (
        'source "wb": person 3: Wordbee names the time zone "Atlantis Standard Time", which is '
        "no Windows or IANA zone icsbridge knows; set timezone to the person's IANA zone in "
        'the config for this source (e.g. timezone = "Europe/Paris")'
    )


async def test_work_items_none_and_todos(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clock = Clock()
    sim = wordbee_seed.demo_state(clock)
    cals = await pull(sim, settings(monkeypatch, work_items="none"), clock)
    assert sorted(by_key(cals)) == ["wb/143/calendar", "wb/3/calendar"]
    todo_cals = await pull(sim, settings(monkeypatch, work_items="todos"), clock)
    items = by_key(todo_cals)["wb/143/work-items"]
    assert items.events and all(e.component.name == "VTODO" for e in items.events)
    # Through identity and assembly like any calendar: a valid feed of VTODOs with DUE.
    with StateStore(tmp_path / "state.sqlite") as state:
        rendered = render_pulled(todo_cals, "wb", state, now=NOW)
    data = next(c.data for c in rendered if c.meta.key == "wb/143/work-items")
    assert validate_feed(data) == []
    todos = Calendar.from_ical(data).walk("VTODO")
    assert len(todos) == len(items.events)
    assert all("UID" in t and "DTSTAMP" in t and "DUE" in t for t in todos)


async def test_a_bad_answer_names_the_source_person_and_month(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    sim = wordbee_seed.demo_state(clock)

    def break_days(view: Any) -> Any:
        return {**view, "days": "none"}

    sim.mangle(break_days, path_contains="month=4")
    with pytest.raises(PayloadError) as caught:
        await pull(sim, settings(monkeypatch, persons=[143]), clock)
    assert str(caught.value) == (
        'source "wb": wordbee: person 143, 2026-04: field "days": "none" is not a JSON array'
    )


async def test_an_unknown_person_is_a_404_line(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with pytest.raises(SourceError) as caught:
        await pull(wordbee_seed.demo_state(clock), settings(monkeypatch, persons=[999]), clock)
    assert str(caught.value) == (
        'source "wb": GET /persons/999/calendar/view?range=m&year=2026&month=2: 404 Not Found: '
        "Not found: Person 999 does not exist; check the person ids in persons and base_url"
    )


def test_describe_needs_no_io_and_says_what_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WB_KEY", raising=False)
    s = WordbeeSourceSettings.model_validate(
        {
            "name": "wb",
            "interval": "1m",
            "base_url": "http://wordbee.test/api",
            "account_id": "demo",
            "key": "env:WB_KEY",
            "persons": [143, 3],
            "hourly_quota": 500,
        }
    )
    source = WordbeeSource(s, httpx.AsyncClient(), tokens=DictTokens())
    assert WordbeeSource.read_only is True and source.kind == "wordbee"
    assert source.describe() == [
        "account demo: token login with the key from env:WB_KEY",
        "window: 1 month(s) back and 6 ahead, one call per person and month (17 calls per "
        "sync with the login)",
        "person 143: days off, exceptionally worked days, appointments and work items as "
        "deadline events",
        "person 3: days off, exceptionally worked days, appointments and work items as "
        "deadline events",
        "hourly quota: 500 calls (deferred, never dropped); this interval needs about 1020 "
        "per hour, so syncs will wait",
        "time zones: Wordbee's Windows ids mapped with CLDR windowsZones.xml of 2025-04-10; "
        "fallback none (unknown zones fail)",
        "read-only: edits to these calendars are refused",
    ]

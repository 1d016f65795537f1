"""WebexSource write methods against the simulator: create, read, rename (re-key), delete."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest

from icsbridge.config.settings import WebexSourceSettings
from icsbridge.converters.webex.convert import (
    RecurDaily,
    RecurWeekly,
    RecurYearlyByDate,
    WebexEvent,
    WebexRecurrence,
)
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import create_app
from icsbridge.daemon.simulators.webex.state import DEMO_ACCESS_TOKEN
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.webex.source import WebexSource
from icsbridge.daemon.sources.webex.writes import schedule_path

pytestmark = pytest.mark.anyio
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class NoTokens:
    def get_secret(self, key: str) -> str | None:
        return None

    def set_secret(self, key: str, value: str) -> None:
        raise AssertionError("a static token source stores nothing")


class World:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sim = webex_seed.demo_state(now=lambda: NOW)
        self.delays: list[float] = []
        self.alice = next(
            p.id for p in self.sim.people.values() if p.display_name == "Alice Martin"
        )
        monkeypatch.setenv("WX_TOKEN", DEMO_ACCESS_TOKEN)
        settings = WebexSourceSettings.model_validate(
            {
                "name": "hq",
                "kind": "webex",
                "interval": "15m",
                "base_url": "https://webex.sim/v1",
                "token": "env:WX_TOKEN",
                "people": [self.alice],
                "org_id": self.sim.org_id,
            }
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.sim)))
        source = source_for(
            settings, client, tokens=NoTokens(), sleep=self.sleep, rng=random.Random(1)
        )
        assert isinstance(source, WebexSource)
        self.source = source

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def ref(self, key: str) -> dict[str, str]:
        calendars = {c.meta.key: c for c in await self.source.pull()}
        return calendars[key].ref


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch)


SHIFTS = "hq/people/Alice Martin/businessHours/Shifts"
FRENCH_HOLIDAYS = "hq/locations/Paris HQ/holidays/French Holidays"

LUNCH = WebexEvent(
    name="Lunch",
    startDate=date(2025, 3, 3),
    endDate=date(2025, 3, 3),
    startTime=time(12, 0),
    endTime=time(13, 0),
    recurrence=WebexRecurrence(
        recurForEver=True, recurWeekly=RecurWeekly(recurInterval=1, monday=True)
    ),
)


def fields(event: WebexEvent) -> dict[str, Any]:
    wire = event.to_wire()
    wire.pop("id", None)
    return wire


async def test_create_read_rename_delete_person_event(world: World) -> None:
    ref = await world.ref(SHIFTS)
    event_id = await world.source.create_event(ref, LUNCH)
    got = await world.source.get_event(ref, event_id)
    assert got.id == event_id
    assert fields(got) == fields(LUNCH)

    # An update that keeps the name keeps the id.
    later = LUNCH.model_copy(update={"startTime": time(12, 30), "endTime": time(13, 30)})
    assert await world.source.update_event(ref, event_id, later) == event_id

    # A rename gives a new id: the caller re-keys from the answer.
    new_id = await world.source.update_event(ref, event_id, later, new_name="Long Lunch")
    assert new_id != event_id
    renamed = await world.source.get_event(ref, new_id)
    assert renamed.name == "Long Lunch"
    assert renamed.startTime == time(12, 30)
    put = world.sim.writes()[-1]
    assert put.method == "PUT"
    assert put.json()["name"] == "Lunch" and put.json()["newName"] == "Long Lunch"
    assert "id" not in put.json()
    with pytest.raises(SourceError, match=r"404 Not Found"):
        await world.source.get_event(ref, event_id)

    await world.source.delete_event(ref, new_id)
    with pytest.raises(SourceError) as info:
        await world.source.get_event(ref, new_id)
    assert info.value.status == 404
    assert "Long Lunch" not in world.sim.people[world.alice].schedules[0].events


async def test_location_event_and_server_normalisation(world: World) -> None:
    ref = await world.ref(FRENCH_HOLIDAYS)
    assert ref["level"] == "LOCATION"
    armistice = WebexEvent(
        name="Armistice",
        startDate=date(2025, 1, 2),  # not an occurrence: the server moves it to 11 November
        endDate=date(2025, 1, 2),
        allDayEnabled=True,
        recurrence=WebexRecurrence(
            recurForEver=True, recurYearlyByDate=RecurYearlyByDate(dayOfMonth=11, month="NOVEMBER")
        ),
    )
    event_id = await world.source.create_event(ref, armistice)
    got = await world.source.get_event(ref, event_id)
    assert (got.startDate, got.endDate) == (date(2025, 11, 11), date(2025, 11, 11))
    assert schedule_path(ref).startswith("/telephony/config/locations/")


async def test_capability_refusal_is_one_line(world: World) -> None:
    ref = await world.ref(FRENCH_HOLIDAYS)
    daily = LUNCH.model_copy(
        update={
            "recurrence": WebexRecurrence(recurForEver=True, recurDaily=RecurDaily(recurInterval=1))
        }
    )
    with pytest.raises(SourceError) as info:
        await world.source.create_event(ref, daily)
    text = str(info.value)
    assert text.startswith('source "hq": POST /telephony/config/locations/')
    assert ": 400 Bad Request: " in text and "[errorCode 25008]" in text
    assert "\n" not in text


async def test_name_clash_keeps_the_error_code(world: World) -> None:
    ref = await world.ref(SHIFTS)
    await world.source.create_event(ref, LUNCH)
    with pytest.raises(SourceError) as info:
        await world.source.create_event(ref, LUNCH)
    assert info.value.status == 409
    assert info.value.error_codes == (25034,)


async def test_post_is_not_retried_after_a_server_error(world: World) -> None:
    ref = await world.ref(SHIFTS)
    world.sim.inject(500, method="POST", path_contains="/events")
    with pytest.raises(SourceError, match=r": 500 Internal Server Error: "):
        await world.source.create_event(ref, LUNCH)
    assert len(world.sim.writes()) == 1
    assert world.delays == []


async def test_post_is_retried_after_429(world: World) -> None:
    ref = await world.ref(SHIFTS)
    world.sim.inject(429, retry_after=2, method="POST", path_contains="/events")
    assert await world.source.create_event(ref, LUNCH)
    assert len(world.sim.writes()) == 2
    assert world.delays == [2.0]


async def test_put_and_delete_are_retried(world: World) -> None:
    ref = await world.ref(SHIFTS)
    event_id = await world.source.create_event(ref, LUNCH)
    world.sim.inject(503, method="PUT")
    world.sim.inject(502, method="DELETE")
    assert await world.source.update_event(ref, event_id, LUNCH) == event_id
    await world.source.delete_event(ref, event_id)
    assert [w.method for w in world.sim.writes()] == ["POST", "PUT", "PUT", "DELETE", "DELETE"]


async def test_writes_carry_org_id_and_tracking_id(world: World) -> None:
    ref = await world.ref(SHIFTS)
    event_id = await world.source.create_event(ref, LUNCH)
    await world.source.delete_event(ref, event_id)
    for request in world.sim.writes():
        assert request.query["orgId"] == world.sim.org_id
        assert request.headers["trackingid"].startswith("ICSBRIDGE_")


async def test_get_event_with_a_bad_payload(world: World) -> None:
    ref = await world.ref(SHIFTS)
    event_id = await world.source.create_event(ref, LUNCH)
    world.sim.mangle(lambda body: {**body, "endTime": "9am"}, path_contains="/events/")
    with pytest.raises(Exception) as info:
        await world.source.get_event(ref, event_id)
    assert str(info.value) == (
        f'source "hq": webex: event {event_id}: event "Lunch": field "endTime": "9am" is not '
        "a time HH:MM (24 h)"
    )

"""ApioSource write methods against the simulator: periods (add, change, rename, delete),
schedules (create, delete), and a 207 reported as a partial failure."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from support.fakes import DictTokens

from icsbridge.config.sources.apio import ApioSourceSettings
from icsbridge.converters.apio.convert import HolidayPeriod, TimePeriod
from icsbridge.daemon.simulators.apio import seed as apio_seed
from icsbridge.daemon.simulators.apio.app import create_app
from icsbridge.daemon.simulators.apio.state import DEMO_PASSWORD, DEMO_USERNAME
from icsbridge.daemon.sources.apio.source import ApioSource
from icsbridge.daemon.sources.apio.writes import PartialWriteError, PeriodChange
from icsbridge.daemon.sources.http import SourceError

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SEED = "APIO Test Time Schedule"
P1, P2 = "APIO Test Group Period 1", "APIO Test Group Period 2"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class World:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
        self.sim = apio_seed.demo_state(now=lambda: NOW)
        monkeypatch.setenv("APIO_USER", DEMO_USERNAME)
        monkeypatch.setenv("APIO_PASSWORD", DEMO_PASSWORD)
        settings = ApioSourceSettings.model_validate(
            {
                "name": "east",
                "kind": "apio",
                "interval": "15m",
                "base_url": base_url,
                "tenant": "foo",
                "groups": ["foogroup"],
                "timezone": "Europe/Brussels",
                "username": "env:APIO_USER",
                "password": "env:APIO_PASSWORD",
            }
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.sim)))
        self.source = ApioSource(
            settings, client, tokens=DictTokens(), sleep=self.sleep, rng=random.Random(1)
        )
        self.ref = {
            "tenant": "foo",
            "group": "foogroup",
            "kind": "time",
            "family": "time",
            "schedule": SEED,
        }

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("no retry expected")

    def periods(self, store: str = "time_schedules", name: str = SEED) -> dict[str, Any]:
        return self.sim.schedule("foo", "foogroup", store, name).periods

    def writes(self) -> list[tuple[str, str, Any]]:
        return [(r.method, r.path, r.json() if r.body else None) for r in self.sim.writes()]


@pytest.fixture(params=["https://apio.sim/api/v1", "https://apio.sim/api/v01/demo"])
def world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch, request.param)


def monday(name: str = "Monday Desk", **fields: Any) -> TimePeriod:
    body = {
        "name": name,
        "type": "Day of the week",
        "dayOfWeek": "Monday",
        "startTime": "8:00",
        "stopTime": "12:00",
        **fields,
    }
    return TimePeriod.model_validate(body)


async def test_add_a_period(world: World) -> None:
    await world.source.add_period(world.ref, monday())
    assert world.periods()["Monday Desk"] == {
        "name": "Monday Desk",
        "type": "Day of the week",
        "dayOfWeek": "Monday",
        "startTime": "8:00",
        "stopTime": "12:00",
        "active": True,
    }
    prefix = world.writes()[0][1].split("/tenants/")[1]
    assert prefix == "foo/groups/foogroup/time_schedules/APIO%20Test%20Time%20Schedule/"


async def test_change_a_period_in_place(world: World) -> None:
    await world.source.update_period(world.ref, P1, monday(P1, active=False))
    assert world.periods()[P1]["dayOfWeek"] == "Monday"
    assert world.periods()[P1]["active"] is False
    method, path, body = world.writes()[0]
    assert (method, path.rsplit("/tenants/", 1)[1]) == (
        "PUT",
        "foo/groups/foogroup/time_schedules/APIO%20Test%20Time%20Schedule/"
        "APIO%20Test%20Group%20Period%201/",
    )
    assert body["name"] == P1


async def test_rename_a_period_with_new_name(world: World) -> None:
    current = await world.source.get_period(world.ref, P1)
    await world.source.update_period(world.ref, P1, current, new_name="Friday Desk")
    assert P1 not in world.periods()
    assert world.periods()["Friday Desk"]["dayOfWeek"] == "Friday"
    method, path, body = world.writes()[0]
    assert method == "PUT" and path.endswith("/time_schedules/APIO%20Test%20Time%20Schedule/")
    assert body == {
        "name": SEED,
        "periods": [
            {
                "name": P1,
                "newName": "Friday Desk",
                "type": "Day of the week",
                "dayOfWeek": "Friday",
                "startTime": "10:30",
                "stopTime": "12:30",
                "active": True,
            }
        ],
    }


async def test_delete_a_period(world: World) -> None:
    await world.source.delete_period(world.ref, P2)
    assert list(world.periods()) == [P1]


async def test_a_batch_in_one_put(world: World) -> None:
    changes = [
        PeriodChange("add", "Evening", monday("Evening", startTime="18:00", stopTime="20:00")),
        PeriodChange("change", P2, monday(P2)),
        PeriodChange("rename", P1, monday(P1), new_name="Monday Morning"),
    ]
    await world.source.apply_period_changes(world.ref, changes)
    assert sorted(world.periods()) == [P2, "Evening", "Monday Morning"]
    assert len(world.writes()) == 1


async def test_a_207_is_reread_and_reported_as_a_partial_failure(world: World) -> None:
    world.sim.fail_period(P2)
    changes = [
        PeriodChange("change", P1, monday(P1)),
        PeriodChange("delete", P2),
        PeriodChange("add", "Evening", monday("Evening", startTime="18:00", stopTime="20:00")),
    ]
    with pytest.raises(PartialWriteError) as caught:
        await world.source.apply_period_changes(world.ref, changes)
    assert caught.value.failed == [f'delete "{P2}"']
    assert caught.value.applied == [f'change "{P1}"', 'add "Evening"']
    assert str(caught.value) == (
        'source "east": PUT /tenants/foo/groups/foogroup/time_schedules/'
        "APIO%20Test%20Time%20Schedule/: 207 Multi-Status: 1 of 3 period changes did not "
        f'apply: delete "{P2}"; applied: change "{P1}", add "Evening"; fix them and write again'
    )
    reread = [r for r in world.sim.requests if r.method == "GET"]
    assert reread and reread[-1].query == {"full_list": "true"}


async def test_create_and_delete_a_schedule(world: World) -> None:
    holiday = HolidayPeriod.model_validate(
        {"name": "Closed", "type": "Full days", "startDay": "2026-05-01", "stopDay": "2026-05-01"}
    )
    ref = await world.source.create_schedule(
        tenant="foo", group="foogroup", kind="holiday", name="Extra Days", periods=[holiday]
    )
    assert ref == {
        "tenant": "foo",
        "group": "foogroup",
        "kind": "holiday",
        "family": "holiday",
        "schedule": "Extra Days",
    }
    assert world.periods("calendar_schedules", "Extra Days") == {
        "Closed": {
            "name": "Closed",
            "type": "Full days",
            "startDay": "2026-05-01",
            "stopDay": "2026-05-01",
        }
    }
    await world.source.delete_schedule(ref)
    assert "Extra Days" not in world.sim.scope("foo", "foogroup").stores["calendar_schedules"]


async def test_a_refused_write_is_one_line_with_the_broadworks_words(world: World) -> None:
    with pytest.raises(SourceError) as caught:
        await world.source.add_period(world.ref, monday(P1))
    assert str(caught.value) == (
        'source "east": POST /tenants/foo/groups/foogroup/time_schedules/'
        "APIO%20Test%20Time%20Schedule/: 409 Conflict: period 'APIO Test Group Period 1' "
        "already exists"
    )
    rota = {**world.ref, "schedule": "Support Rota"}
    with pytest.raises(SourceError) as caught:
        await world.source.delete_period(rota, "Inventory Day")
    assert caught.value.error_codes == (62,)
    assert "[sub-code 62]" in str(caught.value)

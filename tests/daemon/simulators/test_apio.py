"""The APIO simulator on its own: the quirks of seed 001 / apio.md, through ASGITransport."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from icsbridge.config.sources.apio import ApioSourceSettings
from icsbridge.daemon.simulators.apio import seed as apio_seed
from icsbridge.daemon.simulators.apio.app import (
    ApioSimState,
    create_app,
    demo_secret_files,
    demo_source,
)
from icsbridge.daemon.simulators.apio.state import DEMO_MACHINE_TOKEN, DEMO_PASSWORD, DEMO_USERNAME

pytestmark = pytest.mark.anyio
GROUP = "/api/v1/tenants/foo/groups/foogroup"
CORE = "/api/v01/demo/tenants/foo/groups/foogroup"
LOGIN = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
SEED = "APIO%20Test%20Time%20Schedule"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> ApioSimState:
    return apio_seed.demo_state(now=clock)


def client(sim: ApioSimState) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim)), base_url="https://apio.sim"
    )


async def login(c: httpx.AsyncClient) -> None:
    """Log ``c`` in to the gateway (the session cookie goes to its jar)."""
    assert (await c.post("/api/v1/login/", json=LOGIN)).status_code == 200


async def test_gateway_session_login_and_expiry(sim: ApioSimState, clock: Clock) -> None:
    async with client(sim) as c:
        answer = await c.get(f"{GROUP}/time_schedules/")
        assert answer.status_code == 401
        assert "error" in answer.json()
        wrong = await c.post("/api/v1/login/", json={**LOGIN, "password": "nope"})
        assert (wrong.status_code, wrong.json()) == (401, {"error": "Invalid username or password"})
        ok = await c.post("/api/v1/login/", json=LOGIN)
        assert ok.status_code == 200 and "HttpOnly" in ok.headers["set-cookie"]
        assert (await c.get(f"{GROUP}/time_schedules/")).status_code == 200
        clock.now += timedelta(hours=1)
        assert (await c.get(f"{GROUP}/time_schedules/")).status_code == 401
        # The Core mount wants a bearer token, not the session.
        assert (await c.get(f"{CORE}/time_schedules/")).status_code == 401


async def test_core_jwt_login_refresh_and_machine_token(sim: ApioSimState, clock: Clock) -> None:
    async with client(sim) as c:
        tokens = (await c.post("/api/v01/auth/login", json=LOGIN)).json()
        assert set(tokens) == {"access_token", "refresh_token"}
        assert tokens["access_token"].count(".") == 2  # JWT-shaped
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await c.get(f"{CORE}/time_schedules/", headers=bearer)).status_code == 200
        clock.now += timedelta(minutes=15)
        assert (await c.get(f"{CORE}/time_schedules/", headers=bearer)).status_code == 401
        refreshed = await c.get(
            "/api/v01/auth/access_token",
            headers={"Authorization": f"Bearer {tokens['refresh_token']}"},
        )
        new = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        assert (await c.get(f"{CORE}/time_schedules/", headers=new)).status_code == 200
        bad = await c.get("/api/v01/auth/access_token", headers=bearer)
        assert bad.status_code == 401
        machine = {"Authorization": f"Bearer {DEMO_MACHINE_TOKEN}"}
        assert (await c.get(f"{CORE}/time_schedules/", headers=machine)).status_code == 200
        unknown_proxy = "/api/v01/other/tenants/foo/groups/foogroup/time_schedules/"
        assert (await c.get(unknown_proxy, headers=machine)).status_code == 404


async def test_every_url_must_end_with_a_slash(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        for path in (f"{GROUP}/time_schedules", f"{GROUP}/time_schedules/{SEED}"):
            answer = await c.get(path)
            assert answer.status_code == 404
            assert "APIO URLs end with /" in answer.json()["error"]
        assert (await c.post("/api/v1/login", json=LOGIN)).status_code == 404


async def test_lists_names_and_levels(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        plain = (await c.get(f"{GROUP}/time_schedules/")).json()
        assert plain == {
            "schedules": [
                {"name": "APIO Test Time Schedule"},
                {"name": "Office Hours"},
                {"name": "Support Rota"},  # advanced-only, still listed
            ]
        }
        by_query = (await c.get(f"{GROUP}/time_schedules/", params={"allLevels": "true"})).json()
        by_body = (
            await c.request("GET", f"{GROUP}/time_schedules/", json={"allLevels": True})
        ).json()
        assert by_query == by_body
        assert by_query["schedules"][-1] == {"name": "Enterprise Hours", "level": "Enterprise"}
        assert by_query["schedules"][0] == {"name": "APIO Test Time Schedule", "level": "Group"}


async def test_schedule_names_only_unless_full_list(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        names = (await c.get(f"{GROUP}/time_schedules/{SEED}/")).json()
        assert names == {
            "name": "APIO Test Time Schedule",
            "periods": [{"name": "APIO Test Group Period 1"}, {"name": "APIO Test Group Period 2"}],
        }
        full = (await c.get(f"{GROUP}/time_schedules/{SEED}/", params={"full_list": "true"})).json()
        body = (
            await c.request("GET", f"{GROUP}/time_schedules/{SEED}/", json={"full_list": True})
        ).json()
        assert full == body
        assert full["periods"][1] == {
            "name": "APIO Test Group Period 2",
            "type": "Day of the month",
            "dayOfMonth": 10,
            "startTime": "9:45",
            "stopTime": "13:15",
            "active": False,
        }


async def test_advanced_only_schedule_answers_sub_code_62(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        simple = await c.get(
            f"{GROUP}/time_schedules/Support%20Rota/", params={"full_list": "true"}
        )
        assert simple.status_code == 400
        assert simple.json() == {
            "errors": [
                {"message": "Schedule period not compatible with simplified mode", "code": 62}
            ]
        }
        advanced = await c.get(f"{GROUP}/advanced_time_schedules/Support%20Rota/?full_list=true")
        assert advanced.status_code == 200
        assert len(advanced.json()["periods"]) == 8
        holiday = await c.get(f"{GROUP}/calendar_schedules/Recurring%20Holidays/")
        assert holiday.json()["errors"][0]["code"] == 62


async def test_names_are_percent_encoded_keys(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        name = "Ops/Night & Day é"
        created = await c.post(f"{GROUP}/time_schedules/", json={"name": name})
        assert created.status_code == 201
        encoded = "Ops%2FNight%20%26%20Day%20%C3%A9"
        assert (await c.get(f"{GROUP}/time_schedules/{encoded}/")).json()["name"] == name
        assert name in sim.scope("foo", "foogroup").stores["time_schedules"]


async def test_create_delete_and_their_errors(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        period = {
            "name": "P",
            "type": "Day of the week",
            "dayOfWeek": "Monday",
            "startTime": "9:00",
            "stopTime": "10:00",
        }
        made = await c.post(f"{GROUP}/time_schedules/", json={"name": "New", "periods": [period]})
        assert (made.status_code, made.json()) == (201, {"name": "New", "periods": [period]})
        again = await c.post(f"{GROUP}/time_schedules/", json={"name": "New"})
        assert (again.status_code, again.json()) == (
            409,
            {"message": "schedule 'New' already exists"},
        )
        bad = await c.post(
            f"{GROUP}/time_schedules/",
            json={"name": "Bad", "periods": [{**period, "dayOfWeek": "Mon"}]},
        )
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["details"]["errors"][0]["summary"] == (
            "[Error 4003] Invalid dayOfWeek: 'Mon'"
        )
        gone = await c.request("DELETE", f"{GROUP}/time_schedules/", json={"schedules": ["New"]})
        assert (gone.status_code, gone.json()) == (200, {})
        assert (await c.delete(f"{GROUP}/time_schedules/Office%20Hours/")).status_code == 200
        assert (await c.get(f"{GROUP}/time_schedules/New/")).status_code == 404


async def test_schedule_put_renames_updates_deletes_and_adds_periods(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        body = {
            "name": "APIO Test Time Schedule New",
            "periods": [
                {
                    "name": "APIO Test Group Period 1",
                    "newName": "APIO Test Group Updated Period 1",
                    "startTime": "11:30",
                    "stopTime": "15:30",
                },
                {"name": "APIO Test Group Period 2", "delete": True},
                {
                    "name": "APIO Test Group Period 3",
                    "type": "Day of the month",
                    "dayOfMonth": 20,
                    "startTime": "9:15",
                    "stopTime": "14:45",
                    "active": True,
                },
            ],
        }
        answer = await c.put(f"{GROUP}/time_schedules/{SEED}/", json=body)  # the seed's example
        assert answer.status_code == 200
        assert answer.json()["name"] == "APIO Test Time Schedule New"
        assert [p["name"] for p in answer.json()["periods"]] == [
            "APIO Test Group Updated Period 1",
            "APIO Test Group Period 3",
        ]
        assert answer.json()["periods"][0]["dayOfWeek"] == "Friday"  # fields merged


async def test_a_failing_period_makes_the_put_answer_207(sim: ApioSimState) -> None:
    sim.fail_period("APIO Test Group Period 2")
    async with client(sim) as c:
        await login(c)
        body = {
            "name": "APIO Test Time Schedule",
            "periods": [
                {"name": "APIO Test Group Period 1", "startTime": "8:00"},
                {"name": "APIO Test Group Period 2", "delete": True},
            ],
        }
        answer = await c.put(f"{GROUP}/time_schedules/{SEED}/", json=body)
        assert answer.status_code == 207
        assert answer.json()["errors"] == [
            {
                "name": "APIO Test Group Period 2",
                "message": "[Error 4100] BroadWorks refused the change of period "
                "'APIO Test Group Period 2'",
            }
        ]
        periods = sim.schedule(
            "foo", "foogroup", "time_schedules", "APIO Test Time Schedule"
        ).periods
        assert periods["APIO Test Group Period 1"]["startTime"] == "8:00"
        assert "APIO Test Group Period 2" in periods
        only_failing = {"name": "APIO Test Time Schedule", "periods": body["periods"][1:]}
        all_failed = await c.put(f"{GROUP}/time_schedules/{SEED}/", json=only_failing)
        assert all_failed.status_code == 400


async def test_single_period_endpoints(sim: ApioSimState) -> None:
    async with client(sim) as c:
        await login(c)
        path = f"{GROUP}/time_schedules/{SEED}/APIO%20Test%20Group%20Period%201/"
        assert (await c.get(path)).json()["dayOfWeek"] == "Friday"
        renamed = await c.put(
            path,
            json={
                "name": "APIO Test Group Updated Period 1",
                "type": "Day of the week",
                "dayOfWeek": "Monday",
                "startTime": "11:30",
                "stopTime": "15:30",
            },
        )
        assert renamed.json()["name"] == "APIO Test Group Updated Period 1"
        assert (await c.get(path)).status_code == 404
        added = await c.post(
            f"{GROUP}/time_schedules/{SEED}/",
            json={
                "name": "X",
                "type": "Day of the month",
                "dayOfMonth": 1,
                "startTime": "1:00",
                "stopTime": "2:00",
            },
        )
        assert added.status_code == 201 and len(added.json()["periods"]) == 3
        clash = await c.post(f"{GROUP}/time_schedules/{SEED}/", json=added.json()["periods"][2])
        assert clash.status_code == 409
        assert (await c.delete(f"{GROUP}/time_schedules/{SEED}/X/")).status_code == 200


async def test_faults_shapes_and_request_log(sim: ApioSimState) -> None:
    sim.inject(429, retry_after=7, path_contains="/time_schedules/")
    sim.inject(500, shape="message", method="GET")
    sim.mangle(lambda body: {"unexpected": body}, path_contains="calendar_schedules")
    async with client(sim) as c:
        await login(c)
        first = await c.get(f"{GROUP}/time_schedules/")
        assert (first.status_code, first.headers["retry-after"]) == (429, "7")
        second = await c.get(f"{GROUP}/time_schedules/")
        assert (second.status_code, second.json()) == (500, {"message": "simulated HTTP 500"})
        assert (await c.get(f"{GROUP}/time_schedules/")).status_code == 200
        assert "unexpected" in (await c.get(f"{GROUP}/calendar_schedules/")).json()
    first_call = sim.requests[0]
    assert (first_call.path, first_call.body, first_call.status) == (
        "/api/v1/login/",
        b"<redacted>",
        200,
    )
    assert all(r.headers.get("cookie") in (None, "<redacted>") for r in sim.requests)
    assert [r.status for r in sim.requests[1:]] == [429, 500, 200, 200]
    assert sim.writes() == []


def test_demo_data_and_bulk_builder() -> None:
    sim = apio_seed.demo_state()
    group = sim.scope("foo", "foogroup")
    assert sorted(group.stores["time_schedules"]) == ["APIO Test Time Schedule", "Office Hours"]
    assert len(group.stores["calendar_schedules"]["Belgian Holidays 2026"].periods) == 12
    bulk: list[Any] = [apio_seed.bulk_state(3, 2, 10) for _ in range(2)]
    stores = [b.scope("bench", "group-002").stores["time_schedules"] for b in bulk]
    assert stores[0] == stores[1] and len(stores[0]) == 2
    assert len(stores[0]["Hours 001"].periods) == 10


def test_demo_source_block_is_a_valid_apio_source(tmp_path: Path) -> None:
    for name, text in demo_secret_files().items():
        (tmp_path / name).write_text(text)
    for base, login in (
        ("http://127.0.0.1:8123", "core-jwt"),
        ("http://127.0.0.1:8123/api/v1", "gateway-session"),
    ):
        raw = tomllib.loads(demo_source(base))["sources"][0]
        settings = ApioSourceSettings.model_validate(raw, context={"base_dir": tmp_path})
        assert settings.name == "apio-demo"
        assert settings.login_mode == login
        assert settings.username is not None and settings.password is not None
        assert settings.username.resolve() == DEMO_USERNAME
        assert settings.password.resolve() == DEMO_PASSWORD
    assert 'base_url = "http://127.0.0.1:8123/api/v01/demo"' in demo_source("http://127.0.0.1:8123")

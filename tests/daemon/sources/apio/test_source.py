"""ApioSource.pull() against the APIO simulator (httpx.ASGITransport, no sockets)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from icalendar import Calendar
from support.fakes import DictTokens

from icsbridge.config.sources.apio import ApioSourceSettings
from icsbridge.converters.errors import PayloadError
from icsbridge.daemon.simulators.apio import seed as apio_seed
from icsbridge.daemon.simulators.apio.app import create_app
from icsbridge.daemon.simulators.apio.state import DEMO_MACHINE_TOKEN, DEMO_PASSWORD, DEMO_USERNAME
from icsbridge.daemon.sources.apio.source import ApioSource
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.kinds import SOURCE_KINDS
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import render_pulled

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CORE = "https://apio.sim/api/v01/demo"
GATEWAY = "https://apio.sim/api/v1"
ALL_KEYS = [
    "east/bargroup/holiday/Closures",
    "east/bargroup/time/Reception",
    "east/enterprise/time/Enterprise Hours",
    "east/foogroup/holiday/Belgian Holidays 2026",
    "east/foogroup/holiday/Recurring Holidays",
    "east/foogroup/time/APIO Test Time Schedule",
    "east/foogroup/time/Office Hours",
    "east/foogroup/time/Support Rota",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class World:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = NOW
        self.sim = apio_seed.demo_state(now=lambda: self.now)
        self.delays: list[float] = []
        monkeypatch.setenv("APIO_USER", DEMO_USERNAME)
        monkeypatch.setenv("APIO_PASSWORD", DEMO_PASSWORD)
        monkeypatch.setenv("APIO_TOKEN", DEMO_MACHINE_TOKEN)

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def settings(self, **config: Any) -> ApioSourceSettings:
        raw: dict[str, Any] = {
            "name": "east",
            "kind": "apio",
            "interval": "15m",
            "base_url": CORE,
            "tenant": "foo",
            "groups": ["foogroup", "bargroup"],
            "timezone": "Europe/Brussels",
            "username": "env:APIO_USER",
            "password": "env:APIO_PASSWORD",
            **config,
        }
        return ApioSourceSettings.model_validate({k: v for k, v in raw.items() if v is not None})

    def source(self, **config: Any) -> ApioSource:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.sim)))
        return ApioSource(
            self.settings(**config),
            client,
            tokens=DictTokens(),
            sleep=self.sleep,
            rng=random.Random(1),
            clock=lambda: self.now,
        )

    def calls(self) -> list[str]:
        return [f"{r.method} {unquote(r.path)}" for r in self.sim.requests]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch)


async def test_registered_kind() -> None:
    assert SOURCE_KINDS["apio"] is ApioSource


async def test_pull_the_whole_demo_tenant(world: World) -> None:
    source = world.source(families=["time", "holiday", "advanced"], all_levels=True)
    calendars = await source.pull()
    assert [c.meta.key for c in calendars] == ALL_KEYS
    counts = {c.meta.key.split("/", 1)[1]: len(c.events) for c in calendars}
    assert counts == {
        "bargroup/holiday/Closures": 2,
        "bargroup/time/Reception": 2,
        "enterprise/time/Enterprise Hours": 2,
        "foogroup/holiday/Belgian Holidays 2026": 12,
        "foogroup/holiday/Recurring Holidays": 2,
        "foogroup/time/APIO Test Time Schedule": 2,
        "foogroup/time/Office Hours": 8,
        "foogroup/time/Support Rota": 8,
    }
    seed = next(c for c in calendars if c.meta.key.endswith("APIO Test Time Schedule"))
    assert seed.meta.name == "APIO Test Time Schedule (foogroup)"
    assert seed.meta.description == (
        'APIO time schedule "APIO Test Time Schedule" of group "foogroup", tenant foo '
        "(time zone Europe/Brussels)"
    )
    assert (seed.meta.timezone, seed.meta.refresh_seconds) == ("Europe/Brussels", 900)
    assert seed.ref == {
        "tenant": "foo",
        "group": "foogroup",
        "kind": "time",
        "family": "time",
        "schedule": "APIO Test Time Schedule",
        "tz": "Europe/Brussels",
    }
    assert [e.native_key for e in seed.events] == [
        "APIO Test Group Period 1",
        "APIO Test Group Period 2",
    ]


async def test_every_url_ends_with_a_slash_and_names_are_percent_encoded(world: World) -> None:
    await world.source(all_levels=True).pull()
    api = [r for r in world.sim.requests if "/tenants/" in r.path]
    assert api and all(r.path.split("?")[0].endswith("/") for r in api)
    assert all(" " not in r.path for r in api)
    raw = [r.path for r in api if "Office" in r.path]
    assert raw == [
        "/api/v01/demo/tenants/foo/groups/foogroup/time_schedules/Office%20Hours/?full_list=true"
    ]
    office = next(r for r in api if "Office" in r.path)
    assert office.json() == {"full_list": True}  # the documented GET body, sent too
    lists = [r for r in api if r.path.endswith("_schedules/?allLevels=true")]
    assert len(lists) == 4 and all(r.json() == {"allLevels": True} for r in lists)


async def test_sub_code_62_reads_through_the_advanced_family(world: World) -> None:
    calendars = await world.source().pull()  # "advanced" not configured: still followed
    by_key = {c.meta.key: c for c in calendars}
    rota = by_key["east/foogroup/time/Support Rota"]
    assert rota.ref["family"] == "advanced"
    assert "advanced time schedule" in rota.meta.description
    holidays = by_key["east/foogroup/holiday/Recurring Holidays"]
    assert holidays.ref["family"] == "advanced"
    calls = world.calls()
    simple = "GET /api/v01/demo/tenants/foo/groups/foogroup/time_schedules/Support Rota/"
    advanced = "GET /api/v01/demo/tenants/foo/groups/foogroup/advanced_time_schedules/Support Rota/"
    assert [c.split("?")[0] for c in calls if "Support Rota" in c] == [simple, advanced]
    assert any("advanced_calendar_schedules/Recurring Holidays/" in c for c in calls)
    assert "east/enterprise/time/Enterprise Hours" not in by_key  # all_levels is off


async def test_families_choose_what_is_listed(world: World) -> None:
    calendars = await world.source(families=["holiday"]).pull()
    assert [c.meta.key for c in calendars] == [
        "east/bargroup/holiday/Closures",
        "east/foogroup/holiday/Belgian Holidays 2026",
        "east/foogroup/holiday/Recurring Holidays",
    ]
    assert not any("time_schedules" in c for c in world.calls())


async def test_advanced_family_alone_reads_advanced_schedules_once(world: World) -> None:
    source = world.source(families=["time", "advanced"], groups=["foogroup"])
    keys = [c.meta.key for c in await source.pull()]
    assert keys == [
        "east/foogroup/time/APIO Test Time Schedule",
        "east/foogroup/time/Office Hours",
        "east/foogroup/time/Support Rota",
    ]
    reads = Counter(c.split("?")[0] for c in world.calls() if "Support Rota" in c)
    assert set(reads.values()) == {1}
    only = world.source(families=["advanced"], groups=["foogroup"])
    world.sim.requests.clear()
    assert [c.meta.key for c in await only.pull()] == ["east/foogroup/time/Support Rota"]


async def test_enterprise_schedules_are_read_once_through_the_tenant(world: World) -> None:
    calendars = await world.source(all_levels=True).pull()
    enterprise = next(c for c in calendars if c.meta.key.startswith("east/enterprise/"))
    assert enterprise.ref["group"] == ""
    assert enterprise.meta.name == "Enterprise Hours (foo)"
    reads = [c for c in world.calls() if "Enterprise Hours" in c]
    assert reads == [
        "GET /api/v01/demo/tenants/foo/time_schedules/Enterprise Hours/?full_list=true"
    ]


async def test_gateway_session_logs_in_once_and_sends_the_cookie(world: World) -> None:
    await world.source(base_url=GATEWAY, families=["time"]).pull()
    logins = [r for r in world.sim.requests if r.path == "/api/v1/login/"]
    assert len(logins) == 1
    api = [r for r in world.sim.requests if "/tenants/" in r.path]
    assert all(r.headers.get("cookie") == "<redacted>" for r in api)
    assert all("authorization" not in r.headers for r in api)
    assert [r.status for r in api if r.status != 200] == [400]  # Support Rota: sub-code 62


async def test_an_expired_session_logs_in_again_once(world: World) -> None:
    source = world.source(base_url=GATEWAY, families=["time"], groups=["bargroup"])
    await source.pull()
    world.now += timedelta(hours=2)  # the session is gone
    world.sim.requests.clear()
    calendars = await source.pull()
    assert [c.meta.key for c in calendars] == ["east/bargroup/time/Reception"]
    assert [(r.path.split("?")[0], r.status) for r in world.sim.requests] == [
        ("/api/v1/tenants/foo/groups/bargroup/time_schedules/", 401),
        ("/api/v1/login/", 200),
        ("/api/v1/tenants/foo/groups/bargroup/time_schedules/", 200),
        ("/api/v1/tenants/foo/groups/bargroup/time_schedules/Reception/", 200),
    ]


async def test_a_refused_session_fails_in_one_line_after_one_new_login(world: World) -> None:
    source = world.source(base_url=GATEWAY, families=["time"], groups=["bargroup"])
    await source.pull()
    world.sim.inject(401, times=2, path_contains="/tenants/", shape="error")
    with pytest.raises(SourceError) as caught:
        await source.pull()
    assert str(caught.value) == (
        'source "east": GET /tenants/foo/groups/bargroup/time_schedules/: 401 Unauthorized: '
        "simulated HTTP 401; check token, or username and password (and login)"
    )
    assert [r.path for r in world.sim.requests].count("/api/v1/login/") == 2


async def test_core_jwt_refreshes_then_logs_in_again(world: World) -> None:
    source = world.source(families=["time"], groups=["bargroup"])
    await source.pull()
    world.now += timedelta(minutes=20)  # the access token expired, the refresh token did not
    world.sim.requests.clear()
    await source.pull()
    paths = [r.path.split("?")[0] for r in world.sim.requests]
    assert paths[:3] == [
        "/api/v01/demo/tenants/foo/groups/bargroup/time_schedules/",
        "/api/v01/auth/access_token",
        "/api/v01/demo/tenants/foo/groups/bargroup/time_schedules/",
    ]
    world.now += timedelta(days=2)  # both expired: log in again
    world.sim.requests.clear()
    await source.pull()
    paths = [(r.path.split("?")[0], r.status) for r in world.sim.requests]
    assert paths[:4] == [
        ("/api/v01/demo/tenants/foo/groups/bargroup/time_schedules/", 401),
        ("/api/v01/auth/access_token", 401),
        ("/api/v01/auth/login", 200),
        ("/api/v01/demo/tenants/foo/groups/bargroup/time_schedules/", 200),
    ]


async def test_machine_token_is_a_bearer_token_and_a_401_is_final(world: World) -> None:
    source = world.source(token="env:APIO_TOKEN", username=None, password=None, families=["time"])
    assert len(await source.pull()) == 4
    assert not any("/auth/" in r.path for r in world.sim.requests)
    world.sim.auth.machine_tokens.clear()
    with pytest.raises(SourceError) as caught:
        await source.pull()
    assert str(caught.value) == (
        'source "east": GET /tenants/foo/groups/foogroup/time_schedules/: 401 Unauthorized: '
        "Invalid or expired token; check token, or username and password (and login)"
    )
    assert DEMO_MACHINE_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        (
            CORE,
            'source "east": POST /auth/login: 401 Unauthorized: Invalid username or password; '
            "check username and password",
        ),
        (
            GATEWAY,
            'source "east": POST /login/: 401 Unauthorized: Invalid username or password; '
            "check username and password",
        ),
    ],
)
async def test_wrong_password_in_one_line(
    world: World, monkeypatch: pytest.MonkeyPatch, base_url: str, message: str
) -> None:
    monkeypatch.setenv("APIO_PASSWORD", "hunter2-wrong")
    with pytest.raises(SourceError) as caught:
        await world.source(base_url=base_url).pull()
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("shape", "body", "words"),
    [
        (
            "details",
            {
                "errors": [
                    {
                        "message": "BroadWorks refused the request",
                        "details": {"errors": [{"summary": "[Error 4008] Group not found"}]},
                    }
                ]
            },
            "[Error 4008] Group not found",
        ),
        (
            "errors",
            {"errors": [{"message": "no such group", "code": 7}]},
            "no such group [sub-code 7]",
        ),
        ("message", {"message": "tenant not found"}, "tenant not found"),
        ("error", {"error": "Not found."}, "Not found."),
    ],
)
async def test_every_error_body_shape_becomes_one_line(
    world: World, shape: str, body: dict[str, Any], words: str
) -> None:
    world.sim.inject(404, path_contains="bargroup", body=json.dumps(body).encode())
    with pytest.raises(SourceError) as caught:
        await world.source(families=["time"], groups=["bargroup"]).pull()
    assert str(caught.value) == (
        f'source "east": GET /tenants/foo/groups/bargroup/time_schedules/: 404 Not Found: '
        f"{words}; check tenant, groups and base_url"
    )
    assert caught.value.status == 404


async def test_429_and_5xx_back_off_then_succeed(world: World) -> None:
    world.sim.inject(429, retry_after=7, path_contains="Reception")
    world.sim.inject(503, times=2, path_contains="bargroup/time_schedules/")
    calendars = await world.source(families=["time"], groups=["bargroup"]).pull()
    assert [c.meta.key for c in calendars] == ["east/bargroup/time/Reception"]
    assert len(world.delays) == 3 and world.delays[-1] == 7


async def test_a_bad_answer_is_a_payload_error_naming_the_schedule(world: World) -> None:
    def drop_type(body: Any) -> Any:
        body["periods"][0].pop("type")
        return body

    world.sim.mangle(drop_type, path_contains="Reception")
    with pytest.raises(PayloadError) as caught:
        await world.source(groups=["bargroup"]).pull()
    assert str(caught.value) == (
        'source "east": apio: group "bargroup" time schedule "Reception": '
        'period "First of the Month": field "type": missing'
    )


async def test_secrets_echoed_by_the_api_are_scrubbed(world: World) -> None:
    echo = {"error": f"bad credentials {DEMO_MACHINE_TOKEN}"}
    world.sim.inject(400, path_contains="/tenants/", body=json.dumps(echo).encode())
    source = world.source(token="env:APIO_TOKEN", username=None, password=None)
    with pytest.raises(SourceError) as caught:
        await source.pull()
    assert DEMO_MACHINE_TOKEN not in str(caught.value)
    assert "bad credentials ***" in str(caught.value)


def test_describe_needs_no_secret(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIO_PASSWORD")
    source = world.source(all_levels=True)
    assert source.describe() == [
        "auth: username and password, APIO Core JWT login at https://apio.sim/api/v01",
        "tenant: foo",
        "group foogroup: time, holiday schedules",
        "group bargroup: time, holiday schedules",
        "enterprise-level schedules too (allLevels)",
        "time zone: Europe/Brussels (APIO gives none)",
    ]
    gateway = world.source(base_url=GATEWAY).describe()[0]
    assert (
        gateway == "auth: username and password, gateway session login at https://apio.sim/api/v1"
    )
    token = world.source(token="env:APIO_TOKEN", username=None, password=None).describe()[0]
    assert token == "auth: APIO Core machine token (bearer)"
    assert repr(source.creds) == "CoreJwt(source='east', password=***)"


async def test_a_renamed_period_keeps_its_uid(world: World, tmp_path: Path) -> None:
    source = world.source(families=["time"], groups=["foogroup"])

    def uids(state: StateStore, calendars: list[Any]) -> dict[str, str]:
        rendered = render_pulled(calendars, "east", state, now=NOW)
        seed = next(r for r in rendered if r.meta.key.endswith("APIO Test Time Schedule"))
        cal = Calendar.from_ical(seed.data)
        return {str(e["SUMMARY"]): str(e["UID"]) for e in cal.walk("VEVENT")}

    with StateStore(tmp_path / "state.sqlite") as state:
        before = uids(state, await source.pull())
        schedule = world.sim.schedule(
            "foo", "foogroup", "time_schedules", "APIO Test Time Schedule"
        )
        period = schedule.periods.pop("APIO Test Group Period 1")
        schedule.periods["Friday Desk"] = {**period, "name": "Friday Desk"}
        schedule.periods["APIO Test Group Period 2"]["active"] = True  # changed, same name
        after = uids(state, await source.pull())
    assert after["Friday Desk"] == before["APIO Test Group Period 1"]
    assert after["APIO Test Group Period 2"] == before["APIO Test Group Period 2"]
    assert len(set(after.values())) == 2

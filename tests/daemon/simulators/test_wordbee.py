"""The Wordbee simulator speaks the documented API: login, token expiry, quota, month and
day views, series, faults, the request log and the demo hooks."""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from support.paths import FIXTURES

from icsbridge.config.sources.wordbee import WordbeeSourceSettings
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.simulators.wordbee.app import (
    DEMO_KEY_FILE,
    WordbeeSimState,
    create_app,
    demo_secret_files,
    demo_source,
)
from icsbridge.daemon.simulators.wordbee.calendar import SimAppointment, SimPerson
from icsbridge.daemon.simulators.wordbee.seed import demo_shift, read_demo

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
BASE = "http://wordbee.test"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> WordbeeSimState:
    return wordbee_seed.demo_state(clock)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(sim: WordbeeSimState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


async def login(client: httpx.AsyncClient, key: str = "demo-key") -> httpx.Response:
    return await client.post("/api/auth/token", json={"accountid": "demo", "key": key})


async def token_of(client: httpx.AsyncClient) -> str:
    token: str = (await login(client)).json()
    return token


def headers(token: str, account: str = "demo") -> dict[str, str]:
    return {"X-Auth-Token": token, "X-Auth-AccountId": account}


async def view(
    client: httpx.AsyncClient, token: str, uid: int = 143, **query: Any
) -> httpx.Response:
    params = {"range": "m", "year": 2026, "month": 3, **query}
    path = f"/api/persons/{uid}/calendar/view"
    return await client.get(path, params=params, headers=headers(token))


async def test_login_answers_a_bare_json_string(client: httpx.AsyncClient) -> None:
    resp = await login(client)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.text == '"wb-token-1"'


async def test_wrong_key_and_missing_token_get_wordbee_error_bodies(
    client: httpx.AsyncClient, sim: WordbeeSimState
) -> None:
    bad = await login(client, "nope")
    assert bad.status_code == 401
    assert bad.json() == {
        "error": {
            "operation": "POST /api/auth/token",
            "date": "2026-03-10T09:00:00Z",
            "title": "Authentication failed",
            "details": "The account id or the key is wrong",
            "messages": [],
        },
        "reason": "Authentication failed",
    }
    missing = await client.get("/api/persons/143/calendar/view?range=m")
    assert missing.status_code == 401
    assert missing.json()["error"]["title"] == "The token is invalid or has expired"
    assert sim.requests[0].body == b"<redacted>"  # the key is never logged


@pytest.mark.parametrize("status", [401, 400])
async def test_tokens_die_after_thirty_idle_minutes(
    client: httpx.AsyncClient, sim: WordbeeSimState, clock: Clock, status: int
) -> None:
    sim.auth.expired_status = status
    token = await token_of(client)
    clock.now += timedelta(minutes=29)
    assert (await view(client, token)).status_code == 200  # use keeps it alive
    clock.now += timedelta(minutes=29)
    assert (await view(client, token)).status_code == 200
    clock.now += timedelta(minutes=31)
    expired = await view(client, token)
    assert expired.status_code == status
    assert expired.json()["error"]["title"] == "The token is invalid or has expired"


async def test_account_header_must_match_and_logout_ends_the_token(
    client: httpx.AsyncClient,
) -> None:
    token = await token_of(client)
    other = await client.get(
        "/api/persons/143/calendar/view?range=m", headers=headers(token, "someone-else")
    )
    assert other.status_code == 401
    assert other.json()["error"]["title"] == "X-Auth-AccountId does not match the token"
    assert (await client.delete("/api/auth/token", headers=headers(token))).json() is True
    assert (await view(client, token)).status_code == 401


async def test_quota_429_has_no_retry_after_and_the_hour_slides(
    client: httpx.AsyncClient, sim: WordbeeSimState, clock: Clock
) -> None:
    sim.calls_per_hour = 3
    sim.auth.idle_lifetime = timedelta(hours=2)
    token = await token_of(client)  # 1
    assert (await view(client, token)).status_code == 200  # 2
    clock.now += timedelta(minutes=20)
    assert (await view(client, token)).status_code == 200  # 3
    throttled = await view(client, token)
    assert throttled.status_code == 429
    assert "retry-after" not in throttled.headers
    assert throttled.json() == {
        "error": {
            "type": "Throttling error",
            "message": "Too many requests. The limit is 3 per 01:00:00",
        }
    }
    clock.now += timedelta(minutes=40, seconds=1)  # the first two calls age out
    assert (await view(client, token)).status_code == 200
    assert (await view(client, token)).status_code == 200
    assert (await view(client, token)).status_code == 429


async def test_a_month_view_has_the_seeds_shape(client: httpx.AsyncClient) -> None:
    body = (await view(client, await token_of(client))).json()
    assert set(body) == {"timezone", "offset", "days", "appointments", "projects", "jobs", "orders"}
    assert body["timezone"] == "Romance Standard Time"
    assert body["offset"] == 60.0  # today (10 March) in Paris
    days = body["days"]
    assert len(days) == 31 and [d["idx"] for d in days] == list(range(31))
    assert days[0] == {
        "year": 2026, "month": 3, "day": 1, "idx": 0, "start": "2026-03-01T00:00:00Z",
        "end": "2026-03-01T23:59:59Z", "workc": False, "work": "Weekend", "workp": False,
    }  # fmt: skip
    assert days[1]["work"] == "Regular" and days[1]["workc"] is True
    # The demo's July 2017 lands on March 2026: the vacation week and 14 July moved along.
    shift = demo_shift(date(2017, 7, 1), date(2026, 3, 10))
    vacation = date(2017, 7, 24) + shift
    assert days[vacation.day - 1]["work"] == "Vacation"
    assert days[vacation.day - 1]["workp"] is False and days[vacation.day - 1]["workc"] is True
    assert vacation.weekday() == 0
    assert body["projects"][0]["ref"] == "111" and len(body["jobs"]) == 10


async def test_a_person_without_access_gets_null_work_items_and_no_workp(
    client: httpx.AsyncClient,
) -> None:
    body = (await view(client, await token_of(client), uid=3)).json()
    assert body["timezone"] == "GMT Standard Time"
    assert (body["projects"], body["jobs"], body["orders"]) == (None, None, None)
    assert "workp" not in body["days"][0]


async def test_an_appointment_across_the_month_boundary_is_in_both_months(
    client: httpx.AsyncClient,
) -> None:
    token = await token_of(client)
    march = (await view(client, token)).json()["appointments"]
    april = (await view(client, token, month=4)).json()["appointments"]
    in_march = next(a for a in march if a["appid"] == 130)
    in_april = next(a for a in april if a["appid"] == 130)
    assert (in_march["dtfrom"], in_march["dtto"]) == (
        "2026-03-31T19:00:00Z",
        "2026-04-01T00:00:00Z",
    )
    assert (in_march["dtfromidx"], in_march["dttoidx"]) == (30, None)
    assert (in_april["dtfromidx"], in_april["dttoidx"]) == (None, 0)


async def test_series_are_expanded_with_parent_ids_on_the_wall_clock(
    client: httpx.AsyncClient,
) -> None:
    token = await token_of(client)
    listed = [
        a
        for month in (3, 4)
        for a in (await view(client, token, month=month)).json()["appointments"]
        if a["appid"] == 120 or a["rcparent"] == 120
    ]
    parent, *children = listed
    assert (parent["appid"], parent["rcparent"], parent["rcule"]) == (
        120,
        None,
        "FREQ=WEEKLY;BYDAY=TU;COUNT=30",
    )
    assert [c["appid"] for c in children] == [120000 + k for k in range(1, len(children) + 1)]
    assert {c["rcparent"] for c in children} == {120}
    # 10:00 in Paris: 09:00Z in winter, 08:00Z once summer time starts (29 March 2026).
    hours = [(a["dtfrom"][:10], a["dtfrom"][11:13]) for a in listed]
    assert all(h == ("09" if day < "2026-03-29" else "08") for day, h in hours)
    assert {h for _, h in hours} == {"08", "09"}
    words = next(a for a in (await view(client, token)).json()["appointments"] if a["appid"] == 140)
    assert words["rcule"] == "Every 2 weeks on Thursday, 10 times"


async def test_day_range_and_bad_parameters(
    client: httpx.AsyncClient, sim: WordbeeSimState
) -> None:
    token = await token_of(client)
    one = (await view(client, token, range="d", day=31)).json()
    assert [(d["day"], d["idx"]) for d in one["days"]] == [(31, 0)]
    assert 130 in [a["appid"] for a in one["appointments"]]
    for query, status in (({"range": "w"}, 400), ({"month": 13}, 400), ({"range": "d"}, 400)):
        assert (await view(client, token, **query)).status_code == status
    missing = await view(client, token, uid=999)
    assert (missing.status_code, missing.json()["error"]["details"]) == (
        404,
        "Person 999 does not exist",
    )
    assert (await client.get("/api/nothing", headers=headers(token))).status_code == 404


async def test_faults_and_mangling(client: httpx.AsyncClient, sim: WordbeeSimState) -> None:
    token = await token_of(client)
    sim.inject(503, path_contains="month=4", retry_after=7)
    failed = await view(client, token, month=4)
    assert (failed.status_code, failed.headers["retry-after"]) == (503, "7")
    assert (await view(client, token, month=4)).status_code == 200  # once only
    sim.mangle(lambda body: {**body, "days": None}, path_contains="/calendar/view")
    assert (await view(client, token)).json()["days"] is None
    sim.inject(200, body={"anything": True}, method="POST")
    assert (await login(client)).json() == {"anything": True}
    assert [r.status for r in sim.requests][-4:] == [503, 200, 200, 200]
    assert all(r.headers.get("x-auth-token") in (None, "<redacted>") for r in sim.requests)


async def test_a_person_and_appointment_built_by_hand(
    client: httpx.AsyncClient, sim: WordbeeSimState
) -> None:
    sim.add_person(SimPerson(uid=7, name="Nora", windows_zone="Eastern Standard Time"))
    ny = ZoneInfo("America/New_York")
    sim.add_appointment(
        SimAppointment(
            appid=9,
            start=datetime(2026, 3, 2, 9, tzinfo=ny),
            end=datetime(2026, 3, 2, 10, tzinfo=ny),
            subject="Daily",
            uid=7,
            rule="FREQ=DAILY;COUNT=20",
            exdates={date(2026, 3, 4)},
        )
    )
    body = (await view(client, await token_of(client), uid=7)).json()
    starts = [a["dtfrom"] for a in body["appointments"]]
    assert len(starts) == 19 and "2026-03-04T14:00:00Z" not in starts
    assert (
        starts[0] == "2026-03-02T14:00:00Z" and starts[-1] == "2026-03-21T13:00:00Z"
    )  # DST 8 March


def test_demo_hooks_make_a_valid_source(tmp_path: Path) -> None:
    files = demo_secret_files()
    assert files == {DEMO_KEY_FILE: "demo-key\n"}
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    block = demo_source("http://127.0.0.1:8123/api")
    entry = tomllib.loads(block)["sources"][0]
    assert entry["name"] == "wordbee-demo" and entry["key"] == "file:wordbee-demo-key"
    settings = WordbeeSourceSettings.model_validate(entry, context={"base_dir": tmp_path})
    assert settings.key.resolve() == "demo-key"
    assert settings.persons == [143, 3]
    assert settings.base_url == "http://127.0.0.1:8123/api"


def test_demo_data_follows_the_seed_and_moves_by_whole_weeks() -> None:
    data = read_demo()
    seed = json.loads((FIXTURES / "wordbee" / "calendar_view_2017_07.json").read_text())
    younes = next(p for p in data["persons"] if p["uid"] == 143)
    assert [p["pid"] for p in younes["work_items"]["projects"]] == [
        p["pid"] for p in seed["projects"]
    ]
    assert {a["appid"] for a in data["appointments"]} >= {88, 89}
    for target in (date(2026, 1, 20), date(2026, 7, 1), date(2027, 12, 31)):
        shift = demo_shift(date(2017, 7, 1), target)
        assert shift.days % 7 == 0
        assert abs((date(2017, 7, 1) + shift) - target.replace(day=1)) <= timedelta(days=4)
    later = wordbee_seed.demo_state(lambda: datetime(2026, 11, 5, tzinfo=UTC))
    assert later.holidays and min(later.holidays).month in (10, 11)
    migration = later.appointments[130]
    assert (migration.start.month, migration.end.month) == (11, 12)

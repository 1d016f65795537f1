"""The B2CORE simulator over HTTP (httpx.ASGITransport): auth, lists, writes, faults, demo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from icsbridge.config.loader import load_settings
from icsbridge.config.sources.b2core import B2coreSourceSettings
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.b2core.app import (
    B2coreSimState,
    create_app,
    demo_secret_files,
    demo_source,
)
from icsbridge.daemon.simulators.b2core.seed import bulk, demo_events
from icsbridge.daemon.simulators.b2core.state import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN

pytestmark = pytest.mark.anyio
TODAY = date(2025, 3, 1)
EVENTS = "/api/v2/calendars/events"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> B2coreSimState:
    return b2core_seed.demo_state(TODAY, now=clock)


@pytest.fixture
async def http(sim: B2coreSimState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sim))
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim", headers=headers
    ) as client:
        yield client


def body(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "caption": "Client call",
        "description": "About the IB agreement",
        "startDate": "2025-03-10T10:00:00+01:00",
        "endDate": "2025-03-10T11:00:00+01:00",
        "notifications": ["PT2H"],
        "recipients": ["anna.keller@broker.example"],
    }
    event.update(changes)
    return event


# ---- auth ------------------------------------------------------------------------------
async def test_calls_need_a_bearer_token(http: httpx.AsyncClient) -> None:
    answer = await http.get(EVENTS, headers={"Authorization": ""})
    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthenticated."})
    assert (await http.get(EVENTS)).status_code == 200


async def test_sign_in_refresh_and_expiry(
    http: httpx.AsyncClient, sim: B2coreSimState, clock: Clock
) -> None:
    signed = await http.post(
        "/api/v2/signin", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    pair = signed.json()
    assert pair["2faRequired"] is False
    assert pair["accessToken"]["expiresAt"] == "2025-03-01T13:00:00+00:00"
    assert pair["refreshToken"]["expiresAt"] == "2025-03-31T12:00:00+00:00"
    access = {"Authorization": f"Bearer {pair['accessToken']['token']}"}
    assert (await http.get(EVENTS, headers=access)).status_code == 200
    clock.now += timedelta(hours=1)
    expired = await http.get(EVENTS, headers=access)
    assert (expired.status_code, expired.json()) == (401, {"message": "Token has expired."})
    old_refresh = {"refreshToken": pair["refreshToken"]["token"]}
    renewed = await http.post("/api/v2/refresh", json=old_refresh)
    assert renewed.status_code == 200
    new_access = {"Authorization": f"Bearer {renewed.json()['accessToken']['token']}"}
    assert (await http.get(EVENTS, headers=new_access)).status_code == 200
    again = await http.post("/api/v2/refresh", json=old_refresh)  # rotated: refused
    assert again.status_code == 401
    assert (sim.auth.signins, sim.auth.refreshes) == (1, 1)


@pytest.mark.parametrize(
    ("payload", "status", "answer"),
    [
        ({"email": DEMO_EMAIL, "password": "nope"}, 401, {"message": "Invalid credentials."}),
        (
            {"email": DEMO_EMAIL},
            422,
            {
                "message": "The given data was invalid.",
                "errors": {
                    "email": ["The email field is required."],
                    "password": ["The password field is required."],
                },
            },
        ),
    ],
)
async def test_sign_in_refusals(
    http: httpx.AsyncClient, payload: dict[str, str], status: int, answer: dict[str, Any]
) -> None:
    refused = await http.post("/api/v2/signin", json=payload)
    assert (refused.status_code, refused.json()) == (status, answer)


async def test_two_factor_and_a_missing_refresh_endpoint(
    http: httpx.AsyncClient, sim: B2coreSimState
) -> None:
    sim.add_account("mfa@broker.example", "pw", two_factor=True)
    answer = await http.post(
        "/api/v2/signin", json={"email": "mfa@broker.example", "password": "pw"}
    )
    assert answer.json() == {"2faRequired": True}
    sim.auth.refresh_enabled = False
    assert (await http.post("/api/v2/refresh", json={"refreshToken": "x"})).status_code == 404


# ---- lists -----------------------------------------------------------------------------
async def test_paging_with_limit_and_offset(http: httpx.AsyncClient) -> None:
    first = (await http.get(EVENTS, params={"limit": 5, "offset": 0})).json()
    rest = (await http.get(EVENTS, params={"limit": 5, "offset": 5})).json()
    default = (await http.get(EVENTS)).json()
    assert [e["id"] for e in first + rest] == list(range(1, 11))
    assert len(default) == 10  # the default limit
    too_big = await http.get(EVENTS, params={"limit": 1001})
    assert too_big.status_code == 422
    assert too_big.json()["errors"] == {
        "limit": ["The limit must be an integer of at least 1 and at most 1000."]
    }


async def test_filters_and_sorting(http: httpx.AsyncClient) -> None:
    window = {
        "filter[startDate]": "2025-03-01T00:00:00+00:00",
        "filter[endDate]": "2025-03-08T00:00:00+00:00",
        "sort_by": "startTime",
        "sort_order": "desc",
        "limit": 100,
    }
    found = (await http.get(EVENTS, params=window)).json()
    assert [e["caption"] for e in found] == [
        "MT5 server maintenance window",
        "Withdrawal queue audit",
        "KYC review: ACME Trading Ltd (corporate account)",
        "Onboarding call: Northwind Capital (IB partner)",
    ]
    sofia = {**window, "filter[recipients]": "SOFIA.NG@broker.example"}
    assert [e["id"] for e in (await http.get(EVENTS, params=sofia)).json()] == [5]
    named = (await http.get(EVENTS, params={"filter[name]": "kyc", "limit": 100})).json()
    assert [e["id"] for e in named] == [3]
    bad = await http.get(EVENTS, params={"filter[startDate]": "2025-03-01 00:00:00 00:00"})
    assert bad.status_code == 422


@pytest.mark.parametrize("shape", ["data", "items"])
async def test_wrapped_lists(http: httpx.AsyncClient, sim: B2coreSimState, shape: Any) -> None:
    sim.list_shape = shape
    answer = (await http.get(EVENTS, params={"limit": 3})).json()
    assert set(answer) == {shape, "total"}
    assert (len(answer[shape]), answer["total"]) == (3, len(sim.events))
    one = (await http.get(f"{EVENTS}/1")).json()
    assert ("data" in one) == (shape == "data")


# ---- writes ----------------------------------------------------------------------------
async def test_create_validates_and_answers_201(http: httpx.AsyncClient) -> None:
    created = await http.post(EVENTS, json=body())
    assert created.status_code == 201
    event = created.json()
    assert {k: event[k] for k in body()} == body()
    assert event["id"] == 15 and event["createdAt"] == "2025-03-01T12:00:00+00:00"
    bad = await http.post(
        EVENTS,
        json=body(
            caption="",
            endDate="2025-03-10T09:00:00+01:00",
            notifications=["2 hours"],
            recipients=["nobody@broker.example"],
        ),
    )
    assert (bad.status_code, bad.json()) == (
        422,
        {
            "message": "The given data was invalid.",
            "errors": {
                "caption": ["The caption must be a non-empty string."],
                "endDate": ["The endDate must be a date after or equal to startDate."],
                "notifications.0": ["Each notification must be an ISO 8601 duration."],
                "recipients.0": ["No Back Office user has the email nobody@broker.example."],
            },
        },
    )


async def test_put_replaces_and_patch_changes_only_what_it_gets(http: httpx.AsyncClient) -> None:
    event_id = (await http.post(EVENTS, json=body())).json()["id"]
    patched = await http.patch(f"{EVENTS}/{event_id}", json={"caption": "Client call (moved)"})
    assert patched.json()["caption"] == "Client call (moved)"
    assert patched.json()["recipients"] == ["anna.keller@broker.example"]
    put = await http.put(
        f"{EVENTS}/{event_id}",
        json={k: v for k, v in body().items() if k in ("caption", "startDate", "endDate")},
    )
    assert put.status_code == 200
    replaced = put.json()
    assert (replaced["description"], replaced["notifications"], replaced["recipients"]) == (
        None,
        [],
        [],
    )
    incomplete = await http.put(f"{EVENTS}/{event_id}", json={"caption": "x"})
    assert incomplete.json()["errors"] == {
        "startDate": ["The startDate field is required."],
        "endDate": ["The endDate field is required."],
    }


async def test_delete_answers_204_then_404(http: httpx.AsyncClient) -> None:
    gone = await http.delete(f"{EVENTS}/3")
    assert (gone.status_code, gone.content) == (204, b"")
    again = await http.delete(f"{EVENTS}/3")
    assert (again.status_code, again.json()) == (404, {"message": "Calendar event not found."})
    assert (await http.get(f"{EVENTS}/abc")).status_code == 404
    assert (await http.post(f"{EVENTS}/3")).status_code == 405


# ---- faults, log, headers ----------------------------------------------------------------
async def test_faults_mangling_and_the_request_log(
    http: httpx.AsyncClient, sim: B2coreSimState
) -> None:
    sim.inject(429, retry_after=7, path_contains="offset=5")
    sim.mangle(lambda answer: answer[:1], path_contains="offset=0")
    limited = await http.get(EVENTS, params={"offset": 5})
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    assert limited.json() == {"message": "simulated HTTP 429"}
    assert len((await http.get(EVENTS, params={"offset": 0})).json()) == 1
    assert (await http.get(EVENTS, params={"offset": 5})).status_code == 200  # used up
    await http.post("/api/v2/signin", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    signin = sim.requests[-1]
    assert signin.body == b"<redacted>"
    assert all(r.headers.get("authorization") == "<redacted>" for r in sim.requests[:-1])
    assert [r.status for r in sim.lists()] == [429, 200, 200]


async def test_content_language_echoes_the_request(http: httpx.AsyncClient) -> None:
    answer = await http.get(EVENTS, headers={"Accept-Language": "ja, en;q=0.5"})
    assert answer.headers["content-language"] == "ja"


# ---- demo ------------------------------------------------------------------------------
def test_demo_events_sit_around_today() -> None:
    bodies = demo_events(TODAY)
    starts = sorted(datetime.fromisoformat(b["startDate"]).date() for b in bodies)
    assert starts[0] == TODAY - timedelta(days=60) and starts[-1] == TODAY + timedelta(days=400)
    cysec = next(b for b in bodies if "CySEC" in b["caption"])
    assert (cysec["startDate"], cysec["endDate"]) == ("2025-03-08T17:00:00+02:00",) * 2
    fca = next(b for b in bodies if "FCA" in b["caption"])
    assert fca["notifications"] == ["PT15M", "2025-03-09T09:00:00+00:00"]


def test_demo_source_is_a_valid_config(tmp_path: Path) -> None:
    for name, text in demo_secret_files().items():
        (tmp_path / name).write_text(text)
    config = tmp_path / "config.toml"
    config.write_text(demo_source("http://127.0.0.1:8123"))
    source = load_settings(config).sources[0]
    assert isinstance(source, B2coreSourceSettings)
    assert (source.name, source.base_url) == ("b2core-demo", "http://127.0.0.1:8123")
    assert source.token is not None and source.token.resolve() == DEMO_TOKEN


def test_bulk_is_deterministic() -> None:
    one, two = bulk(25, TODAY), bulk(25, TODAY)
    assert one.events == two.events and len(one.events) == 25
    assert one.events[25]["startDate"] == "2025-03-06T08:00:00+00:00"

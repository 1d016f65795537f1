"""Random faults around a simulator (simulators.faults): each kind, seeded, switchable."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import httpx
import pytest

from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.b2core.app import B2coreSimState, create_app
from icsbridge.daemon.simulators.b2core.state import DEMO_TOKEN
from icsbridge.daemon.simulators.faults import AnswerLost, FaultRates, RandomFaults

pytestmark = pytest.mark.anyio
EVENTS = "/api/v2/calendars/events"
NEW_EVENT = {
    "caption": "Client call",
    "description": "",
    "startDate": "2025-03-10T10:00:00+01:00",
    "endDate": "2025-03-10T11:00:00+01:00",
    "notifications": [],
    "recipients": [],
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sim() -> B2coreSimState:
    return b2core_seed.demo_state(date(2025, 3, 1))


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def faulty(sim: B2coreSimState, rates: FaultRates, seed: int = 1) -> RandomFaults:
    return RandomFaults(create_app(sim), rates, random.Random(seed), sleep=Waits())


@asynccontextmanager
async def client_of(app: RandomFaults) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim",
        headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
    ) as client:
        yield client


async def test_an_error_or_throttle_answers_before_the_simulator(sim: B2coreSimState) -> None:
    app = faulty(sim, FaultRates(error=0.5, throttle=0.5))
    async with client_of(app) as http:
        answers = [await http.post(EVENTS, json=NEW_EVENT) for _ in range(40)]
    statuses = {a.status_code for a in answers}
    assert statuses <= {429, 500, 502, 503, 504} and 429 in statuses and len(statuses) > 2
    assert all(a.json() == {"message": f"random fault: HTTP {a.status_code}"} for a in answers)
    assert {a.headers["retry-after"] for a in answers if a.status_code == 429} == {"0", "1"}
    assert sim.requests == []  # nothing reached the simulator, nothing was applied
    kinds = [f.kind for f in app.log]
    assert len(kinds) == 40
    assert kinds.count("throttle") == [a.status_code for a in answers].count(429)


async def test_a_lost_answer_is_applied_and_the_connection_closed(sim: B2coreSimState) -> None:
    before = len(sim.events)
    app = faulty(sim, FaultRates(lost=1.0))
    async with client_of(app) as http:
        with pytest.raises(AnswerLost):  # over a real socket uvicorn closes the connection
            await http.post(EVENTS, json=NEW_EVENT)
    assert len(sim.events) == before + 1
    assert [r.status for r in sim.requests] == [201]
    assert [(f.kind, f.detail) for f in app.log] == [("lost", "handled with 201, answer lost")]


async def test_a_malformed_answer_is_cut_short(sim: B2coreSimState) -> None:
    app = faulty(sim, FaultRates(malformed=1.0))
    async with client_of(app) as http:
        answer = await http.get(EVENTS)
        refused = await http.get(EVENTS, headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    assert int(answer.headers["content-length"]) == len(answer.content) > 0
    assert refused.status_code == 401 and refused.json() == {"message": "Unauthenticated."}
    assert [f.kind for f in app.log] == ["malformed"]  # an error answer stays as it was


async def test_a_slow_answer_waits_at_most_max_delay(sim: B2coreSimState) -> None:
    app = faulty(sim, FaultRates(slow=1.0, max_delay=0.3))
    async with client_of(app) as http:
        answers = [await http.get(EVENTS) for _ in range(10)]
    assert all(a.status_code == 200 for a in answers)
    waits = app._sleep.seconds  # type: ignore[attr-defined]
    assert len(waits) == 10 and all(0 <= w <= 0.3 for w in waits)


async def test_the_same_seed_gives_the_same_faults_and_disabled_gives_none(
    sim: B2coreSimState,
) -> None:
    rates = FaultRates(error=0.2, throttle=0.1, slow=0.1, malformed=0.1)
    runs = []
    for _ in range(2):
        app = faulty(sim, rates, seed=19)
        async with client_of(app) as http:
            runs.append([(await http.get(EVENTS)).status_code for _ in range(30)])
            app.enabled = False
            assert [(await http.get(EVENTS)).status_code for _ in range(10)] == [200] * 10
        assert len(app.log) < 30
    assert runs[0] == runs[1] and set(runs[0]) != {200}


def test_rates_beyond_one_are_refused() -> None:
    with pytest.raises(ValueError, match="add up to at most 1"):
        FaultRates(error=0.6, lost=0.6)
    with pytest.raises(ValueError, match="add up to at most 1"):
        FaultRates(slow=-0.1)

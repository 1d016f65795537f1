"""The simulators' latency option delays every request (without sleeping in tests)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from icsbridge.daemon.simulators.common import Latency
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import create_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_each_request_waits_the_latency_first() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    app = Latency(create_app(webex_seed.demo_state()), 0.02, sleep=sleep)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        response = await client.get("http://sim/v1/locations")
        await client.get("http://sim/v1/locations")
    assert response.status_code == 401  # handled after the wait, as without latency
    assert waits == [0.02, 0.02]


def test_create_app_takes_a_latency() -> None:
    app = create_app(webex_seed.demo_state(), latency=0.02)
    assert isinstance(app, Starlette)
    assert any(m.cls is Latency for m in app.user_middleware)
    with pytest.raises(ValueError, match="negative"):
        Latency(app, -1)

"""Reads within a source run concurrently, within ``concurrency``, and back off together."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support.webex_org import FakeSleep

from icsbridge.daemon.sources.http import ApiClient, SourceError, gather_in_order

pytestmark = pytest.mark.anyio


class Server:
    """A MockTransport handler that holds every answer until told, counting in-flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.log: list[str] = []
        self.refuse: dict[str, int] = {}  # path -> 429s left to answer

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.log.append(request.url.path)
        await asyncio.sleep(0)  # let the others start while this one is "on the wire"
        self.in_flight -= 1
        if self.refuse.get(request.url.path, 0) > 0:
            self.refuse[request.url.path] -= 1
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"path": request.url.path})


def _api(server: Server, concurrency: int, sleep: object) -> ApiClient:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return ApiClient(
        client,
        source="s",
        base_url="https://api.test",
        concurrency=concurrency,
        sleep=sleep,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_in_flight_never_exceeds_concurrency_and_order_is_kept(concurrency: int) -> None:
    server = Server()
    api = _api(server, concurrency, FakeSleep())
    paths = [f"/item/{i}" for i in range(40)]
    results = await gather_in_order(api.get_json(p) for p in paths)
    assert [r["path"] for r in results] == paths  # the order asked, not of completion
    assert server.max_in_flight == api.throttle.max_in_flight
    assert 1 < server.max_in_flight <= concurrency or concurrency == 1
    assert server.max_in_flight <= concurrency


async def test_a_429_holds_every_request_of_the_source() -> None:
    server = Server()
    waited = asyncio.Event()
    sent_while_waiting: list[str] = []

    async def sleep(seconds: float) -> None:
        assert seconds == 7
        count = len(server.log)
        await asyncio.sleep(0)
        for _ in range(20):  # the siblings get every chance to run: none may send
            await asyncio.sleep(0)
        sent_while_waiting.extend(server.log[count:])
        waited.set()

    api = _api(server, 4, sleep)
    await api.get_json("/warm-up")  # the probe: fan-out starts after one success
    server.refuse["/item/0"] = 1
    results = await gather_in_order(api.get_json(f"/item/{i}") for i in range(12))
    assert waited.is_set()
    assert sent_while_waiting == []
    assert [r["path"] for r in results] == [f"/item/{i}" for i in range(12)]


async def test_a_refused_first_call_fails_alone() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(401, json={"message": "bad token"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    api = ApiClient(client, source="s", base_url="https://api.test", concurrency=8)
    with pytest.raises(SourceError, match="401"):
        await gather_in_order(api.get_json(f"/item/{i}") for i in range(10))
    assert calls == ["/item/0"]

"""sources.http: the retry matrix, paging, error lines and secrets, over httpx.MockTransport."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from icsbridge.daemon.sources.http import ApiClient, RetryPolicy, SourceError

BASE = "https://api.test/v1"
TOKEN = "sekrit-access-token-123"
TRACKING = re.compile(
    r"ICSBRIDGE_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)

Handler = Callable[[httpx.Request], httpx.Response]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class TopRandom(random.Random):
    """Full jitter always picks the ceiling, so delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Recorder:
    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.delays: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def api(self, **kwargs: Any) -> ApiClient:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        kwargs.setdefault("rng", TopRandom())
        return ApiClient(client, source="hq", base_url=BASE, sleep=self.sleep, **kwargs)


def ok(body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json={"ok": True} if body is None else body, headers=headers)


def err(status: int, message: str = "nope", **headers: str) -> httpx.Response:
    body = {
        "message": message,
        "errors": [{"description": message, "errorCode": 4000}],
        "trackingId": "SERVER_TID",
    }
    return httpx.Response(status, json=body, headers=headers)


async def test_429_honours_retry_after() -> None:
    rec = Recorder(err(429, **{"Retry-After": "3"}), ok())
    assert await rec.api().get_json("/x") == {"ok": True}
    assert rec.delays == [3.0]


async def test_429_without_or_with_garbage_retry_after_backs_off() -> None:
    rec = Recorder(
        err(429), err(429, **{"Retry-After": "soon"}), err(429, **{"Retry-After": "-4"}), ok()
    )
    await rec.api().get_json("/x")
    assert rec.delays == [0.5, 1.0, 2.0]


async def test_huge_retry_after_is_capped() -> None:
    rec = Recorder(err(429, **{"Retry-After": "100000"}), ok())
    await rec.api().get_json("/x")
    assert rec.delays == [120.0]


async def test_5xx_then_success() -> None:
    rec = Recorder(err(500), err(502), err(423), ok())
    assert await rec.api().get_json("/x") == {"ok": True}
    assert rec.delays == [0.5, 1.0, 2.0]
    assert len(rec.requests) == 4


async def test_backoff_is_capped_and_jittered() -> None:
    rec = Recorder(err(503))
    policy = RetryPolicy(max_tries=8, base_delay=1.0, max_delay=5.0)
    with pytest.raises(SourceError):
        await rec.api(policy=policy).get_json("/x")
    assert rec.delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]

    rec = Recorder(err(503), ok())
    await rec.api(rng=random.Random(7)).get_json("/x")
    assert 0 <= rec.delays[0] <= 0.5


async def test_bounded_tries_give_one_line() -> None:
    rec = Recorder(err(503, "Service busy"))
    with pytest.raises(SourceError) as info:
        await rec.api().get_json("/people/p1/features/schedules")
    assert str(info.value) == (
        'source "hq": GET /people/p1/features/schedules: 503 Service Unavailable: '
        "Service busy [errorCode 4000] (trackingId SERVER_TID); gave up after 5 tries; "
        "try again later"
    )
    assert len(rec.requests) == 5
    assert len(rec.delays) == 4
    assert info.value.status == 503 and info.value.error_codes == (4000,)


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "check the token or OAuth credentials"),
        (403, "check the admin scopes / orgId"),
        (404, "check the id in the config"),
    ],
)
async def test_4xx_fails_at_once_with_hint(status: int, hint: str) -> None:
    rec = Recorder(err(status, "Not allowed", trackingid="HDR_TID"))
    with pytest.raises(SourceError) as info:
        await rec.api().get_json("/locations/L1")
    phrase = httpx.codes.get_reason_phrase(status)
    assert str(info.value) == (
        f'source "hq": GET /locations/L1: {status} {phrase}: Not allowed [errorCode 4000] '
        f"(trackingId HDR_TID); {hint}"
    )
    assert rec.delays == []
    assert len(rec.requests) == 1


async def test_retries_then_a_4xx_gives_the_4xx_hint() -> None:
    rec = Recorder(err(500), err(404, "gone"))
    with pytest.raises(SourceError) as info:
        await rec.api().get_json("/x")
    assert str(info.value).endswith("(trackingId SERVER_TID); check the id in the config")


async def test_400_without_body_uses_our_tracking_id() -> None:
    rec = Recorder(httpx.Response(400))
    with pytest.raises(SourceError) as info:
        await rec.api().get_json("/x")
    sent = rec.requests[0].headers["TrackingID"]
    assert str(info.value) == f'source "hq": GET /x: 400 Bad Request (trackingId {sent})'


async def test_401_refreshes_once_then_retries() -> None:
    tokens = iter(["t1", "t2", "t3"])
    current = {"token": next(tokens)}
    refreshes: list[int] = []

    async def auth() -> str:
        return current["token"]

    async def refresh() -> bool:
        refreshes.append(1)
        current["token"] = next(tokens)
        return True

    rec = Recorder(err(401), ok())
    await rec.api(auth=auth, on_unauthorized=refresh).get_json("/x")
    assert [r.headers["Authorization"] for r in rec.requests] == ["Bearer t1", "Bearer t2"]

    rec = Recorder(err(401))
    with pytest.raises(SourceError, match=r"401 Unauthorized.*check the token"):
        await rec.api(auth=auth, on_unauthorized=refresh).get_json("/x")
    assert len(rec.requests) == 2
    assert len(refreshes) == 2  # one per call, never a loop


async def test_timeouts_and_dropped_connections_retry_for_reads() -> None:
    rec = Recorder(
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectError("refused"),
        ok(),
    )
    assert await rec.api().get_json("/x") == {"ok": True}
    assert rec.delays == [0.5, 1.0, 2.0]


async def test_timeouts_exhausted() -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(SourceError) as info:
        await rec.api().get_json("/x")
    sent = rec.requests[0].headers["TrackingID"]
    assert str(info.value) == (
        f'source "hq": GET /x: no answer after 5 tries (ReadTimeout: timed out) '
        f"(trackingId {sent}); check the network or base_url"
    )


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.ReadError("connection reset"),
    ],
)
async def test_post_not_retried_once_it_may_have_arrived(failure: Exception) -> None:
    rec = Recorder(failure, ok())
    with pytest.raises(SourceError) as info:
        await rec.api().call_json("POST", "/things", json={"name": "x"})
    assert len(rec.requests) == 1
    assert rec.delays == []
    name = type(failure).__name__
    sent = rec.requests[0].headers["TrackingID"]
    assert str(info.value) == (
        f'source "hq": POST /things: no answer ({name}: {failure}) (trackingId {sent}); '
        "not retried because it may have been applied"
    )


async def test_post_retried_when_never_sent() -> None:
    rec = Recorder(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), ok({"id": "E1"}))
    assert await rec.api().call_json("POST", "/things", json={}) == {"id": "E1"}
    assert len(rec.requests) == 3


@pytest.mark.parametrize(
    ("first", "retried"),
    [
        (err(429), True),
        (err(503, **{"Retry-After": "2"}), True),
        (err(503), False),
        (err(500), False),
        (err(502), False),
        (err(423), False),
    ],
)
async def test_post_status_retries(first: httpx.Response, retried: bool) -> None:
    rec = Recorder(first, ok({"id": "E1"}))
    if retried:
        assert await rec.api().call_json("POST", "/things", json={}) == {"id": "E1"}
        assert len(rec.requests) == 2
    else:
        with pytest.raises(SourceError):
            await rec.api().call_json("POST", "/things", json={})
        assert len(rec.requests) == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_idempotent_writes_retry(method: str) -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"), err(500), httpx.Response(204))
    assert await rec.api().call_json(method, "/things/1", json=None) is None
    assert len(rec.requests) == 3


async def test_unsupported_scheme_fails_at_once() -> None:
    rec = Recorder(httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."))
    with pytest.raises(SourceError, match=r"; check base_url$"):
        await rec.api().get_json("/x")
    assert len(rec.requests) == 1


async def test_not_json() -> None:
    rec = Recorder(httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(SourceError) as info:
        await rec.api().get_json("/people/p1")
    assert str(info.value) == (
        'source "hq": GET /people/p1: the answer is not JSON (Expecting value)'
    )


async def test_tracking_id_and_default_params_on_every_request() -> None:
    rec = Recorder(err(500), ok())
    await rec.api(default_params={"orgId": "ORG"}).get_json("/x", {"max": 5})
    ids = {r.headers["TrackingID"] for r in rec.requests}
    assert len(ids) == 1  # one logical call keeps its id across retries
    assert TRACKING.fullmatch(ids.pop())
    assert all(r.url.params["orgId"] == "ORG" and r.url.params["max"] == "5" for r in rec.requests)

    rec = Recorder(ok())
    api = rec.api()
    await api.get_json("/a")
    await api.get_json("/b")
    assert rec.requests[0].headers["TrackingID"] != rec.requests[1].headers["TrackingID"]


def pages(*items: list[int], next_of: Callable[[int], str | None] | None = None) -> Handler:
    """A paged list: page n (from the ``start`` param / page size 2) links to n+1."""

    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("start", 0))
        n = start // 2
        headers = {}
        link = (
            next_of(n)
            if next_of
            else (
                str(request.url.copy_set_param("start", start + 2)) if n + 1 < len(items) else None
            )
        )
        if link:
            headers["Link"] = f'<{link}>; rel="next"'
        return httpx.Response(200, json={"items": [{"n": i} for i in items[n]]}, headers=headers)

    return handler


async def collect(api: ApiClient, params: dict[str, str | int] | None = None) -> list[int]:
    return [item["n"] async for item in api.paginate("/locations", params, "items")]


async def test_paging_follows_next_links_keeping_params() -> None:
    rec = Recorder(pages([1, 2], [3, 4], [5]))
    api = rec.api(default_params={"orgId": "ORG"})
    assert await collect(api, {"max": 2}) == [1, 2, 3, 4, 5]
    assert [r.url.params.get("start") for r in rec.requests] == [None, "2", "4"]
    assert all(r.url.params["orgId"] == "ORG" and r.url.params["max"] == "2" for r in rec.requests)


async def test_paging_adds_default_params_a_next_link_dropped() -> None:
    rec = Recorder(
        pages([1, 2], [3], next_of=lambda n: f"{BASE}/locations?start=2" if n == 0 else None)
    )
    assert await collect(rec.api(default_params={"orgId": "ORG"})) == [1, 2, 3]
    assert rec.requests[1].url.params["orgId"] == "ORG"


async def test_paging_stops_on_empty_page() -> None:
    rec = Recorder(pages([1, 2], [], [9], next_of=lambda n: f"{BASE}/locations?start={2 * n + 2}"))
    assert await collect(rec.api()) == [1, 2]
    assert len(rec.requests) == 2


async def test_paging_stops_on_a_looping_next_link(caplog: pytest.LogCaptureFixture) -> None:
    # page 3 links back to page 2
    loop = {
        0: f"{BASE}/locations?start=2",
        1: f"{BASE}/locations?start=4",
        2: f"{BASE}/locations?start=2",
    }
    rec = Recorder(pages([1, 2], [3, 4], [5], next_of=loop.get))
    with caplog.at_level(logging.WARNING, "icsbridge.http"):
        assert await collect(rec.api()) == [1, 2, 3, 4, 5]
    assert len(rec.requests) == 3
    assert "loops back" in caplog.text


async def test_paging_refuses_a_next_link_to_another_host() -> None:
    rec = Recorder(pages([1], [2], next_of=lambda n: "https://evil.test/v1/locations?start=2"))
    with pytest.raises(SourceError) as info:
        await collect(rec.api(auth=_static(TOKEN)))
    assert str(info.value) == ('source "hq": GET /locations: the next-page link leaves api.test')
    assert len(rec.requests) == 1


async def test_paging_needs_the_items_list() -> None:
    rec = Recorder(ok({"things": []}))
    with pytest.raises(SourceError) as info:
        await collect(rec.api())
    assert str(info.value) == (
        "source \"hq\": GET /locations: the answer has no list 'items'; "
        "check base_url points at the API"
    )


def _static(token: str) -> Callable[[], Any]:
    async def auth() -> str:
        return token

    return auth


async def test_secrets_never_in_messages_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return err(403, f"token {request.headers['Authorization']} and secret cs-999 refused")

    rec = Recorder(err(500, f"boom {TOKEN}"), echo)
    api = rec.api(auth=_static(TOKEN), secrets=lambda: ["cs-999"])
    with caplog.at_level(logging.DEBUG, "icsbridge.http"), pytest.raises(SourceError) as info:
        await api.get_json("/x")
    assert rec.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    text = str(info.value)
    assert text.startswith(
        'source "hq": GET /x: 403 Forbidden: token Bearer *** and secret *** refused'
    )
    for leak in (TOKEN, "cs-999"):
        assert leak not in text
        assert leak not in caplog.text
        assert leak not in repr(api)
    assert "retry in" in caplog.text  # the 500 was logged, scrubbed


async def test_debug_log_per_request(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(err(500), ok())
    with caplog.at_level(logging.DEBUG, "icsbridge.http"):
        await rec.api().get_json("/people/p1")
    assert "GET /people/p1 -> 500 (try 1)" in caplog.text
    assert "GET /people/p1 -> 200 (try 2)" in caplog.text
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warning] == [
        'source "hq": GET /people/p1: 500 Internal Server Error; retry in 0.5 s (try 2 of 5)'
    ]


async def test_ids_with_slashes_stay_one_segment() -> None:
    rec = Recorder(ok())
    await rec.api().get_json("/people/abc%2Fdef%2B%3D")
    assert rec.requests[0].url.raw_path == b"/v1/people/abc%2Fdef%2B%3D"


async def test_a_successful_call_does_no_message_work_and_skips_the_probe_gate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per-request overhead (issue 18): the shown path is built for messages only, and
    once a call succeeded the probe gate (a context manager per call) is not entered."""
    rec = Recorder(ok(), ok(), err(404))
    api = rec.api()
    await api.get_json("/first")  # the probe
    entered = 0
    gate = api.throttle.first_call

    def counted() -> Any:
        nonlocal entered
        entered += 1
        return gate()

    monkeypatch.setattr(api.throttle, "first_call", counted)
    shown = api._shown

    def no_shown(url: Any) -> str:
        raise AssertionError("a success built its message")

    monkeypatch.setattr(api, "_shown", no_shown)
    assert await api.get_json("/second") == {"ok": True}
    assert entered == 0
    monkeypatch.setattr(api, "_shown", shown)
    with pytest.raises(SourceError, match=r"GET /second: 404"):
        await api.get_json("/second")  # a failure still names the call


async def test_the_same_call_on_the_same_pooled_client_parses_its_url_once() -> None:
    """A daemon builds its ApiClients anew at each sync on the one pooled client, and asks
    for the same URLs every time: each is parsed once (issue 18), per base_url and query."""
    rec = Recorder(ok())
    client = httpx.AsyncClient(transport=httpx.MockTransport(rec.handler))

    def api(base: str = BASE) -> ApiClient:
        return ApiClient(client, source="hq", base_url=base, default_params={"orgId": "O"})

    await api().get_json("/x", {"max": 5})
    await api().get_json("/x", {"max": 5})
    await api().get_json("/x", {"max": 6})
    await api(BASE + "/v2").get_json("/x", {"max": 5})
    first, again, other, moved = (r.url for r in rec.requests)
    assert api()._url("/x", {"max": 5}) is api()._url("/x", {"max": 5})
    assert again == first and str(first) == f"{BASE}/x?orgId=O&max=5"
    assert other.params["max"] == "6" and moved.path.endswith("/v2/x")

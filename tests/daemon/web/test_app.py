"""The feed server through httpx.ASGITransport: validators, 304s, HEAD, tokens, 404s."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message

from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.web.app import create_app
from icsbridge.daemon.web.metrics import Metrics

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CHANGED = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
CHANGED_HTTP = "Sat, 21 Nov 2026 10:00:00 GMT"
PARIS = "hq/locations/Paris HQ/holidays/French Holidays"
PARIS_ENCODED = "hq/locations/Paris%20HQ/holidays/French%20Holidays"
BODY = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@dataclass(frozen=True)
class FakeFeed:
    name: str
    data: bytes
    etag: str
    last_modified: datetime
    events: int


def feed(name: str, data: bytes = BODY, modified: datetime = CHANGED) -> FakeFeed:
    return FakeFeed(name, data, f'"{hashlib.sha256(data).hexdigest()}"', modified, 1)


def http_counts(metrics: Metrics) -> dict[int, int]:
    found = re.findall(
        r'^icsbridge_http_requests_total\{status="(\d+)"\} (\d+)$', metrics.render(), re.M
    )
    return {int(status): int(count) for status, count in found}


class FakeLookup:
    def __init__(self, *feeds: FakeFeed) -> None:
        self.feeds = {f.name: f for f in feeds}

    def get(self, name: str) -> FakeFeed | None:
        return self.feeds.get(name)


@dataclass
class Server:
    app: ASGIApp
    client: httpx.AsyncClient
    lookup: FakeLookup
    tokens: FeedTokens
    metrics: Metrics

    def url(self, name: str) -> str:
        return self.tokens.url_path(name)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as store:
        yield store


@pytest.fixture
async def server(state: StateStore) -> AsyncIterator[Server]:
    lookup = FakeLookup(feed(PARIS), feed("support-hours", b"other bytes"))
    tokens = FeedTokens(state, clock=lambda: NOW)
    tokens.ensure([PARIS, "support-hours", "not-rendered-yet"], {})
    metrics = Metrics()
    app = create_app(
        feeds=lookup, tokens=tokens, health=lambda: (200, {"ok": True}), metrics=metrics
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://icsbridge") as client:
        yield Server(app, client, lookup, tokens, metrics)


async def test_get_serves_the_feed_with_validators(server: Server) -> None:
    url = server.url(PARIS)
    assert url.endswith(f"/{PARIS_ENCODED}.ics")
    response = await server.client.get(url, headers={"accept-encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert response.content == BODY
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-length"] == str(len(BODY))
    assert response.headers["etag"] == f'"{hashlib.sha256(BODY).hexdigest()}"'
    assert response.headers["last-modified"] == CHANGED_HTTP
    assert response.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in response.headers  # identity, even when gzip is offered


async def test_head_has_the_get_headers_and_no_body(server: Server) -> None:
    get = await server.client.get(server.url(PARIS))
    head = await server.client.head(server.url(PARIS))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers == get.headers
    assert head.headers["content-length"] == str(len(BODY))


async def test_head_sends_no_body_at_the_asgi_level(server: Server) -> None:
    # httpx drops a HEAD body on its own, so look at what the app itself sends.
    url = server.url(PARIS)
    start, body = await exchange(server.app, url.encode(), url, "HEAD")
    assert start["status"] == 200
    assert (b"content-length", str(len(BODY)).encode()) in start["headers"]
    assert body["body"] == b""


async def test_if_none_match_gives_304_with_both_validators(server: Server) -> None:
    etag = (await server.client.get(server.url(PARIS))).headers["etag"]
    response = await server.client.get(server.url(PARIS), headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == CHANGED_HTTP
    assert "content-type" not in response.headers


@pytest.mark.parametrize("form", ["*", "W/{etag}", '"nope", {etag}', 'W/"x",W/{etag}'])
async def test_if_none_match_forms(server: Server, form: str) -> None:
    etag = server.lookup.feeds[PARIS].etag
    header = form.format(etag=etag)
    response = await server.client.get(server.url(PARIS), headers={"if-none-match": header})
    assert response.status_code == 304


async def test_if_none_match_wins_over_if_modified_since(server: Server) -> None:
    etag = server.lookup.feeds[PARIS].etag
    # The ETag matches though the date says "modified since": 304.
    matching = await server.client.get(
        server.url(PARIS),
        headers={"if-none-match": etag, "if-modified-since": "Sat, 01 Jan 2000 00:00:00 GMT"},
    )
    assert matching.status_code == 304
    # The ETag differs though the date says "not modified": 200.
    stale = await server.client.get(
        server.url(PARIS),
        headers={"if-none-match": '"stale"', "if-modified-since": CHANGED_HTTP},
    )
    assert stale.status_code == 200
    assert stale.content == BODY


@pytest.mark.parametrize(
    ("since", "status"),
    [
        (CHANGED_HTTP, 304),
        ("Sat, 21 Nov 2026 10:00:01 GMT", 304),
        ("Saturday, 21-Nov-26 10:00:00 GMT", 304),
        ("Sat Nov 21 10:00:00 2026", 304),
        ("Sat, 21 Nov 2026 09:59:59 GMT", 200),
        ("Sat, 21 Nov 2026 10:00:00 +0100", 200),
        ("not a date", 200),
        ("", 200),
    ],
)
async def test_if_modified_since(server: Server, since: str, status: int) -> None:
    response = await server.client.get(server.url(PARIS), headers={"if-modified-since": since})
    assert response.status_code == status
    assert response.headers["last-modified"] == CHANGED_HTTP
    assert response.content == (BODY if status == 200 else b"")


async def test_head_answers_conditionals_too(server: Server) -> None:
    etag = server.lookup.feeds[PARIS].etag
    response = await server.client.head(server.url(PARIS), headers={"if-none-match": etag})
    assert response.status_code == 304


async def test_new_content_gets_new_validators(server: Server) -> None:
    old = server.lookup.feeds[PARIS]
    await server.client.get(server.url(PARIS))  # the old answer is now prepared
    later = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    server.lookup.feeds[PARIS] = feed(PARIS, BODY + b"X", later)
    response = await server.client.get(server.url(PARIS), headers={"if-none-match": old.etag})
    assert response.status_code == 200
    assert response.content == BODY + b"X"
    assert response.headers["etag"] == server.lookup.feeds[PARIS].etag
    assert response.headers["last-modified"] == "Sun, 22 Nov 2026 08:30:00 GMT"
    assert response.headers["content-length"] == str(len(BODY) + 1)


async def test_same_bytes_with_a_later_change_date_get_the_new_date(server: Server) -> None:
    await server.client.get(server.url(PARIS))
    later = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    server.lookup.feeds[PARIS] = feed(PARIS, BODY, later)
    response = await server.client.get(server.url(PARIS))
    assert response.headers["last-modified"] == "Mon, 23 Nov 2026 00:00:00 GMT"


async def not_found_answers(server: Server) -> list[httpx.Response]:
    good = server.tokens.token(PARIS)
    other = server.tokens.token("support-hours")
    paths = [
        f"/feeds/{'x' * len(good)}/{PARIS_ENCODED}.ics",  # wrong token
        f"/feeds/{other}/{PARIS_ENCODED}.ics",  # another feed's token
        f"/feeds/{good}/nope.ics",  # unknown feed
        f"/feeds/{server.tokens.token('not-rendered-yet')}/not-rendered-yet.ics",  # no content
        f"/feeds/{good}/{PARIS_ENCODED}.txt",  # not a feed path
        f"/feeds/{good}",
        "/feeds",
        "/nope",
        "/",
    ]
    return [await server.client.get(path) for path in paths]


async def test_every_404_is_the_same(server: Server) -> None:
    answers = await not_found_answers(server)
    first = answers[0]
    assert first.status_code == 404
    assert first.content == b"not found"
    assert first.headers["content-type"] == "text/plain; charset=utf-8"
    for answer in answers[1:]:
        assert (answer.status_code, answer.content) == (404, b"not found"), answer.url
        assert answer.headers == first.headers, answer.url


async def test_rotated_token_revokes_the_old_url(server: Server) -> None:
    old_url = server.url(PARIS)
    server.tokens.rotate(PARIS)
    new_url = server.url(PARIS)
    assert (await server.client.get(old_url)).status_code == 404
    assert (await server.client.get(new_url)).status_code == 200


async def test_percent_encoding_of_plain_characters_is_accepted(server: Server) -> None:
    token = server.tokens.token("support-hours")
    response = await server.client.get(f"/feeds/{token}/%73upport%2Dhours.ics")
    assert response.status_code == 200
    assert response.content == b"other bytes"


async def call(app: ASGIApp, raw_path: bytes | None, path: str, method: str = "GET") -> int:
    """One request with a hand-made scope (httpx would normalise '..' away); its status."""
    sent = await exchange(app, raw_path, path, method)
    return int(sent[0]["status"])


async def exchange(app: ASGIApp, raw_path: bytes | None, path: str, method: str) -> list[Message]:
    """One request with a hand-made scope; the messages the app sent."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"icsbridge")],
    }
    if raw_path is not None:
        scope["raw_path"] = raw_path
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    return sent


async def test_dot_dot_segments_are_refused_even_for_a_real_feed(
    server: Server, state: StateStore
) -> None:
    sneaky = "hq/../support-hours"
    server.lookup.feeds[sneaky] = feed(sneaky)
    server.tokens.ensure([sneaky], {})
    token = server.tokens.token(sneaky)
    for raw in (
        f"/feeds/{token}/hq/../support-hours.ics",
        f"/feeds/{token}/hq/%2E%2E/support-hours.ics",
    ):
        assert await call(server.app, raw.encode(), path=raw) == 404


async def test_without_raw_path_the_decoded_path_is_used(server: Server) -> None:
    token = server.tokens.token(PARIS)
    assert await call(server.app, None, f"/feeds/{token}/{PARIS}.ics") == 200
    assert await call(server.app, None, f"/feeds/{token}/{PARIS_ENCODED}.ics") == 404


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_edits_on_a_read_url_get_405_and_a_wrong_token_the_usual_404(
    server: Server, method: str
) -> None:
    response = await server.client.request(method, server.url(PARIS))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert b"read-only URL" in response.content
    # Edits are judged by the write token: without one, nothing tells the feed exists.
    wrong = server.url(PARIS).replace(server.tokens.token(PARIS), "x" * 32)
    same = await server.client.request(method, wrong)
    assert (same.status_code, same.content) == (404, b"not found")


@pytest.mark.parametrize("method", ["POST", "PATCH", "OPTIONS"])
async def test_other_methods_on_a_feed_get_405(server: Server, method: str) -> None:
    response = await server.client.request(method, server.url(PARIS))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    # A wrong token gets the same 405: the method is judged before the token.
    wrong = server.url(PARIS).replace(server.tokens.token(PARIS), "x" * 32)
    same = await server.client.request(method, wrong)
    assert (same.status_code, same.headers, same.content) == (
        405,
        response.headers,
        response.content,
    )


class BrokenLookup:
    def get(self, name: str) -> FakeFeed | None:
        raise RuntimeError("boom")


async def test_a_failing_lookup_gives_500_and_is_counted(server: Server) -> None:
    metrics = Metrics()
    app = create_app(
        feeds=BrokenLookup(), tokens=server.tokens, health=lambda: (200, {}), metrics=metrics
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        response = await c.get(server.url(PARIS))
    assert response.status_code == 500
    assert response.content == b"internal server error"
    assert http_counts(metrics) == {500: 1}


@pytest.mark.parametrize("status", [200, 503])
async def test_healthz_passes_status_and_json_through(state: StateStore, status: int) -> None:
    report = {"status": "ok" if status == 200 else "failing", "sources": {"hq": {"at": NOW}}}
    app = create_app(
        feeds=FakeLookup(),
        tokens=FeedTokens(state, clock=lambda: NOW),
        health=lambda: (status, report),
        metrics=Metrics(),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        response = await c.get("/healthz")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": report["status"],
        "sources": {"hq": {"at": "2026-11-21T12:00:00+00:00"}},
    }


async def test_every_response_is_counted(server: Server) -> None:
    etag = server.lookup.feeds[PARIS].etag
    await server.client.get(server.url(PARIS))
    await server.client.head(server.url(PARIS))
    await server.client.get(server.url(PARIS), headers={"if-none-match": etag})
    await server.client.post(server.url(PARIS))
    await server.client.get("/healthz")
    await server.client.post("/healthz")
    answers = await not_found_answers(server)
    assert http_counts(server.metrics) == {200: 3, 304: 1, 404: len(answers), 405: 2}

"""The feed URLs: ``GET``/``HEAD`` of a feed, and ``PUT``/``DELETE`` on its write URL.

``GET``/``HEAD /feeds/<token>/<feed>.ics`` is a raw-ASGI fast path: a calendar client
revalidates its subscriptions all day long and the answer is nearly always the same bytes
or a 304, so each request only splits the path, checks the token, looks the feed up,
compares the two conditional headers and sends a header list precomputed per feed content.
Everything else (``/healthz``, ``/metrics``, 404s) goes to a small Starlette app.

HTTP rules (RFC 9110, ../shared/ICALENDAR.md): strong ETag and Last-Modified on 200 and
304; If-None-Match wins over If-Modified-Since; a malformed If-Modified-Since gets a 200;
identity encoding only; a wrong token, an unknown feed or a malformed path all get the
same 404, so nothing tells which part was wrong. Tokens are never logged.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from starlette.types import Receive, Scope, Send

from icsbridge.daemon.feeds.tokens import FeedTokens, write_name
from icsbridge.daemon.push.service import refusal
from icsbridge.daemon.store.errors import StateUnavailable
from icsbridge.daemon.web.metrics import Metrics
from icsbridge.daemon.web.validators import (
    decode_raw_path,
    etag_matches,
    imf_fixdate,
    parse_http_date,
    split_feed_path,
)
from icsbridge.daemon.web.writes import (
    FeedWriter,
    edit_request,
    encode,
    read_body,
    split_target,
    state_refusal,
)

log = logging.getLogger("icsbridge.server")

Headers = list[tuple[bytes, bytes]]
_Answer = tuple[int, Headers, bytes]

NOT_FOUND_BODY = b"not found"
_TEXT = b"text/plain; charset=utf-8"


def _plain(status: int, body: bytes, *extra: tuple[bytes, bytes]) -> _Answer:
    # Same headers, in the same order, as Starlette's PlainTextResponse: a 404 from the
    # fast path and one from Starlette cannot be told apart.
    return status, [*extra, (b"content-length", b"%d" % len(body)), (b"content-type", _TEXT)], body


_NOT_FOUND = _plain(404, NOT_FOUND_BODY)
_NOT_ALLOWED = _plain(405, b"method not allowed", (b"allow", b"GET, HEAD"))
_SERVER_ERROR = _plain(500, b"internal server error")

_PATH_CACHE_SIZE = 4096
_PATH_CACHE_MAX_LENGTH = 512  # feed URLs stay under ~256 characters
_UNSEEN: Any = object()


class ServedFeed(Protocol):
    """What the server needs of a feed (``icsbridge.daemon.feeds.store.FeedContent`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def etag(self) -> str: ...  # strong, quoted: '"<sha256 hex>"'
    @property
    def last_modified(self) -> datetime: ...  # aware
    @property
    def events(self) -> int: ...


class FeedLookup(Protocol):
    """Finds the current content of a feed by name (``daemon.feeds.store.FeedStore`` does)."""

    def get(self, name: str, /) -> ServedFeed | None: ...


class _Prepared:
    """One feed content's answers, built once per content rather than once per request."""

    __slots__ = ("body", "content", "etag", "headers_200", "headers_304", "imf", "modified")

    def __init__(self, content: ServedFeed) -> None:
        self.content = content
        self.body = content.data
        self.etag = content.etag.encode("ascii")
        self.imf = imf_fixdate(content.last_modified).encode("ascii")
        self.modified = int(content.last_modified.timestamp())
        validators = [
            (b"etag", self.etag),
            (b"last-modified", self.imf),
            # Clients may keep the feed but must ask again (cheap: a 304) before using it.
            (b"cache-control", b"no-cache"),
        ]
        self.headers_200: Headers = [
            (b"content-type", b"text/calendar; charset=utf-8"),
            (b"content-length", b"%d" % len(self.body)),
            *validators,
        ]
        self.headers_304: Headers = validators

    def still_valid_for(self, content: ServedFeed) -> bool:
        return self.content is content or (
            self.etag == content.etag.encode("ascii")
            and self.modified == int(content.last_modified.timestamp())
            and self.body is content.data
        )

    def not_modified(self, headers: list[tuple[bytes, bytes]]) -> bool:
        if_none_match: bytes | None = None
        if_modified_since: bytes | None = None
        for key, value in headers:
            if key == b"if-none-match":
                if_none_match = value if if_none_match is None else if_none_match + b"," + value
            elif key == b"if-modified-since":
                if_modified_since = value
        if if_none_match is not None:
            # RFC 9110 13.1.3: with If-None-Match present, If-Modified-Since is ignored.
            return etag_matches(if_none_match, self.etag)
        if if_modified_since is None:
            return False
        if if_modified_since == self.imf:
            return True
        since = parse_http_date(if_modified_since)
        return since is not None and self.modified <= since


class FeedRoute:
    """The raw-ASGI handler of ``/feeds/...`` (HTTP scopes whose path starts with it)."""

    def __init__(
        self,
        feeds: FeedLookup,
        tokens: FeedTokens,
        metrics: Metrics,
        writer: FeedWriter | None = None,
    ) -> None:
        self._feeds = feeds
        self._tokens = tokens
        self._metrics = metrics
        self._writer = writer
        self._prepared: dict[str, _Prepared] = {}
        # Clients ask for the same few URLs all day: percent-decoding a path costs more than
        # the rest of the request, so its result is kept (bounded: junk paths cannot grow it).
        self._paths: dict[bytes | str, tuple[str, str] | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope["method"] in ("PUT", "DELETE"):
                status, headers, body = await self.write(scope, receive)
            else:
                status, headers, body = self.answer(scope)
        except Exception:
            log.exception("serving a feed failed")
            status, headers, body = _SERVER_ERROR
        self._metrics.http_request(status)
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def answer(self, scope: Scope) -> _Answer:
        raw: bytes | None = scope.get("raw_path")
        key: bytes | str = raw or scope["path"]
        parsed = self._paths.get(key, _UNSEEN)
        if parsed is _UNSEEN:
            parsed = self._parse(key)
        if parsed is None:
            return _NOT_FOUND
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            return _NOT_ALLOWED
        token, name = parsed
        if not self._tokens.check(token, name):
            return _NOT_FOUND
        content = self._feeds.get(name)
        if content is None:
            self._prepared.pop(name, None)
            return _NOT_FOUND
        prepared = self._prepared.get(name)
        if prepared is None or not prepared.still_valid_for(content):
            prepared = self._prepared[name] = _Prepared(content)
        if prepared.not_modified(scope["headers"]):
            return 304, prepared.headers_304, b""
        return 200, prepared.headers_200, prepared.body  # HEAD: the caller drops the body

    async def write(self, scope: Scope, receive: Receive) -> _Answer:
        """A PUT or DELETE (see ``icsbridge.daemon.web.writes``)."""
        raw: bytes | None = scope.get("raw_path")
        parsed = self._parse(raw or scope["path"])
        if parsed is None:
            return _NOT_FOUND
        token, name = parsed
        method = scope["method"]
        feed, uid = split_target(name, method, lambda n: self._feeds.get(n) is not None)
        if self._writer is None or not self._tokens.check(token, write_name(feed)):
            # A read URL (of the feed, or of the feed the event is in) says why it refuses;
            # anything else is the same 404 as ever.
            if self._tokens.check(token, feed) and self._feeds.get(feed) is not None:
                return _plain(
                    405,
                    b"this is the read-only URL of the feed; edits go to its write URL "
                    b"(feed_writes = true on the source, see `icsbridge feeds`)",
                    (b"allow", b"GET, HEAD"),
                )
            return _NOT_FOUND
        if method == "DELETE" and uid is None:
            return encode(refusal(405, "DELETE takes one event: /feeds/<token>/<feed>/<uid>.ics"))
        body = await read_body(receive)
        if body is None:
            return encode(refusal(413, "the upload is too large (16 MiB at most)"))
        try:
            answer = await self._writer(edit_request(feed, uid, method, body, scope))
        except StateUnavailable as exc:
            log.warning("edit of %s: %s", feed, exc)
            answer = state_refusal(exc)
        return encode(answer)

    def _parse(self, key: bytes | str) -> tuple[str, str] | None:
        if isinstance(key, bytes):
            path = decode_raw_path(key)
            parsed = None if path is None else split_feed_path(path, encoded=True)
        else:  # no raw_path from the server: the path is decoded already
            parsed = split_feed_path(key, encoded=False)
        if len(key) <= _PATH_CACHE_MAX_LENGTH:
            if len(self._paths) >= _PATH_CACHE_SIZE:
                self._paths.clear()
            self._paths[key] = parsed
        return parsed

"""Edits over HTTP: ``PUT``/``DELETE`` on a feed's write URL.

- ``PUT /feeds/<write-token>/<feed>.ics`` with a whole calendar (events missing from it
  are deleted, within the source's ``max_deletes``);
- ``PUT /feeds/<write-token>/<feed>/<uid>.ics`` with one event (plus its VTIMEZONEs);
- ``DELETE /feeds/<write-token>/<feed>/<uid>.ics``.

``?dry_run=1`` answers with the plan and sends nothing. ``If-Match`` on a PUT of the
whole calendar must name the feed's current ETag (412 otherwise), so an app cannot
overwrite edits it has not seen. Write tokens are separate from read tokens and exist
only for the calendars of sources with ``feed_writes = true``; a PUT on a read URL is a
405. Answers are JSON: ``{"plan": [...], "notes": [...], "etag": ...}`` or
``{"error": "...", "details": [...]}``; a successful push carries the feed's new ETag.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope

MAX_UPLOAD_BYTES = 16 * 1024 * 1024
WRITE_PREFIX = "write:"


def write_name(feed: str) -> str:
    """The name a feed's write token is kept under (never a feed name: those have no ':')."""
    return WRITE_PREFIX + feed


@dataclass(frozen=True)
class WriteRequest:
    """One edit as the HTTP layer read it; the daemon's push service answers it."""

    feed: str
    uid: str | None  # None: the whole calendar
    method: str  # PUT | DELETE
    body: bytes
    dry_run: bool
    if_match: str | None


@dataclass(frozen=True)
class WriteAnswer:
    status: int
    payload: dict[str, Any]
    etag: str | None = None

    def encode(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body = json.dumps(self.payload, ensure_ascii=False, sort_keys=True).encode() + b"\n"
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"cache-control", b"no-store"),
        ]
        if self.etag is not None:
            headers.append((b"etag", self.etag.encode("ascii")))
        return self.status, headers, body


def error(status: int, message: str, details: list[str] | None = None) -> WriteAnswer:
    return WriteAnswer(status, {"error": message, "details": details or []})


FeedWriter = Callable[[WriteRequest], Awaitable[WriteAnswer]]


def split_target(name: str, method: str, is_feed: Callable[[str], bool]) -> tuple[str, str | None]:
    """(feed, uid) of a write path's name: the whole feed, or ``<feed>/<uid>``."""
    if method == "PUT" and is_feed(name):
        return name, None
    feed, sep, uid = name.rpartition("/")
    if sep and uid and is_feed(feed):
        return feed, uid
    return name, None


async def read_body(receive: Receive) -> bytes | None:
    """The request body, or None when it exceeds :data:`MAX_UPLOAD_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def dry_run_asked(scope: Scope) -> bool:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(v.lower() in ("1", "true", "yes") for v in query.get("dry_run", []))


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None

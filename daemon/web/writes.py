"""Edits over HTTP: ``PUT``/``DELETE`` on a feed's write URL.

- ``PUT /feeds/<write-token>/<feed>.ics`` with a whole calendar (events missing from it
  are deleted, within the source's ``max_deletes``);
- ``PUT /feeds/<write-token>/<feed>/<uid>.ics`` with one event (plus its VTIMEZONEs);
- ``DELETE /feeds/<write-token>/<feed>/<uid>.ics``.

``?dry_run=1`` answers with the plan and sends nothing. ``If-Match`` on a PUT of the
whole calendar must name the feed's current ETag (412 otherwise), so an app cannot
overwrite edits it has not seen; it is checked once the edit holds its source's lock
(see ``icsbridge.daemon.push.service``), and an edit that waited longer than the source's
``write_wait`` for a running sync or push gets 503 with Retry-After, nothing applied.
Write tokens are separate from read tokens and exist only for the calendars of sources
with ``feed_writes = true``; a PUT on a read URL is a 405. Answers are JSON:
``{"plan": [...], "notes": [...], "etag": ...}`` or ``{"error": "...", "details": [...]}``;
a successful push carries the feed's new ETag. A state that cannot be saved is 507 (its
disk is full) or 503 with Retry-After (damaged, locked, unreadable), with the store's line.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import parse_qs

from starlette.types import Receive, Scope

from icsbridge.daemon.push.service import EditAnswer, EditRequest, refusal
from icsbridge.daemon.store.errors import StateFull, StateUnavailable
from icsbridge.daemon.web.validators import etag_matches

MAX_UPLOAD_BYTES = 16 * 1024 * 1024


def encode(answer: EditAnswer) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The HTTP answer to an edit: its status, JSON body and, after a push, the new ETag
    (after a 503, Retry-After)."""
    body = json.dumps(answer.payload, ensure_ascii=False, sort_keys=True).encode() + b"\n"
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        (b"cache-control", b"no-store"),
    ]
    if answer.etag is not None:
        headers.append((b"etag", answer.etag.encode("ascii")))
    if answer.retry_after is not None:
        headers.append((b"retry-after", b"%d" % answer.retry_after))
    return answer.status, headers, body


def state_refusal(exc: StateUnavailable) -> EditAnswer:
    """The answer to an edit whose state could not be saved: 507 Insufficient Storage on a
    full disk, else 503 with Retry-After. Whatever the push had not journalled was not
    sent; a call the API took before the state failed stays pending in the journal, and
    the next sync (or push) settles it by looking at the API, so sending the edit again
    never applies it twice."""
    line = (
        f"{exc}; the edit was not saved (not sent, or left to the next sync to settle): "
        "send it again once the state can be saved"
    )
    if isinstance(exc, StateFull):
        return refusal(507, line)
    return replace(refusal(503, line), retry_after=exc.retry_after)


def edit_request(feed: str, uid: str | None, method: str, body: bytes, scope: Scope) -> EditRequest:
    """The push service's request for a PUT or DELETE on a write URL."""
    if_match = header(scope, b"if-match")
    precondition = None
    if if_match is not None:
        wanted = if_match.encode("latin-1")
        precondition = lambda etag: etag_matches(wanted, etag.encode())  # noqa: E731
    return EditRequest(feed, uid, method == "DELETE", body, dry_run_asked(scope), precondition)


FeedWriter = Callable[[EditRequest], Awaitable[EditAnswer]]


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

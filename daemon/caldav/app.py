"""The ASGI side of xandikos: a request object its handlers read, built from the ASGI
scope, HTTP Basic in front, and the answers that escape its handlers mapped to HTTP.

xandikos's handlers are coroutines, so they run on the daemon's loop: no thread pool.
Its own aiohttp adapter awaits ``WebDAVApp._handle_request`` the same way. One
``WebDAVApp`` serves every user; the backend it reads is the logged-in user's, set per
request in a context variable (each ASGI request runs in a task of its own).
"""

from __future__ import annotations

import contextvars
import logging
import posixpath
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from multidict import CIMultiDict
from starlette.types import Receive, Scope, Send
from xandikos import webdav

from icsbridge.config.settings import Settings
from icsbridge.daemon.caldav.auth import BasicAuth
from icsbridge.daemon.caldav.names import WELL_KNOWN
from icsbridge.daemon.caldav.properties import build_dav_app
from icsbridge.daemon.caldav.resources import Calendar, Event, UserBackend
from icsbridge.daemon.caldav.view import CaldavView, NotReady
from icsbridge.daemon.caldav.writes import CaldavWrites, DavAnswer
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.push.service import EditAnswer, EditRequest
from icsbridge.daemon.store.state import StateStore

log = logging.getLogger("icsbridge.caldav")

MAX_BODY = 16 * 1024 * 1024
NOT_READY_RETRY = 5
_current: contextvars.ContextVar[UserBackend] = contextvars.ContextVar("icsbridge_dav_backend")
Headers = list[tuple[bytes, bytes]]
_NEED_RESOURCE = frozenset({"GET", "HEAD", "PROPFIND", "REPORT", "DELETE"})


class _CurrentBackend:
    """The backend of the request being handled (see the module doc)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_current.get(), name)


class _Content:
    def __init__(self, body: bytes) -> None:
        self._body = body
        self._at = 0

    async def read(self, size: int | None = None) -> bytes:
        end = len(self._body) if size is None or size < 0 else self._at + size
        chunk = self._body[self._at : end]
        self._at += len(chunk)
        return chunk


class DavRequest:
    """What xandikos's method handlers read from a request."""

    def __init__(self, scope: Scope, body: bytes, script_name: str, path_info: str) -> None:
        self.method: str = scope["method"]
        raw = scope.get("raw_path") or scope["path"].encode()
        self.raw_path = raw.decode("latin-1").split("?", 1)[0]
        self.path = unquote(self.raw_path)
        self.headers: CIMultiDict[str] = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
        )
        host = self.headers.get("Host", "localhost")
        self.url = f"{scope.get('scheme', 'http')}://{host}{self.raw_path}"
        self.content_type = self.headers.get("Content-Type", "application/octet-stream")
        self.content_length: int | None = len(body)
        self.content = _Content(body)
        self.can_read_body = bool(body)
        self.match_info = {"path_info": path_info}
        self._body = body
        self.script_name = script_name

    async def read(self) -> bytes:
        return self._body


class DavApp:
    """CalDAV under ``[caldav].path``: authentication, then xandikos."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        feeds: FeedStore,
        state: StateStore,
        writer: Callable[[EditRequest], Awaitable[EditAnswer]],
    ) -> None:
        self.settings = settings
        self.view = CaldavView(settings, feeds, state)
        self.writes = CaldavWrites(writer)
        self.auth = BasicAuth(self._caldav)
        self.dav = build_dav_app(_CurrentBackend())

    def _caldav(self) -> Any:
        return self.settings().caldav

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caldav = self.settings().caldav
        assert caldav is not None
        if scope["path"] == WELL_KNOWN:
            await _send(send, 301, b"", [(b"location", caldav.path.encode())])
            return
        body = await _read_body(receive)
        if body is None:
            await _send_text(send, 413, "the request body is larger than 16 MiB")
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        verdict = self.auth.check(_header(scope, b"authorization"), address)
        if verdict.retry_after is not None:
            text = "too many failed logins from this address; try again later"
            await _send_text(send, 429, text, [(b"retry-after", b"%d" % verdict.retry_after)])
            return
        if verdict.user is None:
            challenge = (b"www-authenticate", b'Basic realm="icsbridge", charset="UTF-8"')
            await _send_text(send, 401, "log in with a [[caldav.users]] name", [challenge])
            return
        script_name = caldav.path.rstrip("/")
        if scope["path"] == "/":
            # An app given only the host asks it for current-user-principal: answered as
            # the root of [caldav].path, whose hrefs lead on from there.
            scope = {**scope, "path": caldav.path, "raw_path": caldav.path.encode()}
        path = scope["path"][len(script_name) :] or "/"
        request = DavRequest(scope, body, script_name, path)
        environ = {"SCRIPT_NAME": script_name, "REMOTE_USER": verdict.user.name}
        backend = UserBackend(self.view, self.writes, verdict.user)
        _current.set(backend)
        try:
            refused = _refused_early(backend, scope["method"], path)
            if refused is not None:
                await _send_text(send, *refused)
                return
            response = await self.dav._handle_request(request, environ)
        except webdav.PreconditionFailure as exc:
            response = webdav._send_simple_dav_error(
                request, exc.statuscode, ET.Element(exc.precondition), exc.description
            )
        except DavAnswer as exc:
            extra = [] if exc.retry_after is None else [(b"retry-after", b"%d" % exc.retry_after)]
            await _send_text(send, exc.status, exc.text, extra)
            return
        except NotReady:
            text = "this calendar's source has not synced since icsbridge started; try shortly"
            retry = [(b"retry-after", b"%d" % NOT_READY_RETRY)]
            await _send_text(send, 503, text, retry)
            return
        await _send_response(send, response, head=scope["method"] == "HEAD")


def _refused_early(backend: UserBackend, method: str, path: str) -> tuple[int, str, Headers] | None:
    """What xandikos would answer wrongly: a missing or hidden resource (the same plain
    404 either way, where xandikos says 207 or 409), a PUT outside a calendar, a GET of a
    collection (it has no body)."""
    target = path if method != "PUT" else posixpath.dirname(path.rstrip("/"))
    if method not in _NEED_RESOURCE and method != "PUT":
        return None
    found = backend.get_resource(target)
    if found is None:
        return 404, "no such calendar or event", []
    if method == "PUT" and not isinstance(found, Calendar):
        return 403, "an event goes into one of the calendars", []
    if method in ("GET", "HEAD") and not isinstance(found, Event):
        allow = [(b"allow", b"OPTIONS, PROPFIND, REPORT")]
        return 405, "a collection has no body: PROPFIND or REPORT it (or GET its feed)", allow
    return None


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send(send: Send, status: int, body: bytes, headers: Headers) -> None:
    headers = [*headers, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_text(send: Send, status: int, text: str, headers: Headers | None = None) -> None:
    content = [(b"content-type", b"text/plain; charset=utf-8"), *(headers or [])]
    await _send(send, status, text.encode() + b"\n", content)


async def _send_response(send: Send, response: webdav.Response, *, head: bool) -> None:
    raw = response.body
    body = bytes(raw) if isinstance(raw, bytes | bytearray) else b"".join(raw)
    headers: Headers = []
    for name, value in response.headers:
        # A PUT whose stored form differs from the upload has no ETag (RFC 4791 5.3.4).
        if value is None or name.lower() == "content-length":
            continue
        headers.append((name.lower().encode("latin-1"), str(value).encode("latin-1")))
    if head:
        length = [(b"content-length", b"%d" % len(body))]
        await send(
            {"type": "http.response.start", "status": response.status, "headers": headers + length}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await _send(send, response.status, body, headers)

"""What one client can hold of the feed server: time to send a request's headers, their
size, and a share of the sockets.

uvicorn's httptools protocol bounds none of the three:
- its keep-alive timer is armed only after a response, and any byte cancels it, so a new
  connection that sends nothing, or a request line sent a byte at a time, stays open;
- llhttp has no header size limit (uvicorn's ``h11_max_incomplete_event_size`` is for
  h11 only), so a header is buffered however large it grows;
- ``limit_concurrency`` answers 503 only once a request's headers are in, and counts the
  connections that never send one, so idle sockets still take every file descriptor.

:class:`LimitedHttpToolsProtocol` adds them on top of uvicorn's protocol without touching
its parser: a deadline from the connection (or a request's first bytes) to the end of its
headers, a count of the bytes fed while the headers are incomplete, and a decision at
connect on whether the connection is served.
"""

from __future__ import annotations

import asyncio
import logging
import re
from asyncio import TimerHandle
from dataclasses import dataclass, field
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("icsbridge.daemon.web")

# The blank line that ends a request's headers (llhttp also takes a bare LF).
_HEADERS_END = re.compile(rb"\n\r?\n")
_WARN_EVERY = 60.0  # seconds between two "connection limit reached" lines


@dataclass(frozen=True)
class ServerLimits:
    """The feed server's bounds (the daemon's defaults; tests make them tiny).

    The feed server keeps at most :attr:`max_sockets` sockets open; the daemon takes
    :meth:`for_open_files` of its limit, and ``LimitNOFILE=`` in
    ``systemd/icsbridge.service`` is set so that the defaults fit.
    """

    header_timeout: float = 10.0  # seconds from connect, or a request's first bytes,
    # to the end of its headers; then the connection is closed
    max_header_bytes: int = 64 * 1024  # request line + headers; above it 431 and close
    max_connections: int = 1000  # served at once; the next ones get 503 and a close
    keep_alive: int = 5  # seconds an idle kept-alive connection stays open (uvicorn's)

    @classmethod
    def for_open_files(cls, limit: int) -> ServerLimits:
        """The defaults, with no more connections than leave half of ``limit`` (the
        process's RLIMIT_NOFILE, 1024 outside systemd) to syncs, the state and feeds."""
        if limit < 0:  # RLIM_INFINITY
            return cls()
        return cls(max_connections=max(1, min(cls.max_connections, limit // 4)))

    @property
    def max_sockets(self) -> int:
        """Served connections plus as many being refused; past it one is closed at once."""
        return 2 * self.max_connections


def _response(status: bytes, text: bytes, *extra: bytes) -> bytes:
    head = [
        b"HTTP/1.1 " + status,
        b"content-type: text/plain; charset=utf-8",
        b"content-length: " + str(len(text)).encode(),
        b"connection: close",
        *extra,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + text


_TOO_MANY = _response(
    b"503 Service Unavailable",
    b"too many connections to the feed server; try again in a moment\n",
    b"retry-after: 5",
)
_TOO_LARGE = _response(
    b"431 Request Header Fields Too Large",
    b"the request line and headers are too large\n",
)


def _headers_size(method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """The request line and headers as sent (but for optional whitespace around values):
    ``METHOD SP url SP HTTP/1.1 CRLF``, ``name: value CRLF`` each, and the blank line."""
    return len(method) + len(url) + 14 + sum(len(name) + len(value) + 4 for name, value in headers)


@dataclass
class _Tally:
    """What the connections of one server share."""

    served: set[asyncio.Protocol] = field(default_factory=set)
    warned_at: float | None = None


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`ServerLimits` (see the module doc).

    Make one class per server with :func:`limited_protocol`: the class carries the
    limits and the count of served connections.
    """

    limits: ClassVar[ServerLimits] = ServerLimits()
    tally: ClassVar[_Tally] = _Tally()

    _deadline: TimerHandle | None = None
    _refused = False  # over max_connections: read the request's headers, answer 503
    _awaiting_headers = True
    _header_bytes = 0
    _tail = b""  # of a refused request, to see its headers end across reads
    _done = False  # answered 431 or 503: nothing more is read or handed to the app

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        served, total = len(self.tally.served), len(self.connections)
        super().connection_made(transport)
        if served < self.limits.max_connections:
            self.tally.served.add(self)
        elif total - served >= self.limits.max_connections:
            # As many are being refused already: closing this one at once keeps the
            # sockets bounded (no answer, but no file descriptor held either).
            transport.abort()
            return
        else:
            self._refused = True
            self._warn_limit()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.tally.served.discard(self)
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        if self._refused:
            self._read_refused(data)
            return
        if self._awaiting_headers:
            self._header_bytes += len(data)
            if self._deadline is None:
                self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self._awaiting_headers and self._header_bytes > self.limits.max_header_bytes:
            # Headers still incomplete after this read: they hold at most the cap (plus
            # one read, dropped here), never what a client chooses to send.
            self._answer_and_close(_TOO_LARGE)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm()
        if self._done:
            return
        size = _headers_size(self.parser.get_method(), self.url, self.headers)
        if size > self.limits.max_header_bytes:
            self._answer_and_close(_TOO_LARGE)  # what the parser still reads goes nowhere
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._done:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._done:
            return
        super().on_message_complete()
        self._awaiting_headers, self._header_bytes = True, 0

    def _answer_and_close(self, answer: bytes) -> None:
        self._done = True
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(answer)  # not in the middle of a pipelined response
        self.transport.close()

    # -- the header deadline ------------------------------------------------------------

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.limits.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm()  # a response is under way: never cut it; the clock starts again
            return
        self.transport.close()

    # -- over the limit -----------------------------------------------------------------

    def _read_refused(self, data: bytes) -> None:
        """Answer 503 once the request's headers are in (read whole, so the close is a
        clean one and the client sees the answer), never handing them to the app."""
        self._header_bytes += len(data)
        seen = self._tail + data
        if _HEADERS_END.search(seen) is None and self._header_bytes <= self.limits.max_header_bytes:
            self._tail = seen[-3:]
            return
        self._answer_and_close(_TOO_MANY)

    def _warn_limit(self) -> None:
        now = self.loop.time()
        if self.tally.warned_at is None or now - self.tally.warned_at >= _WARN_EVERY:
            self.tally.warned_at = now
            log.warning(
                "feed server: %d connections open, the limit; new ones get 503",
                self.limits.max_connections,
            )


def limited_protocol(limits: ServerLimits) -> type[asyncio.Protocol]:
    """The protocol class for one server with ``limits`` (uvicorn's ``http=``)."""
    return type(
        "LimitedHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {"limits": limits, "tally": _Tally()},
    )

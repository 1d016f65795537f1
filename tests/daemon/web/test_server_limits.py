"""The feed server's bounds on what one client can hold (issue 19, item 6), over real
loopback sockets against the daemon's app served as the daemon serves it.

Closes are awaited as EOF on the socket with a bounded timeout; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.loopback import WAIT, ServedApp, as_feed_server

from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.web.app import create_app
from icsbridge.daemon.web.binding import feed_server
from icsbridge.daemon.web.limits import LimitedHttpToolsProtocol, ServerLimits
from icsbridge.daemon.web.metrics import Metrics

HEADER_TIMEOUT = 0.2
CLOSE_BOUND = 5.0  # the server must close well within this (25 x the timeout)
HEALTHZ = b"GET /healthz HTTP/1.1\r\nhost: icsbridge.test\r\n\r\n"


class NoFeeds:
    def get(self, name: str) -> None:
        return None


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[ServerLimits], ServedApp]]:
    servers: list[ServedApp] = []
    with StateStore(tmp_path / "state.db") as state:
        app = create_app(
            feeds=NoFeeds(),
            tokens=FeedTokens(state, clock=lambda: datetime(2026, 11, 21, tzinfo=UTC)),
            health=lambda: (200, {"status": "ok"}),
            metrics=Metrics(),
        )

        def start(limits: ServerLimits) -> ServedApp:
            servers.append(ServedApp(app, as_feed_server(limits)))
            return servers[-1]

        yield start
        for server in servers:
            server.stop()


def connect(server: ServedApp, timeout: float = WAIT) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    sock.settimeout(timeout)
    return sock


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def read_to_eof(sock: socket.socket) -> bytes:
    """Everything until the server closes (a socket timeout fails the test)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def close_and_wait(sock: socket.socket) -> None:
    """Close our side and wait until the server has closed its own: asyncio's transport
    calls ``connection_lost`` before it closes the socket, so the server has dropped
    the connection by the time we see its EOF."""
    sock.shutdown(socket.SHUT_WR)
    assert read_to_eof(sock) == b""
    sock.close()


def assert_closed_after_the_timeout(sock: socket.socket, since: float) -> None:
    assert read_to_eof(sock) == b""  # no answer, and within CLOSE_BOUND
    assert time.monotonic() - since >= HEADER_TIMEOUT * 0.9


def test_a_new_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    server = serve(ServerLimits(header_timeout=HEADER_TIMEOUT))
    started = time.monotonic()
    with connect(server, CLOSE_BOUND) as sock:
        assert_closed_after_the_timeout(sock, started)


def test_a_request_line_sent_in_part_is_closed_after_the_header_timeout(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    server = serve(ServerLimits(header_timeout=HEADER_TIMEOUT))
    started = time.monotonic()
    with connect(server, CLOSE_BOUND) as sock:
        sock.sendall(b"GET /heal")
        assert_closed_after_the_timeout(sock, started)


def test_a_request_begun_on_a_kept_alive_connection_is_closed_after_the_header_timeout(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    # uvicorn's keep-alive timer is cancelled by any byte: a drip after a first request
    # kept the connection open for good. Keep-alive here is far longer than the bound.
    server = serve(ServerLimits(header_timeout=HEADER_TIMEOUT, keep_alive=600))
    with connect(server, CLOSE_BOUND) as sock:
        sock.sendall(HEALTHZ)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: ic")
        assert_closed_after_the_timeout(sock, started)


def test_headers_just_under_the_cap_are_served(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    server = serve(ServerLimits(max_header_bytes=4096))
    padding = b"x" * (4096 - len(HEALTHZ) - len(b"x-pad: \r\n"))
    request = HEALTHZ[:-2] + b"x-pad: " + padding + b"\r\n\r\n"
    assert len(request) == 4096
    with connect(server) as sock:
        sock.sendall(request)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")


def test_headers_over_the_cap_get_431_and_a_close(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    server = serve(ServerLimits(max_header_bytes=4096))
    padding = b"x" * (4097 - len(HEALTHZ) - len(b"x-pad: \r\n"))
    request = HEALTHZ[:-2] + b"x-pad: " + padding + b"\r\n\r\n"
    assert len(request) == 4097
    with connect(server) as sock:
        sock.sendall(request)  # one loopback segment: the server reads it whole
        answer = read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert answer.endswith(b"\r\n\r\nthe request line and headers are too large\n")


def test_a_20_mb_header_is_refused_long_before_it_is_all_sent(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    # 20 connections with 20 MB headers took the daemon from 69 to 479 MB: each was
    # buffered whole. Now the server stops reading at the cap and closes; the client's
    # sends fail once the kernel buffers between the two are full.
    server = serve(ServerLimits(max_header_bytes=64 * 1024))
    total, chunk = 20 * 1024 * 1024, b"x" * 65536
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: icsbridge.test\r\nx-big: ")
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
    assert sent < total // 2


def test_beyond_the_connection_limit_a_new_connection_gets_503_and_healthz_works_once_others_close(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    server = serve(ServerLimits(max_connections=2, keep_alive=600))
    first, second = connect(server), connect(server)
    for sock in (first, second):
        sock.sendall(HEALTHZ)  # served: both hold their place, kept alive
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
    with connect(server) as third:
        third.sendall(HEALTHZ)
        refused = read_to_eof(third)
    assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nretry-after: 5\r\n" in refused
    assert b"\r\nconnection: close\r\n" in refused
    assert refused.endswith(b"too many connections to the feed server; try again in a moment\n")

    first.sendall(HEALTHZ)  # a connection already served goes on being served
    assert read_response(first).startswith(b"HTTP/1.1 200 ")

    close_and_wait(second)
    with connect(server) as fourth:
        fourth.sendall(HEALTHZ)
        assert read_response(fourth).startswith(b"HTTP/1.1 200 ")
    close_and_wait(first)


def test_past_twice_the_limit_a_connection_is_closed_at_once(
    serve: Callable[[ServerLimits], ServedApp],
) -> None:
    # 1,100 idle connections took every file descriptor: refused ones wait for their
    # request (to answer it 503) only up to as many again as are served.
    server = serve(ServerLimits(max_connections=1))
    served, waiting = connect(server), connect(server)
    # An abort may reach the client as a reset: the same to it as a close.
    with connect(server) as dropped, contextlib.suppress(ConnectionResetError):
        assert dropped.recv(65536) == b""
    waiting.sendall(HEALTHZ)
    assert read_to_eof(waiting).startswith(b"HTTP/1.1 503 ")
    served.sendall(HEALTHZ)
    assert read_response(served).startswith(b"HTTP/1.1 200 ")
    for sock in (served, waiting):
        sock.close()


def test_the_daemon_serves_with_limits_that_fit_its_open_file_limit() -> None:
    config = feed_server(lambda scope, receive, send: None).config
    assert isinstance(config.http, type) and issubclass(config.http, LimitedHttpToolsProtocol)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert config.http.limits == ServerLimits.for_open_files(soft)
    assert config.http.limits.max_sockets <= soft // 2 or soft < 0
    assert config.timeout_keep_alive == ServerLimits().keep_alive
    assert config.ws == "none"


def test_the_connection_limit_leaves_half_the_open_files_to_the_rest() -> None:
    # Outside systemd the soft limit is 1024: 1,100 idle connections exhausted it.
    assert ServerLimits.for_open_files(1024).max_connections == 256
    assert ServerLimits.for_open_files(1024).max_sockets == 512
    assert ServerLimits.for_open_files(4096) == ServerLimits()  # the unit's LimitNOFILE
    assert ServerLimits.for_open_files(resource.RLIM_INFINITY) == ServerLimits()
    assert ServerLimits.for_open_files(3).max_connections == 1

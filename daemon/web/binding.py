"""The feed server's socket and uvicorn, as the daemon runs them (the demo and the
serving benchmark use the same functions)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import resource
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from icsbridge.config.errors import IcsbridgeError
from icsbridge.daemon.web.limits import ServerLimits, limited_protocol
from icsbridge.daemon.web.tls import check_tls


class ListenError(IcsbridgeError):
    """The feed server cannot listen on ``[daemon].listen``; ``in_use`` when something
    else already listens there."""

    def __init__(self, line: str, *, in_use: bool = False) -> None:
        super().__init__(line)
        self.in_use = in_use


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def feed_server(
    app: Any, limits: ServerLimits | None = None, *, tls: tuple[Path, Path] | None = None
) -> QuietServer:
    """uvicorn as the daemon runs it (bench/serve_bench_server.py uses this too).

    No access log (metrics count requests), no lifespan, no Server header, and no
    proxy-header parsing: nothing uses the client address, and skipping it is about 5%
    more 304s per second. The HTTP protocol is uvicorn's httptools one with ``limits``
    (``web.limits``: a header timeout, a header size cap, a connection limit that fits
    the process's open-file limit unless ``limits`` says otherwise); no
    WebSocket upgrade, which would hand the socket to a protocol without them.

    ``tls`` (certificate, key: ``[daemon].tls``) serves HTTPS with uvicorn's own TLS; the
    pair is loaded here first, so a bad file is a ``TlsError`` line, not OpenSSL's.
    """
    if tls is not None:
        check_tls(*tls)
    if limits is None:
        limits = ServerLimits.for_open_files(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    return QuietServer(
        uvicorn.Config(
            app,
            http=limited_protocol(limits),
            ws="none",
            timeout_keep_alive=limits.keep_alive,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
            ssl_certfile=None if tls is None else tls[0],
            ssl_keyfile=None if tls is None else tls[1],
        )
    )


async def wait_started(server: QuietServer, task: asyncio.Task[None]) -> None:
    """Until ``server`` (run by ``task``) listens; what it raised if it stopped instead."""
    while not server.started:  # uvicorn offers no event to wait on
        if task.done():
            task.result()  # raises what uvicorn raised
            raise ListenError("the feed server stopped during start-up")
        await asyncio.sleep(0.005)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or ListenError: one line saying why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:  # socket.gaierror: the host does not resolve
        raise ListenError(
            f"cannot listen on {host}:{port}: {host} does not resolve "
            f"({exc.strerror or exc}); change [daemon].listen"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(512)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise _listen_error(host, port, exc) from None
    return sock


def check_listen(host: str, port: int) -> None:
    """Raise the ListenError :func:`bind` would, without keeping the socket (``check``)."""
    bind(host, port).close()


def _listen_error(host: str, port: int, exc: OSError) -> ListenError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return ListenError(
            f"cannot listen on {host}:{port}: {reason}; "
            "change [daemon].listen or stop what uses that port",
            in_use=True,
        )
    if exc.errno == errno.EACCES and port < 1024:
        return ListenError(
            f"cannot listen on {host}:{port}: {reason} (ports below 1024 need privileges); "
            "change [daemon].listen"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(
            f"cannot listen on {host}:{port}: {reason} ({host} is not an address of this "
            "machine); change [daemon].listen"
        )
    return ListenError(f"cannot listen on {host}:{port}: {reason}; change [daemon].listen")

"""The icsbridge side of bench/serve_bench.py: the real feed server in its own process.

Builds one merged feed of ~1 MB with the real pipeline (the bulk Webex simulator in
process -> WebexSource -> pull_and_render -> FeedStore with a ``[[feeds]]`` entry, which
also writes the feed's file), gives it a FeedTokens token in a temp StateStore, then serves
``icsbridge.daemon.web.app.create_app`` the way ``icsbridge run`` does: ``QuietServer`` on a socket
from ``bind()``, inside ``uvloop.run``, uvicorn with httptools, no access log, no lifespan.
With ``--server granian`` the same app is served by granian's embedded server instead (the
candidate issue 18 asks to measure; the daemon itself runs uvicorn); with ``--server
floor`` uvicorn serves a bare app holding the feed's answers (what the server alone costs).

Prints one JSON line on stdout once the server listens (port, feed URL path, ETag, the
feed file, its size), then serves until SIGTERM or SIGINT.

Run by serve_bench.py: python bench/serve_bench_server.py --dir TMP [--people N]
[--server granian|floor]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from icsbridge.daemon.simulators.webex import seed as webex_seed

FEED = "bench"
# The bulk simulator's org at these sizes renders to a merged feed just under 1,000,000
# bytes (Google's limit, the size the benchmark is about).
DEFAULT_PEOPLE = 45
DEFAULT_SCHEDULES = 2
DEFAULT_EVENTS = 25


def _config(folder: Path, people: list[str]) -> Path:
    (folder / "token").write_text("demo-token")
    quoted = ", ".join(f'"{p}"' for p in people)
    config = folder / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        '[[sources]]\nname = "bench"\nkind = "webex"\ninterval = "1h"\ntimezone = "UTC"\n'
        f'token = "file:token"\npeople = [{quoted}]\nlocations = "all"\n\n'
        f'[[feeds]]\nname = "{FEED}"\ncalendars = ["bench/*"]\n'
    )
    return config


async def _build(args: argparse.Namespace) -> tuple[Any, Any]:
    """(feed store, state) holding the one merged feed, synced once."""
    import httpx

    from icsbridge.config.loader import load_settings, resolve_secrets
    from icsbridge.daemon.feeds.store import FeedStore
    from icsbridge.daemon.simulators.webex.app import create_app
    from icsbridge.daemon.sources.kinds import source_for
    from icsbridge.daemon.store.state import StateStore
    from icsbridge.daemon.sync.pull import pull_and_render

    sim = webex_seed.bulk_state(args.people, args.schedules, args.events)
    folder = Path(args.dir)
    settings = load_settings(_config(folder, sorted(sim.people)))
    problems = resolve_secrets(settings)
    if problems:
        raise SystemExit("\n".join(problems))
    state = StateStore(settings.daemon.state)
    feeds = FeedStore(settings, state)
    transport = httpx.ASGITransport(app=create_app(sim))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with httpx.AsyncClient(transport=transport) as client:
        source = source_for(settings.sources[0], client, tokens=state)
        rendered = await pull_and_render(source, "bench", state, now=now, settle=None)
    feeds.update_source("bench", rendered, now=now)
    return feeds, state


async def serve(args: argparse.Namespace) -> None:

    from icsbridge.daemon.feeds.tokens import FeedTokens
    from icsbridge.daemon.web.app import create_app
    from icsbridge.daemon.web.binding import bind, feed_server
    from icsbridge.daemon.web.metrics import Metrics

    feeds, state = await _build(args)
    content = feeds.get(FEED)
    if content is None:
        raise SystemExit(f"the feed store holds no feed {FEED!r}: {feeds.names()}")
    tokens = FeedTokens(state, clock=lambda: datetime.now(UTC))
    tokens.ensure(feeds.names(), {})
    app = create_app(
        feeds=feeds, tokens=tokens, health=lambda: (200, {"status": "ok"}), metrics=Metrics()
    )
    loop = asyncio.get_running_loop()
    if args.server == "floor":
        app = _floor_app(content.data, content.etag.encode("ascii"))
    if args.server == "granian":
        port, http, task = await _granian(app, loop)
    else:
        sock = bind("127.0.0.1", 0)
        server = feed_server(app)  # exactly the daemon's uvicorn settings
        task = asyncio.create_task(server.serve(sockets=[sock]))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        while not server.started:
            if task.done():
                task.result()
                raise SystemExit("the feed server stopped during start-up")
            await asyncio.sleep(0.01)
        port = sock.getsockname()[1]
        http = getattr(server.config.http_protocol_class, "__name__", "?")  # HttpToolsProtocol
    info = {
        "port": port,
        "path": tokens.url_path(FEED),
        "etag": content.etag,
        "file": str(content.path),
        "size": len(content.data),
        "events": content.events,
        "loop": type(loop).__module__,  # "uvloop"
        "http": http,
    }
    print(json.dumps(info), flush=True)
    await task
    state.close()


def _floor_app(body: bytes, etag: bytes) -> Any:
    """The server's floor: a raw ASGI app answering every GET with the feed (or a 304 to
    its ETag) from precomputed headers, nothing of icsbridge's (no path, token or feed
    lookup, no metrics). Served on the daemon's uvicorn settings, it shows how much of a
    response's cost is the server's own."""
    headers_304 = [(b"etag", etag), (b"cache-control", b"no-cache")]
    headers_200 = [
        (b"content-type", b"text/calendar; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        *headers_304,
    ]

    async def app(scope: Any, _receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        match = any(k == b"if-none-match" and v == etag for k, v in scope["headers"])
        status, headers = (304, headers_304) if match else (200, headers_200)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if match else body})

    return app


async def _granian(app: Any, loop: asyncio.AbstractEventLoop) -> tuple[int, str, Any]:
    """The same app on granian's embedded server (its Rust HTTP/1.1 side, our event loop):
    (port, description, the serving task) once it accepts connections."""
    import socket

    from granian import __version__ as version
    from granian.constants import HTTPModes, Interfaces
    from granian.server.embed import Server

    from icsbridge.daemon.web.binding import bind

    probe = bind("127.0.0.1", 0)  # a free port: granian binds by address and port itself
    port = probe.getsockname()[1]
    probe.close()
    server = Server(
        app,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGINL,  # no lifespan: create_app has none to run
        http=HTTPModes.http1,
        websockets=False,
        log_enabled=False,
    )
    task = asyncio.create_task(server.serve())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    for _ in range(500):
        if task.done():
            task.result()
            raise SystemExit("granian stopped during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
        except OSError:
            await asyncio.sleep(0.01)
    else:
        raise SystemExit("granian did not listen within 5 s")
    return port, f"granian {version} embedded, ASGI", task


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="an empty temp folder to work in")
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE)
    parser.add_argument("--schedules", type=int, default=DEFAULT_SCHEDULES)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--server", choices=("uvicorn", "granian", "floor"), default="uvicorn")
    args = parser.parse_args()
    import uvloop

    uvloop.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

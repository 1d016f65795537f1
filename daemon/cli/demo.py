"""`icsbridge demo`: the whole service against the built-in simulators, offline.

The Webex simulator is served by uvicorn on a free loopback port with its demo data and
read over real HTTP, exactly as the real API would be. The daemon (``icsbridge run``)
then syncs it and serves the feeds on another loopback port; the demo prints their
subscription URLs and fetches one to show it answers. It serves until Ctrl-C, or stops
after the first sync with ``--once``. Config, state and files go under the demo folder;
the state is thrown away at each start so every demo begins from scratch.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import shlex
import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.types import ASGIApp

from icsbridge.config.errors import IcsbridgeError
from icsbridge.daemon.caldav.names import base_url
from icsbridge.daemon.feeds.urls import feed_urls
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState, create_app
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.web.binding import QuietServer

DEMO_TOKEN_FILE = "webex-demo-token"
DAV_USER = "demo"
DAV_PASSWORD = "demo-dav-password"  # a demo on loopback; real passwords are secret refs
DAV_PASSWORD_FILE = "demo-dav-password"
_STARTUP_TIMEOUT = 10.0


class DemoError(IcsbridgeError):
    pass


async def serve_on_loopback(app: ASGIApp) -> tuple[QuietServer, asyncio.Task[None], int]:
    """Start ``app`` on 127.0.0.1 at a free port; returns the server, its task, the port."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = QuietServer(config)
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _STARTUP_TIMEOUT
    while not server.started:
        if task.done() or loop.time() > deadline:
            server.should_exit = True
            raise DemoError("the demo simulator could not start on 127.0.0.1")
        await asyncio.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    return server, task, port


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoApi:
    """One simulated API of the demo: its app, and the [[sources]] entry that reads it."""

    title: str  # shown to the user
    app: ASGIApp
    base_path: str  # appended to http://127.0.0.1:<port> to make the source's base_url
    source_toml: Callable[[str], str]  # base_url -> the [[sources]] TOML block
    secret_files: dict[str, str] = field(default_factory=dict)  # file name -> content


def webex_demo_api(sim: WebexSimState | None = None) -> DemoApi:
    """The Webex simulator with its demo org (or ``sim``), and the source that reads it."""
    sim = sim or webex_seed.demo_state()
    people = ", ".join(f'"{pid}"' for pid in sorted(sim.people))

    def source(base_url: str) -> str:
        return (
            "[[sources]]\n"
            'name = "webex-demo"\n'
            'kind = "webex"\n'
            f'base_url = "{base_url}"\n'
            'interval = "15m"\n'
            'timezone = "Europe/Paris"\n'
            f'token = "file:{DEMO_TOKEN_FILE}"\n'
            f"people = [{people}]\n"
            'locations = "all"\n'
        )

    return DemoApi(
        "Webex Calling", create_app(sim), "/v1", source, {DEMO_TOKEN_FILE: "demo-token\n"}
    )


def other_demo_apis() -> list[DemoApi]:
    """APIO, Wordbee and B2CORE: each simulator brings its demo data and source block."""
    from icsbridge.daemon.simulators.apio import app as apio
    from icsbridge.daemon.simulators.apio import seed as apio_seed
    from icsbridge.daemon.simulators.b2core import app as b2core
    from icsbridge.daemon.simulators.b2core import seed as b2core_seed
    from icsbridge.daemon.simulators.wordbee import app as wordbee

    return [
        DemoApi(
            "APIO (BroadWorks)",
            apio.create_app(apio_seed.demo_state()),
            "",  # the simulator root: the source uses the Core proxy with JWT login
            apio_seed.demo_source,
            apio_seed.demo_secret_files(),
        ),
        DemoApi(
            "Wordbee",
            wordbee.create_app(wordbee_seed.demo_state()),
            "/api",
            wordbee.demo_source,
            wordbee.demo_secret_files(),
        ),
        DemoApi(
            "B2CORE back office",
            b2core.create_app(b2core_seed.demo_state()),
            "",
            b2core_seed.demo_source,
            b2core_seed.demo_secret_files(),
        ),
    ]


def demo_apis() -> list[DemoApi]:
    """Every API the demo simulates."""
    return [webex_demo_api(), *other_demo_apis()]


FEEDS_TOML = (
    "[[feeds]]\n"
    'name = "all-holidays"\n'
    'description = "Every holiday schedule of the demo organisation"\n'
    'calendars = ["webex-demo/*/holidays/*", "apio-demo/*/holiday/*"]\n\n'
    "[[feeds]]\n"
    'name = "paris-hq"\n'
    'description = "Paris HQ opening hours and holidays"\n'
    'calendars = ["webex-demo/locations/Paris HQ/*"]\n\n'
    "[[feeds]]\n"
    'name = "paris-open"\n'
    'description = "When Paris HQ is really open: its hours less its holidays"\n'
    'open = ["webex-demo/locations/Paris HQ/businessHours/*"]\n'
    'closed = ["webex-demo/locations/Paris HQ/holidays/*"]\n'
    'window = { past = "7d", future = "180d" }\n\n'
    "[[feeds]]\n"
    'name = "b2core-busy"\n'
    'description = "The back office\'s events as busy times, to share outside"\n'
    'calendars = ["b2core-demo/*"]\n'
    'details = "availability"\n'
)


CALDAV_TOML = (
    "\n[caldav]\n"
    'path = "/dav/"\n\n'
    "[[caldav.users]]\n"
    f'name = "{DAV_USER}"\n'
    f'password = "file:{DAV_PASSWORD_FILE}"\n'
    'calendars = ["*"]\n'
    "write = true\n"
)


def write_demo_config(folder: Path, sources: list[tuple[DemoApi, str]], port: int) -> Path:
    """The config a user would write for the simulated organisation (CalDAV included
    when its extra is installed)."""
    secrets = {DAV_PASSWORD_FILE: DAV_PASSWORD + "\n"}
    for api, _base_url in sources:
        secrets.update(api.secret_files)
    for name, content in secrets.items():
        (folder / name).write_text(content)
        (folder / name).chmod(0o600)
    config = folder / "config.toml"
    blocks = "\n".join(api.source_toml(base_url) for api, base_url in sources)
    config.write_text(
        "# Written by `icsbridge demo`: simulated business systems on loopback.\n"
        "[daemon]\n"
        'state = "state.sqlite"\n'
        'output_dir = "feeds"\n'
        f'listen = "127.0.0.1:{port}"\n'
        f'public_url = "http://127.0.0.1:{port}"\n\n'
        + blocks
        + "\n"
        + FEEDS_TOML
        + (CALDAV_TOML if _caldav_installed() else "")
    )
    return config


def _caldav_installed() -> bool:
    return importlib.util.find_spec("xandikos") is not None


def _fresh_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "feeds", ignore_errors=True)


async def demo(folder: Path, *, once: bool = False) -> int:
    folder = folder.resolve()
    _fresh_folder(folder)
    servers: list[tuple[QuietServer, asyncio.Task[None]]] = []
    try:
        sources = []
        for api in demo_apis():
            server, task, port = await serve_on_loopback(api.app)
            servers.append((server, task))
            base_url = f"http://127.0.0.1:{port}{api.base_path}"
            print(f"{api.title} simulator serving demo data at {base_url}")
            sources.append((api, base_url))
        config = write_demo_config(folder, sources, free_port())
        daemon = Daemon(config)
        daemon_task = asyncio.create_task(daemon.run())
        first = asyncio.create_task(daemon.first_round_done.wait())
        await asyncio.wait({daemon_task, first}, return_when=asyncio.FIRST_COMPLETED)
        if daemon_task.done():
            first.cancel()
            return daemon_task.result()
        code = await _show(daemon, folder, once=once)
        if once or code:
            daemon.request_stop()
        result = await daemon_task
        return code or result
    finally:
        for server, task in servers:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _show(daemon: Daemon, folder: Path, *, once: bool) -> int:
    """Print what the daemon serves and fetch one feed over HTTP, as a calendar app would."""
    status, health = daemon.health()
    for name, source in health["sources"].items():
        if not source["ok"]:
            print(f"{name}: {source['last_error']}")
            return 1
    urls = feed_urls(daemon.settings, daemon.state, daemon.tokens)
    print(f"\nServing {len(urls)} feeds; subscribe to any of these in a calendar app:")
    for url in urls:
        print(f"  {url.feed}\n    {url.http}")
    merged = next(u for u in urls if u.feed == "all-holidays")
    async with httpx.AsyncClient() as client:
        answer = await client.get(merged.http)
    print(
        f"\nGET all-holidays -> {answer.status_code}, {len(answer.content)} bytes, "
        f"ETag {answer.headers.get('etag')}"
    )
    print(
        f"Files under {folder / 'feeds'}; health at http://{daemon.settings.daemon.listen}/healthz"
    )
    if daemon.settings.caldav is not None:
        dav = base_url(daemon.settings)
        python = shlex.quote(sys.executable)
        print(
            f"\nCalDAV for calendar apps: {dav}\n  user {DAV_USER}, password {DAV_PASSWORD}\n"
            f"  try: curl -u {DAV_USER}:{DAV_PASSWORD} -X PROPFIND -H 'Depth: 1' {dav}{DAV_USER}/\n"
            f"  or, with the python caldav package: {python} -c 'import caldav; "
            f'p = caldav.DAVClient("{dav}", username="{DAV_USER}", password="{DAV_PASSWORD}")'
            ".principal(); print([c.get_display_name() for c in p.calendars()])'"
        )
    if status != 200 or answer.status_code != 200:
        return 1
    print("Stopping (--once)." if once else "Serving until Ctrl-C.")
    return 0


def run_demo(folder: Path, *, once: bool = False) -> int:
    return asyncio.run(demo(folder, once=once))

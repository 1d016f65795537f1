"""`icsbridge demo`: the whole pipeline against the built-in simulators, offline.

The simulators are served by uvicorn on a free loopback port and read over real HTTP,
exactly as a real API would be; the config, state and feeds go under the demo folder,
and the state is thrown away at each start so every demo begins from scratch.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from config.errors import IcsbridgeError
from config.loader import load_settings

from .export import Progress, run_export
from .simulators.webex import WebexSimState, create_app

DEMO_TOKEN_FILE = "webex-demo-token"
_STARTUP_TIMEOUT = 10.0


class DemoError(IcsbridgeError):
    pass


async def serve_on_loopback(app: ASGIApp) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """Start ``app`` on 127.0.0.1 at a free port; returns the server, its task, the port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
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


def write_demo_config(folder: Path, sim: WebexSimState, base_url: str) -> Path:
    """The config a user would write for the simulated organisation."""
    (folder / DEMO_TOKEN_FILE).write_text("demo-token\n")
    (folder / DEMO_TOKEN_FILE).chmod(0o600)
    people = ", ".join(f'"{pid}"' for pid in sorted(sim.people))
    config = folder / "config.toml"
    config.write_text(
        "# Written by `icsbridge demo`: the simulated Webex organisation.\n"
        "[daemon]\n"
        'state = "state.sqlite"\n'
        'output_dir = "feeds"\n\n'
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
    return config


def _fresh_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "feeds", ignore_errors=True)


async def demo(folder: Path) -> int:
    folder = folder.resolve()
    _fresh_folder(folder)
    sim = WebexSimState.demo()
    server, task, port = await serve_on_loopback(create_app(sim))
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        print(f"Webex Calling simulator serving demo data at {base_url}")
        settings = load_settings(write_demo_config(folder, sim, base_url))
        report = await run_export(settings, now=datetime.now(UTC), progress=Progress())
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for line in report.failures:
        print(line)
    if report.written:
        print(f"\nWrote {len(report.written)} calendars ({report.events} events):")
        for path in report.written:
            print(f"  {path}")
        print(
            "\nOpen any of them in a calendar app (they are RFC 5545 .ics files), "
            f"or look at {folder / 'config.toml'} for the config that produced them."
        )
    return report.exit_code


def run_demo(folder: Path) -> int:
    return asyncio.run(demo(folder))

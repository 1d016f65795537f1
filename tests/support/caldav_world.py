"""For the CalDAV tests: a daemon with ``[caldav]`` in front of the Webex and Wordbee
simulators, as a process.

Users: ``reception`` (every calendar, writes), ``viewer`` (Webex only, ``write = false``),
``guest`` (Webex only, availability details: read-only).
Wordbee's work items are VTODOs. The Webex source keeps a vdir, so tests compare what
CalDAV serves with its files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.types import ASGIApp

from icsbridge.daemon.cli.demo import free_port, webex_demo_api
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.simulators.wordbee import app as wordbee
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from support.daemon_process import DaemonProcess
from support.loopback import ServedApp

PASSWORD = "correct horse battery staple"
VIEWER_PASSWORD = "viewer-secret-1"
CALDAV = """
[caldav]
path = "/dav/"

[[caldav.users]]
name = "reception"
password = "file:reception-password"
calendars = ["*"]

[[caldav.users]]
name = "viewer"
password = "env:VIEWER_DAV_PASSWORD"
calendars = ["webex-demo/*"]
write = false

[[caldav.users]]
name = "guest"
password = "file:reception-password"
calendars = ["webex-demo/*"]
details = "availability"
"""


@dataclass
class World:
    folder: Path
    config: Path
    port: int
    webex: ServedApp
    sim: WebexSimState
    served: list[ServedApp] = field(default_factory=list)
    daemon: DaemonProcess | None = None

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dav(self) -> str:
        return f"{self.host}/dav/"

    def start(self, name: str = "daemon") -> DaemonProcess:
        self.daemon = DaemonProcess(self.config, self.folder, name)
        self.daemon.notes.wait_for(r"^READY=1")
        synced = {self.daemon.notes.wait_for(r"STATUS=sync \S+ ok").split()[1] for _ in "ab"}
        assert synced == {"webex-demo", "wordbee-demo"}, synced
        return self.daemon

    def stop(self) -> None:
        if self.daemon is not None:
            assert self.daemon.stop() == 0
            log = self.daemon.output()
            assert "Traceback" not in log
            assert PASSWORD not in log and VIEWER_PASSWORD not in log
            self.daemon = None


def make_world(tmp_path: Path, wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> World:
    """The world of the module doc, written under ``tmp_path`` (the daemon not started);
    ``wrap`` goes around the Webex simulator (a test's gate)."""
    sim = webex_seed.demo_state()
    api = webex_demo_api(sim)
    webex = ServedApp(wrap(api.app) if wrap else api.app)
    wb = ServedApp(wordbee.create_app(wordbee_seed.demo_state()))
    port = free_port()
    for name, content in {
        **api.secret_files,
        **wordbee.demo_secret_files(),
        "reception-password": PASSWORD + "\n",
    }.items():
        (tmp_path / name).write_text(content)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n'
        f'listen = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n\n'
        + api.source_toml(f"http://127.0.0.1:{webex.port}/v1")
        + "vdir = true\n\n"
        + wordbee.demo_source(f"http://127.0.0.1:{wb.port}/api")
        + 'work_items = "todos"\n'
        + CALDAV
    )
    return World(tmp_path, config, port, webex, sim, [webex, wb])


@contextmanager
def running_world(folder: Path) -> Iterator[World]:
    """The world of the module doc with its daemon started; on leaving, the daemon is
    stopped (its log checked: no traceback, no password) and the simulators too."""
    os.environ["VIEWER_DAV_PASSWORD"] = VIEWER_PASSWORD  # read by the daemon it starts
    world = make_world(folder)
    try:
        world.start()
        yield world
        world.stop()
    finally:
        os.environ.pop("VIEWER_DAV_PASSWORD", None)
        if world.daemon is not None:
            world.daemon.stop()
        for served in world.served:
            served.stop()

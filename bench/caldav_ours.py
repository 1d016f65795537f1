"""The servers of ``bench/caldav_bench.py`` beside Radicale's PUT: ``icsbridge run``
serving one 1,000-event Webex schedule over CalDAV, and a Radicale whose storage holds
given objects (the bytes icsbridge serves), written as its own files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
from support.daemon_process import DaemonProcess
from support.davclients.radicale import Radicale
from support.loopback import ServedApp

from icsbridge.daemon.cli.demo import free_port, webex_demo_api
from icsbridge.daemon.simulators.webex import seed as webex_seed

EVENTS = 1000
USER = "bench"
PASSWORD = "bench-password"
SCHEDULE = "-people-Bench_User_00000-"
"""The bulk person (one schedule), in its collection's name."""
HOME_PROPS = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>'


def _config(folder: Path, source: str, port: int) -> str:
    return (
        f'[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n'
        f'listen = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n\n'
        f"{source}\n"
        '[caldav]\npath = "/dav/"\n\n'
        f'[[caldav.users]]\nname = "{USER}"\npassword = "file:{folder / "dav-password"}"\n'
        'calendars = ["*"]\n'
    )


@contextmanager
def icsbridge_target(folder: Path) -> Iterator[tuple[str, str, str]]:
    """``icsbridge run`` with ``[caldav]`` in front of the Webex simulator, whose bulk
    person has one schedule of 1,000 events; once its first sync is done, the URL of
    that schedule's collection, the user and the password."""
    folder.mkdir(parents=True)
    sim = webex_seed.bulk_state(1, 1, EVENTS)
    api = webex_demo_api(sim)
    webex = ServedApp(api.app)
    try:
        for name, content in api.secret_files.items():
            (folder / name).write_text(content)
        (folder / "dav-password").write_text(PASSWORD + "\n")
        port = free_port()
        config = folder / "config.toml"
        source = api.source_toml(f"http://127.0.0.1:{webex.port}/v1")
        config.write_text(_config(folder, source, port))
        daemon = DaemonProcess(config, folder)
        try:
            daemon.notes.wait_for(r"^READY=1")
            daemon.notes.wait_for(r"STATUS=sync \S+ ok")
            home = f"http://127.0.0.1:{port}/dav/{USER}/"
            answer = httpx.request(
                "PROPFIND",
                home,
                content=HOME_PROPS,
                headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
                auth=(USER, PASSWORD),
                trust_env=False,
            )
            [path] = {p for p in re.findall(r"href>([^<]+)<", answer.text) if SCHEDULE in p}
            yield f"http://127.0.0.1:{port}{path}", USER, PASSWORD
        finally:
            daemon.stop()
    finally:
        webex.stop()


@contextmanager
def radicale_files(
    folder: Path, user: str, password: str, objects: Mapping[str, bytes]
) -> Iterator[Radicale]:
    """Radicale serving ``/<user>/bench/`` whose storage holds ``objects`` (resource
    name -> .ics bytes), written as Radicale's own collection files: the same objects
    as the server they came from, in a second instead of 1,000 PUTs."""
    collection = folder / "collections" / "collection-root" / user / "bench"
    collection.mkdir(parents=True)
    (collection / ".Radicale.props").write_text(json.dumps({"tag": "VCALENDAR"}))
    for name, data in objects.items():
        (collection / name).write_bytes(data)
    with Radicale(folder, {user: password}) as server:
        yield server

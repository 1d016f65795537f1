"""Three `icsbridge run` processes on one PostgreSQL state, against one simulator.

Each daemon's first sync of each source is its own and waits for another's to end, so
all three pull both sources once, one daemon at a time per source, and serve the same
bytes, ETag and Last-Modified for every feed, merged ones included: a merged feed is
assembled from the pieces every daemon stores, and the stored Last-Modified is kept for
the same bytes.

The simulator sees each request under a path prefix naming the daemon and the source
(``/d2-hq/v1/...``), so its log says who pulled what, in order: no source is ever pulled
by two daemons at once. The test waits on each daemon's sd_notify STATUS lines, never
sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count, pairwise
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from support.daemon_process import Notifications, split_tag, stop_processes
from support.loopback import WAIT, ServedApp

from icsbridge.config.daemon.state import PostgresState
from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState, create_app
from icsbridge.daemon.store.state import StateStore

DAEMONS = ("d1", "d2", "d3")
SOURCES = ("hq", "branch")


class Tagged:
    """The simulator behind a ``/<daemon>-<source>`` path prefix, logging each request as
    (daemon, source, start, end) on one counter (the simulator's loop is one thread)."""

    def __init__(self, sim: WebexSimState) -> None:
        self.sim = sim
        self.app = create_app(sim)
        self.ticks = count()
        self.log: list[tuple[str, str, int, int]] = []
        self.hold: str | None = None  # a tag whose first request is held until released
        self.holding = threading.Event()  # set when that request arrived
        self.release: asyncio.Event | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tag, daemon, source, scope = split_tag(scope)
        start = next(self.ticks)
        if tag == self.hold and not self.holding.is_set():
            self.release = asyncio.Event()
            self.holding.set()
            await self.release.wait()
        await self.app(scope, receive, send)
        self.log.append((daemon, source, start, next(self.ticks)))


def _config(folder: Path, daemon: str, dsn: str, sim_port: int, sim: WebexSimState) -> Path:
    folder.mkdir()
    (folder / "token").write_text("demo-token\n")
    people = ", ".join(f'"{p}"' for p in sorted(sim.people))
    listen = free_port()
    text = (
        f'[daemon]\nstate = "{dsn}"\noutput_dir = "feeds"\n'
        f'listen = "127.0.0.1:{listen}"\npublic_url = "http://127.0.0.1:{listen}"\n\n'
    )
    for source in SOURCES:
        text += (
            f'[[sources]]\nname = "{source}"\nkind = "webex"\n'
            f'base_url = "http://127.0.0.1:{sim_port}/{daemon}-{source}/v1"\ninterval = "1h"\n'
            f'timezone = "Europe/Paris"\ntoken = "file:token"\npeople = [{people}]\n'
            'locations = "all"\n\n'
        )
    text += '[[feeds]]\nname = "holidays"\ncalendars = ["*/*/holidays/*"]\n'
    (folder / "config.toml").write_text(text)
    return folder / "config.toml"


def _feed_urls(config: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "icsbridge.daemon.cli", "feeds", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    ).stdout.splitlines()
    return {out[i]: out[i + 1].strip() for i in range(0, len(out), 3)}


@pytest.fixture
def simulator() -> Iterator[tuple[ServedApp, Tagged]]:
    tagged = Tagged(webex_seed.demo_state())
    served = ServedApp(tagged)
    yield served, tagged
    served.stop()


def test_three_daemons_on_one_database_pull_each_source_in_turn_and_serve_the_same_feeds(
    tmp_path: Path, simulator: tuple[ServedApp, Tagged], postgres_dsn: str
) -> None:
    served, tagged = simulator
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
    configs, procs, notes = {}, {}, {}
    try:
        for daemon in DAEMONS:
            configs[daemon] = _config(
                tmp_path / daemon, daemon, postgres_dsn, served.port, tagged.sim
            )
            notes[daemon] = Notifications(tmp_path / daemon / "notify")
            log = (tmp_path / daemon / "daemon.log").open("w")
            procs[daemon] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "icsbridge.daemon.cli",
                    "run",
                    "--config",
                    str(configs[daemon]),
                ],
                env={**env, "NOTIFY_SOCKET": str(tmp_path / daemon / "notify")},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for daemon in DAEMONS:
            for _source in SOURCES:
                notes[daemon].wait_for(r"STATUS=sync \w+ ok: ")
        # Every daemon pulled every source, and never while another pulled it.
        for source in SOURCES:
            spans = {}
            for daemon in DAEMONS:
                ticks = [(s, e) for d, src, s, e in tagged.log if d == daemon and src == source]
                assert ticks, (daemon, source)
                spans[daemon] = (min(s for s, _ in ticks), max(e for _, e in ticks))
            ordered = sorted(spans.values())
            assert all(a[1] < b[0] for a, b in pairwise(ordered)), spans
        urls = {daemon: _feed_urls(configs[daemon]) for daemon in DAEMONS}
        assert len(urls["d1"]) > 2 and "holidays" in urls["d1"]
        with httpx.Client(timeout=WAIT) as http:
            for feed in urls["d1"]:
                answers = [http.get(urls[daemon][feed]) for daemon in DAEMONS]
                assert {a.status_code for a in answers} == {200}, feed
                assert len({a.content for a in answers}) == 1, feed
                assert len({a.headers["etag"] for a in answers}) == 1, feed
                assert len({a.headers["last-modified"] for a in answers}) == 1, feed
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=WAIT)
        for note in notes.values():
            note.sock.close()
    for daemon in DAEMONS:
        assert "Traceback" not in (tmp_path / daemon / "daemon.log").read_text()


def test_a_daemon_killed_mid_sync_saves_nothing_and_another_takes_the_source_over(
    tmp_path: Path, simulator: tuple[ServedApp, Tagged], postgres_dsn: str
) -> None:
    served, tagged = simulator
    tagged.hold = "d1-hq"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    notes = {}
    try:
        for daemon in ("d1", "d2"):
            config = _config(tmp_path / daemon, daemon, postgres_dsn, served.port, tagged.sim)
            notes[daemon] = Notifications(tmp_path / daemon / "notify")
            log = (tmp_path / daemon / "daemon.log").open("w")
            procs[daemon] = subprocess.Popen(
                [sys.executable, "-m", "icsbridge.daemon.cli", "run", "--config", str(config)],
                env={**env, "NOTIFY_SOCKET": str(tmp_path / daemon / "notify")},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            if daemon == "d1":
                assert tagged.holding.wait(WAIT)  # d1 is pulling hq, holding its lock
                procs["d1"].send_signal(signal.SIGKILL)
                procs["d1"].wait(timeout=WAIT)
        for _source in SOURCES:
            notes["d2"].wait_for(r"STATUS=sync \w+ ok: ")
        with StateStore(PostgresState(postgres_dsn)) as state:
            status = state.source_status("hq")
        assert status.synced_by is not None
        assert status.synced_by.endswith(f":{procs['d2'].pid}")
        assert {d for d, src, _s, _e in tagged.log if src == "hq"} == {"d2"}
    finally:
        if tagged.release is not None:
            served.call(tagged.release.set)
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=WAIT)
        for note in notes.values():
            note.sock.close()
    assert "Traceback" not in (tmp_path / "d2" / "daemon.log").read_text()


_COMMAND = (sys.executable, "-m", "icsbridge.daemon.cli")


class Running:
    """`icsbridge run` processes on one database, started one after the other, each
    waited for until its first syncs are done: from then on nothing changes unless a
    test changes it, and every STATUS line read after says what the test caused."""

    def __init__(self, tmp_path: Path, dsn: str, served: ServedApp, tagged: Tagged) -> None:
        self.tmp_path, self.dsn, self.served, self.tagged = tmp_path, dsn, served, tagged
        self.env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
        self.configs: dict[str, Path] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.notes: dict[str, Notifications] = {}

    def start(self, daemon: str) -> None:
        folder = self.tmp_path / daemon
        self.configs[daemon] = _config(folder, daemon, self.dsn, self.served.port, self.tagged.sim)
        self.notes[daemon] = Notifications(folder / "notify")
        log = (folder / "daemon.log").open("w")
        self.procs[daemon] = subprocess.Popen(
            [*_COMMAND, "run", "--config", str(self.configs[daemon])],
            env={**self.env, "NOTIFY_SOCKET": str(folder / "notify")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _source in SOURCES:
            self.notes[daemon].wait_for(r"STATUS=sync \w+ ok: ")

    def get(self, url: str) -> httpx.Response:
        with httpx.Client(timeout=WAIT) as http:
            return http.get(url)

    def requests_of(self, daemon: str) -> int:
        return len([d for d, _src, _s, _e in self.tagged.log if d == daemon])

    def stop(self) -> None:
        stop_processes(self.procs.values(), self.notes.values())
        for daemon in self.procs:
            assert "Traceback" not in (self.tmp_path / daemon / "daemon.log").read_text()


@pytest.fixture
def running(
    tmp_path: Path, simulator: tuple[ServedApp, Tagged], postgres_dsn: str
) -> Iterator[Running]:
    served, tagged = simulator
    world = Running(tmp_path, postgres_dsn, served, tagged)
    try:
        world.start("d1")
        world.start("d2")
        yield world
    finally:
        world.stop()


def _validators(answer: httpx.Response) -> tuple[bytes, str, str]:
    assert answer.status_code == 200
    return answer.content, answer.headers["etag"], answer.headers["last-modified"]


def test_a_daemon_that_did_not_sync_serves_what_another_published_once_told(
    running: Running,
) -> None:
    urls = {daemon: _feed_urls(running.configs[daemon]) for daemon in ("d1", "d2")}
    before = {feed: _validators(running.get(url)) for feed, url in urls["d2"].items()}
    asked = running.requests_of("d2")
    sim = running.tagged.sim
    paris = next(loc.id for loc in sim.locations.values() if loc.name == "Paris HQ")
    day = {"name": "Fete du quartier", "startDate": "2027-06-21", "endDate": "2027-06-21"}
    running.served.call(
        lambda: sim.set_event(paris, "holidays", "French Holidays", {**day, "allDayEnabled": True})
    )
    with StateStore(PostgresState(running.dsn)) as state:  # hq's last sync, made long ago
        state.record_attempt("hq", datetime(2026, 1, 1, tzinfo=UTC), None)
    running.procs["d1"].send_signal(signal.SIGUSR1)
    running.notes["d1"].wait_for(r"STATUS=sync hq ok: .* [1-9]\d* feeds changed")
    running.notes["d2"].wait_for(r"STATUS=feeds from the shared state: [1-9]\d* changed")
    changed = []
    for feed in urls["d1"]:
        one, two = (_validators(running.get(urls[d][feed])) for d in ("d1", "d2"))
        assert one == two, feed
        if two != before[feed]:
            changed.append(feed)
    assert "holidays" in changed and len(changed) >= 2
    assert all(b"Fete du quartier" in running.get(urls["d2"][f]).content for f in changed)
    assert running.requests_of("d2") == asked  # d2 never pulled meanwhile


def test_a_listener_cut_off_catches_up_on_what_changed_meanwhile(running: Running) -> None:
    url = _feed_urls(running.configs["d2"])["holidays"]
    data, _etag, _modified = _validators(running.get(url))
    # A change whose notice d2 never hears (written without NOTIFY), as one published
    # while its listening connection is down.
    changed = data.replace(b"END:VCALENDAR", b"X-CHANGED:meanwhile\r\nEND:VCALENDAR")
    etag = '"' + hashlib.sha256(changed).hexdigest() + '"'
    with psycopg.connect(running.dsn, autocommit=True) as admin:
        admin.execute(
            "UPDATE feeds SET data = %s, etag = %s, last_modified = %s WHERE name = 'holidays'",
            (changed, etag, "2027-01-02T03:04:05+00:00"),
        )
        assert _validators(running.get(url))[0] == data  # not heard of
        cut = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE %s",
            (f"icsbridge listen %:{running.procs['d2'].pid}",),
        ).fetchall()
    assert cut == [(True,)]
    running.notes["d2"].wait_for(r"STATUS=feeds from the shared state: 1 changed")
    assert _validators(running.get(url)) == (changed, etag, "Sat, 02 Jan 2027 03:04:05 GMT")
    log = (running.tmp_path / "d2" / "daemon.log").read_text()
    assert "hears of feed changes made by other daemons was lost" in log
    assert "hearing of feed changes again" in log


def test_a_token_rotated_on_one_daemon_is_served_by_the_others(running: Running) -> None:
    daemons = ("d1", "d2")
    old = {d: _feed_urls(running.configs[d])["holidays"] for d in daemons}
    rotated = subprocess.run(
        [*_COMMAND, "feeds", "--config", str(running.configs["d1"]), "--rotate", "holidays"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    assert "every daemon sharing the state serves it at once" in rotated.stderr
    new = {d: _feed_urls(running.configs[d])["holidays"] for d in daemons}
    for daemon in daemons:
        assert new[daemon] != old[daemon]
        running.notes[daemon].wait_for(r"STATUS=feed tokens changed in the shared state")
        assert running.get(new[daemon]).status_code == 200, daemon
        assert running.get(old[daemon]).status_code == 404, daemon

"""Three `icsbridge run` processes on one PostgreSQL state and the Webex simulator: one
is SIGKILLed mid-push (its API call held before the simulator applied it, or after, its
answer lost) or mid-sync while another takes an edit of the same source. The others go
on syncing every source, and every edit is in the API exactly once: counted in the
simulator's state and in the writes that reached it (not in our feeds), the journal has
nothing pending, and the surviving daemons serve the edit.

Each daemon reaches the simulator under its own path prefix (``/d2-hq/v1/...``), so the
simulator's log says who sent what. The test waits on sd_notify STATUS lines, on the
simulator's gate and on PostgreSQL's own lock queue (a dead daemon's lock is free once
the server has ended its session), never on a sleep.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from support.daemon_process import Notifications, split_tag, stop_processes
from support.dav_requests import holiday
from support.loopback import WAIT, ServedApp

from icsbridge.config.daemon.state import PostgresState
from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState, create_app
from icsbridge.daemon.store.advisory import source_lock_key
from icsbridge.daemon.store.state import StateStore

DAEMONS = ("d1", "d2", "d3")
SOURCES = ("hq", "branch")
CALENDAR = "hq/locations/Paris HQ/holidays/French Holidays"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
SYNCED = r"STATUS=sync (\w+) ok: "


class Simulator:
    """The Webex simulator behind ``/<daemon>-<source>`` prefixes, logging every request
    that reached it as (daemon, source, method, body); ``arm`` holds one request of one
    prefix: its first write before the simulator applies it ("before") or after, its
    answer swallowed ("after"), or its first read ("read"), until ``release`` is set."""

    def __init__(self, sim: WebexSimState) -> None:
        self.sim = sim
        self.app = create_app(sim)
        self.log: list[tuple[str, str, str, bytes]] = []
        self.armed: tuple[str, str] | None = None
        self.hit = threading.Event()
        self.release = threading.Event()

    def arm(self, tag: str, when: str) -> None:
        self.hit.clear()
        self.armed = (tag, when)

    async def _hold(self) -> None:
        self.hit.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, WAIT)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tag, daemon, source, scope = split_tag(scope)
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)

        async def replay() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        write = scope["method"] in WRITES and "access_token" not in scope["path"]
        when = self.armed[1] if self.armed and self.armed[0] == tag else None
        if (when == "read" and not write) or (when == "before" and write):
            self.armed = None
            await self._hold()
            return  # never applied: the daemon that sent it is dead by now
        if when == "after" and write:
            self.armed = None

            async def swallow(_message: Any) -> None:
                return None

            await self.app(scope, replay, swallow)
            self.log.append((daemon, source, scope["method"], body))
            await self._hold()
            return
        await self.app(scope, replay, send)
        self.log.append((daemon, source, scope["method"], body))

    def names(self) -> Counter[str]:
        """How many schedules of the org hold an event of each name."""
        owners = [*self.sim.people.values(), *self.sim.locations.values()]
        return Counter(n for o in owners for sched in o.schedules for n in sched.events)

    def writes_naming(self, text: str) -> list[tuple[str, str]]:
        """(daemon, method) of each write that reached the simulator naming ``text``."""
        return [(d, m) for d, _s, m, b in self.log if m in WRITES and text.encode() in b]


class World:
    """The simulator on loopback and three daemons on one database."""

    def __init__(self, tmp_path: Path, dsn: str) -> None:
        self.dsn = dsn
        self.sim = Simulator(webex_seed.demo_state())
        self.served = ServedApp(self.sim)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.notes: dict[str, Notifications] = {}
        self.folders = {d: tmp_path / d for d in DAEMONS}
        self.base: dict[str, str] = {}  # each daemon's http://host:port
        env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
        for daemon, folder in self.folders.items():
            config = self._config(folder, daemon)
            self.notes[daemon] = Notifications(folder / "notify")
            with (folder / "daemon.log").open("w") as log:
                self.procs[daemon] = subprocess.Popen(
                    [sys.executable, "-m", "icsbridge.daemon.cli", "run", "--config", str(config)],
                    env={**env, "NOTIFY_SOCKET": str(folder / "notify")},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        for daemon in DAEMONS:
            self.synced(daemon)

    def _config(self, folder: Path, daemon: str) -> Path:
        folder.mkdir()
        (folder / "token").write_text("demo-token\n")
        people = ", ".join(f'"{p}"' for p in sorted(self.sim.sim.people))
        listen = free_port()
        self.base[daemon] = f"http://127.0.0.1:{listen}"
        text = (
            f'[daemon]\nstate = "{self.dsn}"\noutput_dir = "feeds"\n'
            f'listen = "127.0.0.1:{listen}"\npublic_url = "http://127.0.0.1:{listen}"\n\n'
        )
        for source in SOURCES:
            text += (
                f'[[sources]]\nname = "{source}"\nkind = "webex"\nbase_url = '
                f'"http://127.0.0.1:{self.served.port}/{daemon}-{source}/v1"\ninterval = "1h"\n'
                f'timezone = "Europe/Paris"\ntoken = "file:token"\npeople = [{people}]\n'
                'locations = "all"\nfeed_writes = true\n\n'
            )
        (folder / "config.toml").write_text(text)
        return folder / "config.toml"

    def synced(self, daemon: str) -> None:
        """Wait until ``daemon`` has said one sync of each source succeeded."""
        done: set[str] = set()
        while done != set(SOURCES):
            done.add(self.notes[daemon].wait_for(SYNCED).split()[1])

    def urls(self, daemon: str) -> dict[str, str]:
        """Feed name -> URL, and "write " + name -> its write URL, as ``daemon`` serves them."""
        config = str(self.folders[daemon] / "config.toml")
        out = subprocess.run(
            [sys.executable, "-m", "icsbridge.daemon.cli", "feeds", "--config", config],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=True,
        ).stdout.splitlines()
        urls, feed = {}, ""
        for line in out:
            if not line.startswith(" "):
                feed = line
            elif line.strip().startswith("http"):
                urls[feed] = line.strip()
            elif line.strip().startswith("write"):
                urls[f"write {feed}"] = line.split(": ", 1)[1]
        return urls

    def put(self, daemon: str, summary: str, day: str) -> httpx.Response:
        """PUT one new holiday on ``daemon``'s write URL of :data:`CALENDAR`."""
        uid = f"{summary.replace(' ', '-')}@example.com"
        url = self.urls(daemon)[f"write {CALENDAR}"].removesuffix(".ics") + f"/{uid}.ics"
        return httpx.put(
            url,
            content=holiday(summary, day, uid),
            headers={"content-type": "text/calendar"},
            timeout=WAIT,
            trust_env=False,
        )

    def kill(self, daemon: str) -> None:
        self.procs[daemon].send_signal(signal.SIGKILL)
        self.procs[daemon].wait(timeout=WAIT)

    def wait_lock_free(self, source: str) -> None:
        """Block in PostgreSQL's lock queue until no session holds ``source``'s lock."""
        with psycopg.connect(self.dsn, autocommit=True) as db:
            db.execute(f"SET lock_timeout = '{int(WAIT)}s'")
            db.execute("SELECT pg_advisory_lock(%s)", (source_lock_key(source),))
            db.execute("SELECT pg_advisory_unlock(%s)", (source_lock_key(source),))

    def sync_now(self, daemon: str) -> None:
        """SIGUSR1 (sync every source now, whoever synced it last) and wait for both."""
        self.procs[daemon].send_signal(signal.SIGUSR1)
        self.synced(daemon)

    def served_summaries(self, daemon: str) -> Counter[str]:
        feed = httpx.get(self.urls(daemon)[CALENDAR], timeout=WAIT, trust_env=False)
        assert feed.status_code == 200
        return Counter(
            line.removeprefix("SUMMARY:") for line in feed.text.splitlines() if "SUMMARY:" in line
        )

    def stop(self) -> None:
        self.sim.release.set()
        stop_processes(self.procs.values(), self.notes.values())
        self.served.stop()


@pytest.fixture
def world(tmp_path: Path, postgres_dsn: str) -> Iterator[World]:
    made = World(tmp_path, postgres_dsn)
    try:
        yield made
    finally:
        made.stop()
    for daemon in ("d2", "d3"):
        assert "Traceback" not in (tmp_path / daemon / "daemon.log").read_text()


def _pending(dsn: str) -> list[Any]:
    with StateStore(PostgresState(dsn)) as state:
        return state.journal_pending("hq")


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_daemon_killed_mid_push_leaves_the_edit_to_the_others_exactly_once(
    world: World, when: str
) -> None:
    world.sim.arm("d1-hq", when)
    with ThreadPoolExecutor(1) as pool:
        sent: Future[httpx.Response] = pool.submit(world.put, "d1", "Crash party", "20261211")
        assert world.sim.hit.wait(WAIT), "the push never reached the simulator"
        # While d1 holds hq mid-push, the other daemons say so.
        d1 = world.procs["d1"].pid
        health = httpx.get(world.base["d2"] + "/healthz", timeout=WAIT, trust_env=False)
        assert health.json()["sources"]["hq"]["held_by"].endswith(f":{d1}")
        metrics = httpx.get(world.base["d3"] + "/metrics", timeout=WAIT, trust_env=False)
        held = [line for line in metrics.text.splitlines() if "icsbridge_source_held_by{" in line]
        assert len(held) == 1 and held[0].startswith('icsbridge_source_held_by{source="hq"')
        assert held[0].endswith(f':{d1}"}} 1')
        world.kill("d1")
        world.sim.release.set()
        with pytest.raises(httpx.HTTPError):
            sent.result(timeout=WAIT)  # no answer: the client never heard it was taken
    landed = world.served.call(world.sim.names)["Crash party"]
    assert landed == (1 if when == "after" else 0)
    assert len(_pending(world.dsn)) == 1  # the call d1 journalled before sending it

    world.wait_lock_free("hq")  # d1's session has ended, its lock with it
    world.sync_now("d2")  # settles d1's journal: sends the call, or finds it landed
    world.sync_now("d3")
    accepted = world.put("d2", "Second party", "20261218")
    assert accepted.status_code == 200, accepted.text

    names = world.served.call(world.sim.names)
    assert names["Crash party"] == 1 and names["Second party"] == 1
    sent_by = world.served.call(lambda: world.sim.writes_naming("Crash party"))
    assert sent_by == [("d1" if when == "after" else "d2", "POST")]
    assert world.served.call(lambda: world.sim.writes_naming("Second party")) == [("d2", "POST")]
    assert _pending(world.dsn) == []
    assert world.served_summaries("d3")["Crash party"] == 1
    assert world.served_summaries("d2")["Second party"] == 1


def test_a_daemon_killed_mid_sync_while_another_takes_an_edit_of_the_source(
    world: World,
) -> None:
    world.sim.arm("d1-hq", "read")
    world.procs["d1"].send_signal(signal.SIGUSR1)  # d1 syncs hq now and stops mid-pull
    assert world.sim.hit.wait(WAIT), "d1's sync never reached the simulator"
    refused = world.put("d2", "Party while d1 syncs", "20261211")
    assert refused.status_code == 409, refused.text  # d1 holds hq: nothing was sent
    assert refused.json()["error"].startswith('another push to source "hq" is running')
    world.kill("d1")
    world.sim.release.set()

    world.wait_lock_free("hq")
    accepted = world.put("d2", "Party while d1 syncs", "20261211")
    assert accepted.status_code == 200, accepted.text
    world.sync_now("d3")
    world.sync_now("d2")

    assert world.served.call(world.sim.names)["Party while d1 syncs"] == 1
    writes = world.served.call(lambda: world.sim.writes_naming("Party while d1 syncs"))
    assert writes == [("d2", "POST")]
    assert _pending(world.dsn) == []
    for daemon in ("d2", "d3"):
        assert world.served_summaries(daemon)["Party while d1 syncs"] == 1

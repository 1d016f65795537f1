"""The state file under a running daemon: one daemon per state (issue 19, item 12), and a
state deleted or replaced while it runs is said in /healthz and the log (item 16).

The first daemon runs in-process (``Daemon.run`` on the test's loop, the Webex
simulator in-process); the test waits on its READY notification, never on time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support.loopback import WAIT
from support.webex_org import FakeSleep

from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.push.journal import push_lock
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.service.systemd import Notifier
from icsbridge.daemon.store.opening import daemon_lock
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio


class ReadyNotifier(Notifier):
    """No systemd: READY only sets an event the test waits on."""

    def __init__(self) -> None:
        super().__init__(env={})
        self.is_ready = asyncio.Event()

    def ready(self, status: str | None = None) -> None:
        self.is_ready.set()


@dataclass
class Running:
    daemon: Daemon
    config: Path
    state: Path

    async def healthz(self) -> httpx.Response:
        async with httpx.AsyncClient(timeout=WAIT) as client:
            return await client.get(f"http://127.0.0.1:{self.daemon.bound_port}/healthz")


@pytest.fixture
async def running(
    settings: Settings,
    transport_for: Callable[[SourceSettings], httpx.AsyncBaseTransport],
    fake_sleep: FakeSleep,
) -> AsyncIterator[Running]:
    text = settings.path.read_text().replace(
        "[daemon]\n", f'[daemon]\nlisten = "127.0.0.1:{free_port()}"\n', 1
    )
    settings.path.write_text(text)
    notifier = ReadyNotifier()
    daemon = Daemon(
        settings.path,
        notifier=notifier,
        transport_for=transport_for,
        sleep=fake_sleep,
    )
    task = asyncio.create_task(daemon.run())
    ready = asyncio.create_task(notifier.is_ready.wait())
    await asyncio.wait({task, ready}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # what kept it from starting
    assert notifier.is_ready.is_set(), "the daemon did not start"
    await asyncio.wait_for(daemon.first_round_done.wait(), WAIT)
    try:
        yield Running(daemon, settings.path, daemon.settings.daemon.state)
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, WAIT) == 0


async def test_a_second_daemon_on_the_same_state_is_refused_with_one_line(
    running: Running,
) -> None:
    # Its own port, so only the state is shared (both daemons used to run on it).
    second = running.config.with_name("second.toml")
    second.write_text(
        running.config.read_text().replace(
            f"127.0.0.1:{running.daemon.bound_port}", f"127.0.0.1:{free_port()}"
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "icsbridge.daemon.cli",
        "run",
        "--config",
        str(second),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), WAIT)
    finally:
        if proc.returncode is None:  # it started beside the first one
            proc.kill()
            await proc.wait()
    assert proc.returncode == 1
    assert out == b""
    assert err.decode().splitlines() == [
        f"icsbridge: state file {running.state} is in use by another icsbridge run "
        f"(pid {os.getpid()}); stop that one, or give this one its own [daemon].state"
    ]
    # `icsbridge push` beside the daemon takes its own per-source lock, not this one.
    with StateStore(running.state) as state, push_lock(state, "hq") as taken:
        assert taken
    assert (await running.healthz()).status_code == 200  # the first one never noticed


async def test_the_daemon_lock_is_released_when_the_daemon_stops(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with daemon_lock(state):
        pass
    with daemon_lock(state):  # a restart takes it again; the file stays
        assert (tmp_path / "state.sqlite.lock").read_text() == f"{os.getpid()}\n"


async def test_a_state_file_deleted_under_the_daemon_makes_healthz_say_so(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await running.healthz()).status_code == 200
    running.state.unlink()
    caplog.set_level(logging.ERROR, logger="icsbridge.daemon")
    expected = (
        f"state file {running.state} was deleted while icsbridge runs: it goes on with the "
        "open copy, but its next start begins afresh (new feed URLs and event UIDs); put "
        "the file back from a backup before restarting it"
    )
    for _ in range(2):
        answer = await running.healthz()
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "degraded"
        assert body["state"] == {"ok": False, "problem": expected}
        assert body["sources"]["hq"]["ok"] is True  # the syncs themselves still work
    assert [r.getMessage() for r in caplog.records] == [expected]  # once, not per request


async def test_a_state_file_replaced_under_the_daemon_makes_healthz_say_so(
    running: Running,
) -> None:
    copy = running.state.with_name("copy.sqlite")
    shutil.copyfile(running.state, copy)
    copy.replace(running.state)  # e.g. a backup restored while it runs
    answer = await running.healthz()
    assert answer.status_code == 503
    assert answer.json()["state"] == {
        "ok": False,
        "problem": f"state file {running.state} was replaced while icsbridge runs; it keeps "
        "writing the file it opened: restart it to use the new one",
    }


def test_a_state_file_left_alone_has_no_problem(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.sqlite") as state:
        assert state.file_problem() is None

"""`icsbridge push` killed with SIGKILL at each step of a multi-event upload.

The Webex simulator is served on loopback behind a gate that stops the N-th write either
before the simulator applies it or after (its answer never reaches the client), or the
first read after the last write (the re-read). The test kills the push process there,
opens the gate, runs one sync (`export`), and checks the API holds every edit of the
upload exactly once and the feed publishes them under the UIDs the client chose.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar, vText
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from support.loopback import WAIT, ServedApp
from support.push_world import events_of, with_events
from support.webex_org import NOW

from icsbridge.config.loader import load_settings
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.feeds.files import calendar_path
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState, create_app
from icsbridge.daemon.store.state import StateStore

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CALENDAR = "hq/locations/Paris HQ/holidays/French Holidays"


class Gate:
    """Stops one request (see the module doc) until the test opens it again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.target: tuple[str, int] | None = None  # ("before" | "after" | "reread", n)
        self.writes = 0
        self.hit = threading.Event()
        self.release = threading.Event()

    def arm(self, when: str, number: int) -> None:
        self.target, self.writes = (when, number), 0

    async def _hold(self) -> None:
        self.hit.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, WAIT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.target is None:
            await self.app(scope, receive, send)
            return
        when, number = self.target
        write = scope["method"] in WRITE_METHODS and "access_token" not in scope["path"]
        self.writes += write
        if write and self.writes == number and when == "before":
            await self._hold()
            return  # never applied: the client is dead by now
        if write and self.writes == number and when == "after":

            async def swallow(_message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)  # applied, the answer is lost
            await self._hold()
            return
        if not write and when == "reread" and self.writes == number:
            await self._hold()
            return
        await self.app(scope, receive, send)


def _config(folder: Path, port: int, sim: WebexSimState) -> Path:
    (folder / "token").write_text("demo-token\n")
    people = ", ".join(f'"{p}"' for p in sorted(sim.people))
    path = folder / "config.toml"
    path.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        f'[[sources]]\nname = "hq"\nkind = "webex"\n'
        f'base_url = "http://127.0.0.1:{port}/v1"\ninterval = "1h"\n'
        f'timezone = "Europe/Paris"\ntoken = "file:token"\npeople = [{people}]\n'
        'locations = "all"\n'
    )
    return path


def _names(sim: WebexSimState) -> Counter[str]:
    location = next(loc for loc in sim.locations.values() if loc.name == "Paris HQ")
    schedule = next(s for s in location.schedules if s.name == "French Holidays")
    return Counter(list(schedule.events))  # events are keyed by their (unique) name


def _upload(feed: bytes) -> tuple[bytes, dict[str, Any]]:
    """Rename one event, delete another, add a new one: three API calls."""
    events = events_of(feed)
    uids = sorted(events)
    renamed, deleted = events[uids[0]], events.pop(uids[1])
    old_name = str(renamed["SUMMARY"])
    renamed["SUMMARY"] = vText(old_name + " (renamed)")
    new = Calendar.from_ical(feed).walk("VEVENT")[2]
    new["UID"] = vText("crash-test-new@example.com")
    new["SUMMARY"] = vText("Created by the crash test")
    data = with_events(feed, [*events.values(), new])
    expected = {
        "renamed": (uids[0], old_name, old_name + " (renamed)"),
        "deleted": str(deleted["SUMMARY"]),
        "created": ("crash-test-new@example.com", "Created by the crash test"),
    }
    return data, expected


CASES = [("before", 1), ("after", 1), ("before", 2), ("after", 2), ("before", 3), ("after", 3)]


@pytest.mark.parametrize(("when", "number"), [*CASES, ("reread", 3)])
def test_killed_push_is_completed_exactly_once_by_the_next_sync(
    tmp_path: Path, when: str, number: int
) -> None:
    sim = webex_seed.demo_state()
    gate = Gate(create_app(sim))
    served = ServedApp(gate)
    try:
        config = _config(tmp_path, served.port, sim)
        settings = load_settings(config)
        first = asyncio.run(run_export(settings, now=NOW))
        assert first.failures == []
        feed = calendar_path(settings.daemon.output_dir, CALENDAR).read_bytes()
        data, expected = _upload(feed)
        upload = tmp_path / "edited.ics"
        upload.write_bytes(data)
        before = served.call(lambda: _names(sim))

        gate.arm(when, number)
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "icsbridge.daemon.cli",
                "push",
                "--config",
                str(config),
                "--calendar",
                CALENDAR,
                str(upload),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert gate.hit.wait(WAIT), "the push never reached the gate"
        finally:
            child.kill()
            child.wait(WAIT)
        gate.target = None
        gate.release.set()

        again = asyncio.run(run_export(settings, now=NOW))
        assert again.failures == []
        names = served.call(lambda: _names(sim))
    finally:
        served.stop()

    uid, old_name, new_name = expected["renamed"]
    new_uid, created = expected["created"]
    assert names[new_name] == 1 and names[old_name] == 0
    assert names[created] == 1
    assert names[expected["deleted"]] == 0
    assert sum(names.values()) == sum(before.values())  # +1 created, -1 deleted
    with StateStore(settings.daemon.state) as state:
        assert state.journal_pending("hq") == []
    published = events_of(calendar_path(settings.daemon.output_dir, CALENDAR).read_bytes())
    assert str(published[uid]["SUMMARY"]) == new_name  # the UID survived the Webex re-key
    assert str(published[new_uid]["SUMMARY"]) == created  # the client's UID is kept

"""The soak's workload against a running daemon: edits by every way in, kills and reloads.

Every random choice of a round is drawn from the soak's seeded generator before the
round's operations start (their interleaving is the machine's, their content is the
seed's), so a failing seed replays the same edits, faults' rates, kill counts and
reloads. Each edit creates one event with a SUMMARY of its own (:attr:`Edit.marker`), so
where it landed, and how often, can be counted at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from icalendar import Event

from icsbridge.config.loader import load_settings
from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.feeds.urls import FeedUrl, feed_urls
from icsbridge.daemon.store.state import StateStore
from support.async_daemon import CLI, DaemonProcess, clean_env
from support.loopback import WAIT
from support.push_world import events_of, with_events, with_uid
from support.soak_world import EDITED, SoakApi, Variant, write_config

ACCEPTED = frozenset({200, 201, 204})


@dataclass
class Edit:
    """One event created by the soak, and what became of it."""

    marker: str  # its SUMMARY, found in no other event
    uid: str  # the UID the client chose
    calendar: str
    how: str  # put-calendar, put-event or push
    outcome: str = "not sent"  # "HTTP 412", "exit 0", "killed", ...
    accepted: bool = False  # 2xx, or a push that exited 0
    deleted: bool | None = None  # a DELETE was sent since: True when it was accepted


class Soak:
    """The daemon (``daemon``, its feeds at ``urls``) under the workload of one seed."""

    def __init__(
        self, folder: Path, seed: int, apis: list[SoakApi], daemon: DaemonProcess, port: int
    ) -> None:
        self.folder = folder
        self.seed = seed
        self.rng = random.Random(seed)
        self.apis = apis
        self.daemon = daemon
        self.port = port
        self.edits: list[Edit] = []
        self.answers: list[tuple[str, int]] = []  # every daemon answer: what, status
        self.if_match: list[tuple[str, str, int]] = []  # calendar, ETag sent, status
        self.pushes: list[tuple[str, int, str]] = []  # marker, exit status, stderr
        self.snapshots: dict[str, list[tuple[str, bytes]]] = {c: [] for c in EDITED}
        self.reloads: list[Variant] = []
        self.push_config = write_config(folder, apis, port, Variant(), name="push.toml")
        self._config_lock = threading.Lock()
        self._storm_over = False
        self.urls: dict[str, FeedUrl] = {}
        self.http: httpx.AsyncClient

    # ---- what the daemon serves ---------------------------------------------------------
    def read_urls(self) -> dict[str, FeedUrl]:
        settings = load_settings(self.folder / "config.toml")
        with StateStore(settings.daemon.state) as state:
            tokens = FeedTokens(state, clock=lambda: datetime.now(UTC))
            self.urls = {u.feed: u for u in feed_urls(settings, state, tokens)}
        return self.urls

    async def send(self, method: str, url: str, what: str, **kw: Any) -> httpx.Response:
        answer = await self.http.request(method, url, **kw)
        self.answers.append((f"{method} {what}", answer.status_code))
        return answer

    async def get(self, calendar: str) -> tuple[str, bytes]:
        answer = await self.send("GET", self.urls[calendar].http, calendar)
        assert answer.status_code == 200, (calendar, answer.status_code, answer.text)
        seen = (answer.headers["etag"], answer.content)
        self.snapshots[calendar].append(seen)
        return seen

    def api_of(self, calendar: str) -> SoakApi:
        return next(a for a in self.apis if calendar.startswith(a.source + "/"))

    # ---- one round ----------------------------------------------------------------------
    def new_edit(self, calendar: str, how: str) -> Edit:
        n = len(self.edits)
        edit = Edit(
            f"Soak {self.seed} #{n:03d}.", f"soak-{self.seed}-{n:03d}@example.org", calendar, how
        )
        self.edits.append(edit)
        return edit

    async def round(self) -> None:
        """Concurrent edits of every kind, a push killed at a random request, SIGHUPs at
        random requests of random simulators, maybe a SIGUSR1 in the middle."""
        rng = self.rng
        ops = []
        for calendar in rng.sample(EDITED, k=2):
            roll = rng.random()
            if roll < 0.4:
                twins = (
                    self.new_edit(calendar, "put-calendar"),
                    self.new_edit(calendar, "put-calendar"),
                )
                ops.append(self.put_twins(calendar, twins))
            else:
                stale = None
                if roll > 0.75 and self.snapshots[calendar]:
                    stale = rng.randrange(len(self.snapshots[calendar]))
                ops.append(self.put_calendar(self.new_edit(calendar, "put-calendar"), stale))
        ops.append(self.put_event(self.new_edit(rng.choice(EDITED), "put-event")))
        standing = [e for e in self.edits if e.accepted and e.deleted is None]
        if standing and rng.random() < 0.5:
            ops.append(self.delete(rng.choice(standing)))
        kill_after = None if rng.random() < 0.25 else rng.randint(0, 30)
        ops.append(self.push(self.new_edit(rng.choice(EDITED), "push"), kill_after))
        ops.append(self.health())
        for _ in range(rng.randint(2, 5)):
            self.arm_reload(rng)
        if rng.random() < 0.5:
            self.daemon.send(signal.SIGUSR1)
        await asyncio.gather(*ops)

    # ---- the edits ----------------------------------------------------------------------
    @staticmethod
    def new_event(feed: bytes, edit: Edit) -> Event:
        """A copy of the feed's first event with the edit's UID and SUMMARY (Webex and
        APIO key events by name)."""
        events = events_of(feed)
        return with_uid(events[sorted(events)[0]], edit.uid, edit.marker)

    async def put_calendar(
        self, edit: Edit, stale: int | None = None, seen: tuple[str, bytes] | None = None
    ) -> None:
        """The whole calendar and one new event, with If-Match: the ETag just read, or
        (``stale``) one read in an earlier round."""
        if seen is None:
            seen = self.snapshots[edit.calendar][stale] if stale is not None else None
        etag, feed = seen or await self.get(edit.calendar)
        upload = with_events(feed, [*events_of(feed).values(), self.new_event(feed, edit)])
        url = self.urls[edit.calendar].write
        assert url is not None
        answer = await self.send(
            "PUT", url, edit.calendar, content=upload, headers={"If-Match": etag}
        )
        edit.outcome, edit.accepted = f"HTTP {answer.status_code}", answer.status_code in ACCEPTED
        self.if_match.append((edit.calendar, etag, answer.status_code))

    async def put_twins(self, calendar: str, twins: tuple[Edit, Edit]) -> None:
        """Two uploads made from the same read, sent at once: at most one may apply."""
        seen = await self.get(calendar)
        await asyncio.gather(*(self.put_calendar(edit, seen=seen) for edit in twins))

    def event_url(self, calendar: str, uid: str) -> str:
        url = self.urls[calendar].write
        assert url is not None and url.endswith(".ics")
        return f"{url.removesuffix('.ics')}/{quote(uid)}.ics"

    async def put_event(self, edit: Edit) -> None:
        _etag, feed = await self.get(edit.calendar)
        upload = with_events(feed, [self.new_event(feed, edit)])
        answer = await self.send(
            "PUT", self.event_url(edit.calendar, edit.uid), edit.calendar, content=upload
        )
        edit.outcome, edit.accepted = f"HTTP {answer.status_code}", answer.status_code in ACCEPTED

    async def delete(self, edit: Edit) -> None:
        edit.deleted = False  # sent: it may apply even when the answer says it failed
        answer = await self.send("DELETE", self.event_url(edit.calendar, edit.uid), edit.calendar)
        edit.deleted = answer.status_code in ACCEPTED
        edit.outcome += f", DELETE {answer.status_code}"

    async def push(self, edit: Edit, kill_after: int | None) -> None:
        """``icsbridge push --only-listed`` with one new event, SIGKILLed when its source's
        simulator gets its ``kill_after``-th request from now (None: never)."""
        _etag, feed = await self.get(edit.calendar)
        file = self.folder / f"push-{edit.uid}.ics"
        file.write_bytes(with_events(feed, [self.new_event(feed, edit)]))
        proc = await asyncio.create_subprocess_exec(
            *CLI,
            "push",
            "--config",
            str(self.push_config),
            "--calendar",
            edit.calendar,
            "--only-listed",
            str(file),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=clean_env(),
        )
        done = threading.Event()

        def kill() -> None:
            if not done.is_set():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)

        if kill_after is not None:
            self.api_of(edit.calendar).tripwire.arm(kill_after, kill)
        _out, err = await asyncio.wait_for(proc.communicate(), WAIT)
        done.set()
        status = proc.returncode
        assert status is not None
        edit.outcome = "killed" if status == -signal.SIGKILL else f"exit {status}"
        edit.accepted = status == 0
        self.pushes.append((edit.marker, status, err.decode(errors="replace")))

    async def health(self) -> None:
        await self.send("GET", f"http://127.0.0.1:{self.port}/healthz", "/healthz")

    # ---- the SIGHUP storm ---------------------------------------------------------------
    def arm_reload(self, rng: random.Random) -> None:
        """A config variant and a burst of SIGHUPs, sent when a random simulator gets its
        n-th request from now (so mostly while a sync or a push is running)."""
        sources = [a.source for a in self.apis]
        variant = Variant(
            description=f"variant {len(self.reloads)}",
            slower=rng.choice([None, *sources]),
            broken=rng.choice(sources) if rng.random() < 0.2 else None,
        )
        self.reloads.append(variant)
        burst = rng.randint(1, 3)
        rng.choice(self.apis).tripwire.arm(rng.randint(0, 60), lambda: self.reload(variant, burst))

    def reload(self, variant: Variant, burst: int = 1) -> None:
        with self._config_lock:
            if self._storm_over:
                return
            write_config(self.folder, self.apis, self.port, variant)
            for _ in range(burst):
                self.daemon.proc.send_signal(signal.SIGHUP)

    def end_storm(self, final: Variant) -> None:
        """No reload after this one: ``final`` is the config the daemon ends with."""
        with self._config_lock:
            self._storm_over = True
            for api in self.apis:
                api.tripwire.disarm()
            write_config(self.folder, self.apis, self.port, final)
            self.daemon.send(signal.SIGHUP)

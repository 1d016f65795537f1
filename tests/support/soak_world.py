"""The soak test's world: the four simulators on loopback behind random faults, the config
the daemon reads (in variants, for reloads), and feeds compared without volatile lines.

Each simulator is served by uvicorn from a thread of the test (``ServedApp``), wrapped in
``simulators.faults.RandomFaults`` (seeded per source from the soak's seed) and in a
:class:`Tripwire` that runs an action when the n-th request from now arrives: the soak
kills a push, or sends SIGHUP, at a moment picked by count instead of by time.
"""

from __future__ import annotations

import os
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from icsbridge.daemon.cli.demo import webex_demo_api
from icsbridge.daemon.simulators.apio import app as apio
from icsbridge.daemon.simulators.apio import seed as apio_seed
from icsbridge.daemon.simulators.b2core import app as b2core
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.common import SimRequest
from icsbridge.daemon.simulators.faults import FaultRates, RandomFaults
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.wordbee import app as wordbee
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from support.loopback import ServedApp

EDITED = (
    "webex-demo/locations/Paris HQ/holidays/French Holidays",
    "webex-demo/locations/New York/holidays/US Holidays",
    "apio-demo/foogroup/holiday/Belgian Holidays 2026",
    "b2core-demo/events",
)
"""The calendars the soak edits, one or two per writable API."""

FEEDS_TOML = (
    '[[feeds]]\nname = "all-holidays"\ndescription = "{description}"\n'
    'calendars = ["webex-demo/*/holidays/*", "apio-demo/*/holiday/*"]\n\n'
    '[[feeds]]\nname = "paris-hq"\ncalendars = ["webex-demo/locations/Paris HQ/*"]\n'
)


class Tripwire:
    """ASGI middleware: :meth:`arm` an action to run when the n-th request from now
    arrives (n = 0: the next one), before the request goes on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0
        self._armed: list[tuple[int, Callable[[], None]]] = []
        self._lock = threading.Lock()

    def arm(self, after: int, action: Callable[[], None]) -> None:
        with self._lock:
            self._armed.append((self.count + after, action))

    def disarm(self) -> None:
        with self._lock:
            self._armed.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                due = [action for n, action in self._armed if n <= self.count]
                self._armed = [(n, action) for n, action in self._armed if n > self.count]
                self.count += 1
            for action in due:
                action()
        await self.app(scope, receive, send)


@dataclass
class SoakApi:
    """One simulated API as the soak serves it."""

    source: str
    sim: Any  # the simulator's SimState: its data and request log
    faults: RandomFaults
    tripwire: Tripwire
    served: ServedApp
    base_path: str
    source_toml: Callable[[str], str]
    secret_files: dict[str, str]
    writable: bool

    def block(self, interval: str) -> str:
        """The ``[[sources]]`` block, with ``interval`` and (when writable) write URLs."""
        text = self.source_toml(f"http://127.0.0.1:{self.served.port}{self.base_path}")
        text, replaced = re.subn(r'(?m)^interval = ".*"$', f'interval = "{interval}"', text)
        assert replaced == 1, text
        return text + ("feed_writes = true\n" if self.writable else "")

    def requests(self) -> list[SimRequest]:
        """The simulator's request log, read on its own loop (no race with a request)."""
        return list(self.served.call(lambda: list(self.sim.requests)))

    def stop(self) -> None:
        self.served.stop()


def serve_apis(seed: int, rates: FaultRates) -> list[SoakApi]:
    """The four simulators with their demo data, served on loopback behind faults (off
    until the caller sets ``faults.enabled``)."""

    def serve(
        source: str,
        sim: Any,
        app: ASGIApp,
        base_path: str,
        toml: Callable[[str], str],
        secrets: dict[str, str],
        *,
        writable: bool = True,
    ) -> SoakApi:
        faults = RandomFaults(app, rates, random.Random(f"{seed}:{source}"))
        faults.enabled = False
        tripwire = Tripwire(faults)
        served = ServedApp(tripwire)
        return SoakApi(source, sim, faults, tripwire, served, base_path, toml, secrets, writable)

    wsim = webex_seed.demo_state()
    webex = webex_demo_api(wsim)
    asim, wbsim, bsim = apio_seed.demo_state(), wordbee_seed.demo_state(), b2core_seed.demo_state()
    return [
        serve("webex-demo", wsim, webex.app, "/v1", webex.source_toml, webex.secret_files),
        serve(
            apio_seed.DEMO_SOURCE_NAME,
            asim,
            apio.create_app(asim),
            "",
            apio_seed.demo_source,
            apio_seed.demo_secret_files(),
        ),
        serve(
            wordbee.DEMO_SOURCE_NAME,
            wbsim,
            wordbee.create_app(wbsim),
            "/api",
            wordbee.demo_source,
            wordbee.demo_secret_files(),
            writable=False,
        ),
        serve(
            b2core_seed.DEMO_SOURCE_NAME,
            bsim,
            b2core.create_app(bsim),
            "",
            b2core_seed.demo_source,
            b2core_seed.demo_secret_files(),
        ),
    ]


@dataclass(frozen=True)
class Variant:
    """What one config differs in: a merged feed's description, one source's interval,
    or a problem that must refuse the reload (a number no timer can hold)."""

    description: str = "soak"
    slower: str | None = None  # this source gets interval = "2h"
    broken: str | None = None  # this source gets interval = "3000000d"


def write_config(
    folder: Path,
    apis: list[SoakApi],
    listen_port: int,
    variant: Variant,
    name: str = "config.toml",
) -> Path:
    """``folder/<name>`` (written whole, then renamed: a reader never sees half of it)
    and the secret files beside it."""
    for api in apis:
        for secret, content in api.secret_files.items():
            (folder / secret).write_text(content)
            (folder / secret).chmod(0o600)

    def interval(source: str) -> str:
        return {variant.slower: "2h", variant.broken: "3000000d"}.get(source, "1h")

    text = (
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n'
        f'listen = "127.0.0.1:{listen_port}"\npublic_url = "http://127.0.0.1:{listen_port}"\n\n'
        + "\n".join(api.block(interval(api.source)) for api in apis)
        + "\n"
        + FEEDS_TOML.format(description=variant.description)
    )
    path = folder / name
    fresh = folder / f".{name}.{threading.get_ident()}"
    fresh.write_text(text)
    os.replace(fresh, path)
    return path


# ---- feeds, compared -------------------------------------------------------------------
VOLATILE = ("DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "UID")
"""Event lines that depend on when and through which history a feed was made, not on what
the API holds: stamps, the revision count, and the UID (compared on its own)."""


def _name(line: str) -> str:
    return re.split(r"[;:]", line, maxsplit=1)[0]


@dataclass(frozen=True)
class FeedView:
    """A feed as content: the calendar's own lines (with its VTIMEZONEs), each event's
    lines without :data:`VOLATILE` ones (sorted), and each event's SUMMARY -> UIDs."""

    head: tuple[str, ...]
    events: tuple[tuple[str, ...], ...]
    uids: dict[str, list[str]] = field(compare=False)

    def summaries(self) -> Counter[str]:
        return Counter({summary: len(uids) for summary, uids in self.uids.items()})


def feed_view(data: bytes) -> FeedView:
    lines = data.decode().replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")
    head: list[str] = []
    events: list[tuple[str, ...]] = []
    uids: dict[str, list[str]] = {}
    event: list[str] | None = None
    uid = summary = ""
    for line in lines:
        if line == "BEGIN:VEVENT":
            event, uid, summary = [], "", ""
        elif line == "END:VEVENT" and event is not None:
            events.append(tuple(event))
            uids.setdefault(summary, []).append(uid)
            event = None
        elif event is None:
            head.append(line)
        elif _name(line) == "UID" and not uid:
            uid = line.split(":", 1)[1]
        elif _name(line) not in VOLATILE:
            if _name(line) == "SUMMARY" and not summary:
                summary = line.split(":", 1)[1]
            event.append(line)
    return FeedView(tuple(head), tuple(sorted(events)), uids)

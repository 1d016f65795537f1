"""One writable source against its simulator, with a real state file, for push tests.

``PushWorld(tmp_path, kind)`` serves the kind's demo data from its simulator through
httpx (no network), loads the demo ``[[sources]]`` block (plus ``extra`` lines) as a
user's config would, and drives the engine: ``sync()`` is one pull, ``push()`` one push.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from icalendar import Calendar, Event, vText

from icsbridge.config.daemon.state import StateLocation
from icsbridge.config.loader import load_settings
from icsbridge.config.settings import SourceSettings
from icsbridge.converters.ical.upload.read import parse_upload
from icsbridge.daemon.push.engine import PushOutcome, push
from icsbridge.daemon.push.journal import recover_pending
from icsbridge.daemon.push.plan import PushRequest, Scope
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.sources.base import Source
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar, pull_and_render

WRITABLE_KINDS = ("webex", "apio", "b2core")
CALENDAR = {
    "webex": "webex-demo/locations/Paris HQ/holidays/French Holidays",
    "apio": "apio-demo/foogroup/holiday/Belgian Holidays 2026",
    "b2core": "b2core-demo/events",
}
"""Per kind, a calendar of the demo with several events the tests edit."""
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


async def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class KindSetup:
    sim: Any
    app: Any
    base_url: str
    source_toml: Callable[[str], str]
    secret_files: dict[str, str]


def kind_setup(kind: str) -> KindSetup:
    if kind == "webex":
        from icsbridge.daemon.cli.demo import webex_demo_api

        wsim = webex_seed.demo_state()
        api = webex_demo_api(wsim)
        return KindSetup(wsim, api.app, "http://webex.sim/v1", api.source_toml, api.secret_files)
    if kind == "apio":
        from icsbridge.daemon.simulators.apio import app as apio
        from icsbridge.daemon.simulators.apio import seed as apio_seed

        asim = apio_seed.demo_state()
        return KindSetup(
            asim,
            apio.create_app(asim),
            "http://apio.sim",
            apio_seed.demo_source,
            apio_seed.demo_secret_files(),
        )
    if kind == "b2core":
        from icsbridge.daemon.simulators.b2core import app as b2core
        from icsbridge.daemon.simulators.b2core import seed as b2core_seed

        bsim = b2core_seed.demo_state()
        return KindSetup(
            bsim,
            b2core.create_app(bsim),
            "http://b2core.sim",
            b2core_seed.demo_source,
            b2core_seed.demo_secret_files(),
        )
    if kind == "wordbee":
        from icsbridge.daemon.simulators.wordbee import app as wordbee

        wbsim = wordbee_seed.demo_state(now=lambda: NOW)
        return KindSetup(
            wbsim,
            wordbee.create_app(wbsim),
            "http://wordbee.sim/api",
            wordbee.demo_source,
            wordbee.demo_secret_files(),
        )
    raise ValueError(kind)


def _in_folder(folder: Path) -> StateLocation:
    return folder / "state.sqlite"


STATE_FOR: Callable[[Path], StateLocation] = _in_folder
"""Where a world's state lives (the ``push_state`` fixture sets it per backend)."""


class PushWorld:
    def __init__(self, folder: Path, kind: str, extra: str = "") -> None:
        self.folder = folder
        self.location = STATE_FOR(folder)
        self.kind = kind
        setup = kind_setup(kind)
        self.sim = setup.sim
        self.app = setup.app
        for name, content in setup.secret_files.items():
            (folder / name).write_text(content)
        config = folder / "config.toml"
        config.write_text(
            f'[daemon]\nstate = "{self.location}"\noutput_dir = "feeds"\n\n'
            + setup.source_toml(setup.base_url)
            + extra
        )
        self.config = config
        self.settings: SourceSettings = load_settings(config).sources[0]
        self.name = self.settings.name
        self.state = StateStore(self.location)
        self.requests: list[httpx.Request] = []
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            event_hooks={"request": [self._log]},
        )
        self.source: Source = source_for(
            self.settings, self.client, tokens=self.state, sleep=_no_sleep
        )

    @property
    def calendar(self) -> str:
        """The calendar of :data:`CALENDAR` for this kind."""
        return CALENDAR[self.kind]

    async def __aenter__(self) -> PushWorld:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def restart(self) -> None:
        """A new process: the state file opened again and a new source object (the API,
        simulator and its request log stay)."""
        self.state.close()
        self.state = StateStore(self.location)
        self.source = source_for(self.settings, self.client, tokens=self.state, sleep=_no_sleep)

    async def feed(self, calendar: str | None = None) -> bytes:
        """One sync; the bytes of ``calendar`` (default :attr:`calendar`)."""
        return (await self.sync())[calendar or self.calendar].data

    async def _log(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def writes_sent(self) -> list[str]:
        """``METHOD path`` of every non-GET request sent so far (logins excluded)."""
        return [
            f"{r.method} {r.url.path}"
            for r in self.requests
            if r.method != "GET"
            and "login" not in r.url.path
            and "signin" not in r.url.path
            and "access_token" not in r.url.path
            and "token" not in r.url.path.rsplit("/", 1)[-1]
        ]

    async def close(self) -> None:
        await self.client.aclose()
        self.state.close()

    async def sync(self) -> dict[str, RenderedCalendar]:
        rendered = await pull_and_render(
            self.source, self.name, self.state, now=NOW, settle=recover_pending
        )
        return {c.meta.key: c for c in rendered}

    async def push(
        self,
        calendar: str,
        data: bytes,
        *,
        scope: Scope = "calendar",
        uid: str | None = None,
        dry_run: bool = False,
    ) -> PushOutcome:
        events = parse_upload(data) if data else {}
        request = PushRequest(calendar, events, scope, uid, dry_run)
        return await push(self.source, self.state, request, now=NOW)

    # -- the API side (what an admin changes in the business tool) ---------------------------

    async def ref(self, calendar: str) -> dict[str, str]:
        """The calendar's ``PulledCalendar.ref`` (one pull, GETs only)."""
        return next(dict(c.ref) for c in await self.source.pull() if c.meta.key == calendar)

    def api_events(self, ref: dict[str, str]) -> dict[str, dict[str, Any]]:
        """The calendar's events as the simulator stores them, by name (the stored dicts:
        changing one is an edit made in the API)."""
        if self.kind == "webex":
            owner = self.sim.owner(ref["owner_id"])
            return dict(self.sim.find_schedule(owner, ref["type"], ref["schedule_id"]).events)
        if self.kind == "apio":
            return dict(self._apio_schedule(ref).periods)
        if self.kind == "b2core":
            return {str(ev["caption"]): ev for ev in self.sim.events.values()}
        raise ValueError(self.kind)

    def remote_edit(self, ref: dict[str, str], name: str) -> None:
        """Change event ``name`` in the API without renaming it (its end moves a day, or
        for B2CORE its description changes)."""
        event = self.api_events(ref)[name]
        if self.kind == "b2core":
            self.sim.update_event(
                str(event["id"]), {"description": "moved by the back office"}, replace=False
            )
            return
        field_name = "endDate" if self.kind == "webex" else "stopDay"
        event[field_name] = (date.fromisoformat(event[field_name]) + timedelta(days=1)).isoformat()

    def remote_delete(self, ref: dict[str, str], name: str) -> None:
        if self.kind == "webex":
            owner = self.sim.owner(ref["owner_id"])
            del self.sim.find_schedule(owner, ref["type"], ref["schedule_id"]).events[name]
        elif self.kind == "apio":
            del self._apio_schedule(ref).periods[name]
        else:
            self.sim.delete_event(str(self.api_events(ref)[name]["id"]))

    def _apio_schedule(self, ref: dict[str, str]) -> Any:
        from icsbridge.daemon.sources.apio.writes import STORES

        store = STORES[
            ("holiday" if ref["kind"] == "holiday" else "time"), ref["family"] == "advanced"
        ]
        return self.sim.schedule(ref["tenant"], ref["group"] or None, store, ref["schedule"])


def calendar_of(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def events_of(data: bytes) -> dict[str, Event]:
    return {str(ev["UID"]): ev for ev in calendar_of(data).walk("VEVENT")}


def with_events(data: bytes, events: list[Event]) -> bytes:
    """The calendar ``data`` with its VEVENTs replaced by ``events`` (VTIMEZONEs kept)."""
    cal = calendar_of(data)
    cal.subcomponents = [c for c in cal.subcomponents if c.name != "VEVENT"] + list(events)
    return bytes(cal.to_ical())


def first_calendar_with_events(rendered: dict[str, RenderedCalendar], n: int = 2) -> str:
    return next(key for key, cal in sorted(rendered.items()) if len(cal.events) >= n)


def summary_of(event: Event) -> str:
    return str(event["SUMMARY"])


def renamed(event: Event, summary: str) -> Event:
    """A copy of ``event`` with another SUMMARY (B2CORE alarms follow the caption)."""
    copy = Event.from_ical(event.to_ical())
    copy["SUMMARY"] = vText(summary)
    return copy


def with_uid(event: Event, uid: str, summary: str) -> Event:
    """A copy of ``event`` as a new event: another UID and SUMMARY (names are keys)."""
    copy = renamed(event, summary)
    copy["UID"] = vText(uid)
    return copy


def by_summary(data: bytes) -> dict[str, str]:
    """SUMMARY -> UID of a feed."""
    return {summary_of(ev): uid for uid, ev in events_of(data).items()}


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ics"


def fixture_events(name: str) -> list[Event]:
    """The VEVENTs of ``tests/fixtures/ics/<name>`` (hand-written uploads)."""
    return list(calendar_of((FIXTURES / name).read_bytes()).walk("VEVENT"))

"""Webex Calling schedules as calendars (config ``kind = "webex"``).

What ``pull()`` reads:

- for each person id in ``people``: the person (displayName, locationId), their calling
  settings (timeZone), their schedule list, each PEOPLE-level schedule through the person
  endpoint and each LOCATION-level one through their location's endpoint (the person
  endpoint answers 404 for those);
- for each location in ``locations`` (``"all"``: every location of the org): the location
  (name, timeZone), its schedule list, each schedule.

A location schedule is read once per (location, type, schedule id), however many people
list it and whether or not the location is also configured.

Time zone of a person schedule: their location's ``timeZone``, then their calling time
zone, then the config's ``timezone``. Of a location schedule: the location's
``timeZone``, then the config's ``timezone`` (never a person's, or the result would depend
on which person listed it first). With none of them the source fails (never guess).

Calendar keys: ``<source>/locations/<location>/<type>/<schedule>`` and
``<source>/people/<displayName>/<type>/<schedule>`` (see ``calendar_keys``: unsafe path
characters replaced; when two calendars would share a key, the later ones in (key,
schedule id) order get ``~`` and the first 6 hex digits of sha1(schedule id)).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Container
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from icsbridge.config.settings import WebexSourceSettings
from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.converters.ical.render_cache import EventThunk, digest_of
from icsbridge.converters.webex.convert import (
    CONVERTER_VERSION,
    Level,
    event_thunks,
    parse_schedule,
    to_vevents,
)
from icsbridge.daemon.sources.base import PulledCalendar, Source, converted, payload_errors_of
from icsbridge.daemon.sources.calendar_keys import safe_segment, unique_key
from icsbridge.daemon.sources.http import ApiClient, SourceError, gather_in_order
from icsbridge.daemon.sources.pool import lean_memo
from icsbridge.daemon.sources.token_cache import StaticToken
from icsbridge.daemon.sources.webex.auth import OAuthRefresher, TokenProvider
from icsbridge.daemon.sources.webex.wire import (
    TYPE_WORDS,
    ListEntry,
    Location,
    checked_zone,
    list_entry,
    location_of,
    optional_text,
    text_field,
)
from icsbridge.daemon.sources.webex.writes import WebexWrites, path_segment, schedule_path

log = logging.getLogger("icsbridge.webex")


@dataclass(frozen=True)
class _Target:
    """One schedule to read: whose it is and where the API serves it."""

    level: Level
    owner_id: str
    owner_name: str
    schedule_id: str
    schedule_name: str
    type: str

    @property
    def ref(self) -> dict[str, str]:
        keys = {"level": self.level, "owner_id": self.owner_id, "type": self.type}
        return {**keys, "schedule_id": self.schedule_id}

    @property
    def owner(self) -> str:
        return f"location {self.owner_name}" if self.level == "LOCATION" else self.owner_name

    @property
    def label(self) -> str:
        return f'schedule "{self.schedule_name}" ({self.type}) of {self.owner}'

    @property
    def key_path(self) -> str:
        folder = "locations" if self.level == "LOCATION" else "people"
        parts = (folder, self.owner_name, self.type, self.schedule_name)
        return "/".join(safe_segment(p) for p in parts)


@dataclass
class _Read:
    """One schedule read and converted, before its calendar key is settled."""

    target: _Target
    schedule_name: str
    tz: str
    events: list[ConvertedEvent]


class WebexSource(WebexWrites, Source):
    """Webex Calling person and location schedules (see the module docstring)."""

    kind = "webex"
    settings: WebexSourceSettings

    def _setup(self) -> None:
        settings = self.settings
        self._memo = lean_memo(self.client)  # the daemon's lives as long as the client
        self._lean = False
        self.base_url = settings.base_url.rstrip("/")
        self._auth = self._token_provider()
        params: dict[str, str | int] = {"orgId": settings.org_id} if settings.org_id else {}
        self.api = ApiClient(
            self.client,
            source=self.name,
            base_url=self.base_url,
            auth=self._auth.token,
            on_unauthorized=self._auth.on_unauthorized,
            sleep=self.sleep,
            rng=self.rng,
            default_params=params,
            secrets=self._auth.secrets,
            concurrency=settings.concurrency,
        )

    def _token_provider(self) -> TokenProvider:
        s = self.settings
        if s.token is not None:
            return StaticToken(s.token)
        if s.client_id is not None and s.client_secret is not None and s.refresh_token is not None:
            return OAuthRefresher(
                source=self.name,
                client=self.client,
                base_url=self.base_url,
                client_id=s.client_id,
                client_secret=s.client_secret,
                refresh_token=s.refresh_token,
                tokens=self.tokens,
                clock=self.clock,
                sleep=self.sleep,
                rng=self.rng,
            )
        # config.settings refuses such a config; this guards a settings object built by hand.
        raise SourceError(
            f'source "{self.name}": no credentials; set token, or client_id, client_secret '
            "and refresh_token"
        )

    def describe(self) -> list[str]:
        s = self.settings
        auth = "bearer token" if isinstance(self._auth, StaticToken) else "OAuth refresh token"
        lines = [f"auth: {auth}"]  # the caller already shows kind, interval and base_url
        if s.org_id:
            lines.append(f"organisation (orgId): {s.org_id}")
        lines.extend(
            f"person {pid}: personal schedules and their location's shared schedules"
            for pid in s.people
        )
        if s.locations == "all":
            lines.append("every location of the organisation: its schedules")
        else:
            lines.extend(f"location {lid}: its schedules" for lid in s.locations)
        fallback = s.timezone.key if s.timezone is not None else "none (the API must give one)"
        lines.append(f"time zone when the API gives none: {fallback}")
        return lines

    # -- reading ------------------------------------------------------------------------

    async def pull(self, *, lean: bool = False) -> list[PulledCalendar]:
        # Reads run concurrently (ApiClient's throttle keeps them within the source's
        # ``concurrency``); results are gathered in the sequential order and sorted by
        # key in _calendars, so the outcome does not depend on which answer came first.
        done: set[tuple[str, str, str]] = set()  # (location id, type, schedule id)
        locations = _Locations(self)
        self._lean = lean
        if lean:
            self._memo.begin()
        with payload_errors_of(self.name):
            people = dict.fromkeys(self.settings.people)  # each once, in order
            per_person = await gather_in_order(
                self._pull_person(pid, done, locations) for pid in people
            )
            configured = await self._configured_locations(locations)
            per_location = await gather_in_order(
                self._pull_location(location, done) for location in configured
            )
        if lean:
            self._memo.end()
        return self._calendars([r for reads in (*per_person, *per_location) for r in reads])

    async def _pull_person(
        self, person_id: str, done: set[tuple[str, str, str]], locations: _Locations
    ) -> list[_Read]:
        person, calling = await gather_in_order(
            [
                self.api.get_json(f"/people/{path_segment(person_id)}", {"callingData": "true"}),
                self.api.get_json(f"/telephony/config/people/{path_segment(person_id)}"),
            ]
        )
        name = text_field(person, "displayName", f"person {person_id}")
        location_id = optional_text(person, "locationId", f"person {name}")
        person_zone = optional_text(calling, "timeZone", f"calling settings of {name}")
        location = await locations.get(location_id) if location_id else None
        location_label = f"location {location.name}" if location else ""
        location_zone = (location.zone, location_label) if location else None
        calling_zone = (person_zone, f"calling settings of {name}")
        path = f"/people/{path_segment(person_id)}/features/schedules"
        todo: list[tuple[_Target, list[tuple[str | None, str]]]] = []
        for entry in await self._list(path, f"schedule list of {name}"):
            sid, sname, stype, level = entry
            if level == "PEOPLE":
                target = _Target("PEOPLE", person_id, name, sid, sname, stype)
                zones = [location_zone] if location_zone else []
                todo.append((target, [*zones, calling_zone]))
            elif level == "LOCATION":
                if location is None:
                    raise PayloadError(
                        f'webex: {name} lists location schedule "{sname}" but has no locationId'
                    )
                if (location.id, stype, sid) in done:
                    continue
                done.add((location.id, stype, sid))
                target = _Target("LOCATION", location.id, location.name, sid, sname, stype)
                # Not the person's zone: a shared schedule must not take the zone of
                # whichever person happened to list it first.
                todo.append((target, [(location.zone, location_label)]))
            else:
                raise PayloadError(
                    f'webex: schedule list of {name}: schedule "{sname}": field "level": '
                    f"{level!r} is not PEOPLE or LOCATION"
                )
        return await gather_in_order(self._read(target, *zones) for target, zones in todo)

    async def _configured_locations(self, known: _Locations) -> list[Location]:
        wanted = self.settings.locations
        if wanted != "all":
            return await gather_in_order(known.get(lid) for lid in wanted)
        found: list[Location] = []
        params = {"max": self.settings.page_size}
        async for item in self.api.paginate("/locations", params, "items"):
            location = location_of(item, "location list")
            known.add(location)
            found.append(location)
        return found

    async def _pull_location(
        self, location: Location, done: set[tuple[str, str, str]]
    ) -> list[_Read]:
        path = f"/telephony/config/locations/{path_segment(location.id)}/schedules"
        reads = []
        for sid, sname, stype, _ in await self._list(path, f"schedule list of {location.name}"):
            if (location.id, stype, sid) in done:
                continue
            done.add((location.id, stype, sid))
            target = _Target("LOCATION", location.id, location.name, sid, sname, stype)
            reads.append(self._read(target, (location.zone, f"location {location.name}")))
        return await gather_in_order(reads)

    async def _list(self, path: str, where: str) -> list[ListEntry]:
        """The schedules of a list endpoint, all pages, skipping types we do not know."""
        params = {"max": self.settings.page_size}
        entries = [
            list_entry(item, where) async for item in self.api.paginate(path, params, "schedules")
        ]
        return [e for e in entries if e is not None]

    async def _read(self, target: _Target, *zones: tuple[str | None, str]) -> _Read:
        zone = self._zone(*zones, what=target.label)
        answer = await self.api.get_answer(schedule_path(target.ref))
        tz = ZoneInfo(zone)
        if not self._lean:

            def full() -> tuple[str, list[ConvertedEvent]]:
                schedule = parse_schedule(self.api.json_of(answer), where=target.label)
                level, owner = target.level, target.owner_name
                return schedule.name, to_vevents(schedule, tz=tz, level=level, owner_name=owner)

            name, events = await converted(full)
            return _Read(target, name, zone, events)
        # What the conversion reads besides the answer: unchanged, the memo hands back
        # the very lean events of the previous sync (no validation, conversion or render);
        # changed, only the events whose own fields changed are converted.
        context = (CONVERTER_VERSION, zone, target.level, target.owner_name)

        def convert(known: Container[bytes]) -> tuple[str, list[EventThunk]]:
            data = self.api.json_of(answer)
            level, owner = target.level, target.owner_name
            return event_thunks(
                data, where=target.label, tz=tz, level=level, owner_name=owner, known=known
            )

        digest = digest_of((context, hashlib.sha256(answer.content).digest()))
        kept = self._memo.known(target, digest)  # on the loop: no thread for a hit
        if kept is not None:
            name, events = kept
        else:
            name, events = await converted(partial(self._memo.events, target, digest, convert))
        return _Read(target, name, zone, events)

    def _zone(self, *candidates: tuple[str | None, str], what: str) -> str:
        """The first zone the API gives, else the config's; fail when there is none."""
        for zone, origin in candidates:
            if zone:
                log.debug('source "%s": %s: time zone %s from %s', self.name, what, zone, origin)
                return checked_zone(zone, origin)
        if self.settings.timezone is not None:
            zone = self.settings.timezone.key
            log.debug('source "%s": %s: time zone %s from the config', self.name, what, zone)
            return zone
        raise SourceError(
            f'source "{self.name}": {what}: the Webex API gives no time zone for it; '
            'set timezone in the config for this source (e.g. timezone = "Europe/Paris")'
        )

    def _calendars(self, reads: list[_Read]) -> list[PulledCalendar]:
        ordered = sorted(reads, key=lambda r: (r.target.key_path, r.target.schedule_id))
        taken: set[str] = set()
        out: list[PulledCalendar] = []
        for r in ordered:
            t = r.target
            key = unique_key(f"{self.name}/{t.key_path}", t.schedule_id, taken)
            meta = CalendarMeta(
                key=key,
                name=f"{r.schedule_name} ({t.owner_name})",
                description=(
                    f"Webex Calling {TYPE_WORDS[t.type]} schedule "
                    f'"{r.schedule_name}" of {t.owner} (time zone {r.tz})'
                ),
                timezone=r.tz,
                refresh_seconds=int(self.settings.interval.total_seconds()),
            )
            out.append(PulledCalendar(meta=meta, events=r.events, ref={**t.ref, "tz": r.tz}))
        return out


class _Locations:
    """Locations by id, each read once even when concurrent person reads ask together."""

    def __init__(self, source: WebexSource) -> None:
        self._source = source
        self._known: dict[str, asyncio.Future[Location]] = {}

    def add(self, location: Location) -> None:
        if location.id not in self._known:
            done: asyncio.Future[Location] = asyncio.get_running_loop().create_future()
            done.set_result(location)
            self._known[location.id] = done

    async def get(self, location_id: str) -> Location:
        if location_id not in self._known:
            self._known[location_id] = asyncio.ensure_future(self._read(location_id))
        return await asyncio.shield(self._known[location_id])

    async def _read(self, location_id: str) -> Location:
        body = await self._source.api.get_json(f"/locations/{path_segment(location_id)}")
        return location_of(body, f"location {location_id}")


__all__ = ["WebexSource"]

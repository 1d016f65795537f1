"""B2CORE back-office calendar events as one calendar (config ``kind = "b2core"``).

What ``pull()`` reads: ``GET {base_url}/api/v2/calendars/events`` with
``filter[startDate]`` = today (UTC) minus ``days_back`` at 00:00 UTC and
``filter[endDate]`` = today plus ``days_ahead`` plus one day at 00:00 UTC (whole days,
so the query, and so the feed, does not move within a day), ``sort_by=startTime``,
``sort_order=asc``, paged with ``limit`` (``page_size``) and ``offset`` until a page
shorter than ``limit``; a page size that divides the count exactly costs one extra, empty
page, unless the answer gives ``total``. The answer may be a bare JSON array or an
object with the array under ``data`` or ``items`` and an optional ``total`` (see
``icsbridge.converters.b2core.models.page_items``). A page that brings no new event id ends the
paging too (a server that ignores ``offset`` would otherwise repeat itself forever).

With ``recipients``, the list is read once per address (``filter[recipients]=<one>``)
and merged by event id (how the API reads several addresses in one filter is not said).

Every request sends ``Accept: application/json`` and ``Accept-Language: <language>``.

One calendar per source, key ``<source>/events``: an event with several recipients is
one object, and a calendar per recipient would publish it several times under one UID.

Writes: :meth:`B2coreSource.create_event` (POST), :meth:`~B2coreSource.update_event`
(PATCH with the changed fields only, or PUT with every field when asked),
:meth:`~B2coreSource.delete_event` (DELETE, 204). B2CORE ids survive edits. A push of an
event outside the window is refused: it would land in B2CORE and never be in the feed.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from icalendar import Event

from icsbridge.config.sources.b2core import B2coreSourceSettings
from icsbridge.converters.b2core.convert import (
    TARGET,
    Organizer,
    from_vevent,
    lean_vevents,
    outside_window,
    to_vevents,
)
from icsbridge.converters.b2core.models import (
    B2coreEvent,
    instant_text,
    page_items,
    parse_event,
    unwrap_object,
)
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.daemon.sources.b2core.auth import (
    SIGNIN_REFUSED,
    B2coreAuth,
    SessionLogin,
    StaticBearer,
)
from icsbridge.daemon.sources.base import PulledCalendar, Source, converted, payload_errors_of
from icsbridge.daemon.sources.calendar_keys import safe_segment
from icsbridge.daemon.sources.http import ApiClient, Params, SourceError
from icsbridge.daemon.sources.pool import lean_memo
from icsbridge.daemon.sources.writes import Action, EventWriter, Payload, PlannedWrite

log = logging.getLogger("icsbridge.b2core")

EVENTS_PATH = "/api/v2/calendars/events"
MAX_PAGES = 10_000
_HINTS = {
    401: "check the token, or the email and password",
    403: "the back-office user may not read or change calendar events; check its rights",
    404: "check base_url (the B2CORE host) and the event id",
    422: "the back office refused the event's fields",
}


class B2coreSource(EventWriter, Source):
    """B2CORE back-office calendar events (see the module docstring)."""

    kind = "b2core"
    holds_alarms = True  # as notifications
    settings: B2coreSourceSettings

    def _setup(self) -> None:
        self._memo = lean_memo(self.client)  # the daemon's lives as long as the client
        self.base_url = self.settings.base_url.rstrip("/")
        # On every call, sign-in included (ApiClient's tracking id and token win over them).
        self._headers = {"Accept": "application/json", "Accept-Language": self.settings.language}
        self._auth = self._auth_for()
        shared: dict[str, Any] = {
            "source": self.name,
            "base_url": self.base_url,
            "auth": self._auth.token,
            "sleep": self.sleep,
            "rng": self.rng,
            "secrets": self._auth.secrets,
            "hints": _HINTS,
            "headers": self._headers,
        }
        self.api = ApiClient(self.client, on_unauthorized=self._auth.on_unauthorized, **shared)
        # For the one retry after a fresh sign-in: a 401 then is final, not another refresh.
        self._api_after_signin = ApiClient(self.client, **shared)
        self.organizer = Organizer(email=f"noreply@{_mail_domain(self.base_url)}")

    def _auth_for(self) -> B2coreAuth:
        s = self.settings
        if s.token is not None:
            return StaticBearer(s.token)
        if s.email is not None and s.password is not None:
            login: SessionLogin | None = None

            def known() -> list[str]:
                return login.secrets() if login is not None else []

            api = ApiClient(
                self.client,
                source=self.name,
                base_url=self.base_url,
                sleep=self.sleep,
                rng=self.rng,
                secrets=known,
                hints={401: SIGNIN_REFUSED, 403: SIGNIN_REFUSED, 422: SIGNIN_REFUSED},
                headers=self._headers,
            )
            login = SessionLogin(
                source=self.name,
                api=api,
                email=s.email,
                password=s.password,
                tokens=self.tokens,
                clock=self.clock,
            )
            return login
        # config.settings refuses such a config; this guards a settings object built by hand.
        raise SourceError(f'source "{self.name}": no credentials; set token, or email and password')

    @property
    def calendar_key(self) -> str:
        return f"{safe_segment(self.name)}/events"

    def window(self) -> tuple[datetime, datetime]:
        """The instants sent as filter[startDate] and filter[endDate] (see module doc)."""
        today = self.clock().astimezone(UTC).date()
        midnight = datetime.combine(today, time(), tzinfo=UTC)
        return (
            midnight - timedelta(days=self.settings.days_back),
            midnight + timedelta(days=self.settings.days_ahead + 1),
        )

    def describe(self) -> list[str]:
        s = self.settings
        if s.token is not None:
            lines = ["auth: bearer token"]
        else:
            lines = [f"auth: sign-in as {s.email} (the refresh token is kept in the state file)"]
        lines.append(
            f"events from {s.days_back} days before to {s.days_ahead} days after today (UTC), "
            f"{s.page_size} per page"
        )
        if s.recipients:
            lines.append(f"only events for: {', '.join(s.recipients)}")
        else:
            lines.append("events of every recipient")
        lines.append(f"language (Accept-Language): {s.language}")
        if s.timezone is not None:
            lines.append(
                f"time zone shown: {s.timezone.key} (times in another offset are written in UTC)"
            )
        else:
            lines.append("times written in UTC (set timezone to show a zone)")
        lines.append(f"calendar: {self.calendar_key}")
        return lines

    # -- reading ------------------------------------------------------------------------

    async def pull(self, *, lean: bool = False) -> list[PulledCalendar]:
        # Lean (the sync): unchanged events are not converted again (the LeanMemo).
        start, end = self.window()
        found: dict[str, B2coreEvent] = {}
        with payload_errors_of(self.name):
            wanted: list[str | None] = list(self.settings.recipients) or [None]
            for recipient in wanted:
                for event in await self._list(start, end, recipient):
                    assert event.id is not None  # parse_event checks it
                    found.setdefault(event.id, event)
        tz = self.settings.timezone
        convert = partial(lean_vevents, self._memo, self.calendar_key) if lean else to_vevents
        events = await converted(
            partial(convert, list(found.values()), tz=tz, organizer=self.organizer)
        )
        host = httpx.URL(self.base_url).host
        meta = CalendarMeta(
            key=self.calendar_key,
            name=f"B2CORE events ({host})",
            description=f"Calendar events of the B2CORE back office at {host}"
            + (f" for {', '.join(self.settings.recipients)}" if self.settings.recipients else ""),
            timezone=tz.key if tz is not None else None,
            refresh_seconds=self.settings.interval_seconds,
        )
        return [PulledCalendar(meta=meta, events=events, ref=self.calendar_ref())]

    def calendar_ref(self) -> dict[str, str]:
        """What a push needs besides the source: the zone floating times are read in and
        the organizer address the pull wrote (see :meth:`event_from_vevent`)."""
        tz = self.settings.timezone
        return {"timezone": tz.key if tz is not None else "", "organizer": self.organizer.email}

    async def _list(
        self, start: datetime, end: datetime, recipient: str | None
    ) -> list[B2coreEvent]:
        size = self.settings.page_size
        params: dict[str, str | int] = {
            "limit": size,
            "sort_by": "startTime",
            "sort_order": "asc",
            "filter[startDate]": instant_text(start),
            "filter[endDate]": instant_text(end),
        }
        if recipient is not None:
            params["filter[recipients]"] = recipient
        events: list[B2coreEvent] = []
        seen: set[str] = set()
        offset = 0
        for _ in range(MAX_PAGES):
            body = await self._call("GET", EVENTS_PATH, params={**params, "offset": offset})
            items, total = page_items(body, where=f"event list (offset {offset})")
            fresh = 0
            for item in items:
                event = parse_event(item, where=f"event list (offset {offset})")
                assert event.id is not None
                if event.id not in seen:
                    seen.add(event.id)
                    events.append(event)
                    fresh += 1
            offset += len(items)
            if total is not None:
                if offset >= total or not items:
                    return events
            elif len(items) < size:
                return events
            if fresh == 0:
                log.warning(
                    'source "%s": GET %s: offset %d repeats events already read; stopping',
                    self.name,
                    EVENTS_PATH,
                    offset - len(items),
                )
                return events
        raise SourceError(f'source "{self.name}": GET {EVENTS_PATH}: more than {MAX_PAGES} pages')

    async def _call(
        self, method: str, path: str, *, params: Params | None = None, json: Any = None
    ) -> Any:
        """One call; when a refreshed token is refused too, sign in again and retry once."""
        try:
            return await self.api.call_json(method, path, params=params, json=json)
        except SourceError as exc:
            if exc.status != 401 or not await self._auth.relogin():
                raise
        return await self._api_after_signin.call_json(method, path, params=params, json=json)

    # -- writing ------------------------------------------------------------------------

    def event_from_vevent(self, ref: Mapping[str, str], vevent: Event) -> B2coreEvent:
        """The write payload for ``vevent`` (``UnsupportedByTarget`` when B2CORE cannot
        hold it), read with the zone and organizer in ``ref`` (see :meth:`calendar_ref`)."""
        zone = ref.get("timezone")
        organizer = Organizer(ref.get("organizer") or self.organizer.email)
        return from_vevent(vevent, tz=ZoneInfo(zone) if zone else None, organizer=organizer)

    async def get_event(self, ref: Mapping[str, str], event_id: str) -> B2coreEvent:
        body = await self._call("GET", _event_path(event_id))
        return self._parsed(body, f"event {event_id}")

    async def create_event(self, ref: Mapping[str, str], event: B2coreEvent) -> str:
        """Add ``event``; returns the new event's id."""
        body = await self._call("POST", EVENTS_PATH, json=event.to_wire())
        created = self._parsed(body, "the created event")
        assert created.id is not None
        return created.id

    async def update_event(
        self,
        ref: Mapping[str, str],
        event_id: str,
        event: B2coreEvent,
        *,
        previous: B2coreEvent | None = None,
        replace: bool = False,
    ) -> str:
        """Write ``event`` over event ``event_id``; returns its id (unchanged by B2CORE).

        ``replace``: PUT every field. Otherwise PATCH only the fields that differ from
        ``previous`` (the event as last read; read now when not given), and send nothing
        when none does.
        """
        path = _event_path(event_id)
        if replace:
            await self._call("PUT", path, json=event.to_wire())
            return event_id
        before = previous if previous is not None else await self.get_event(ref, event_id)
        changes = event.changed_fields(before)
        if not changes:
            log.debug('source "%s": event %s unchanged; nothing sent', self.name, event_id)
            return event_id
        await self._call("PATCH", path, json=changes)
        return event_id

    async def delete_event(self, ref: Mapping[str, str], event_id: str) -> None:
        """Delete event ``event_id``; one already gone (404) counts as deleted."""
        try:
            await self._call("DELETE", _event_path(event_id))
        except SourceError as exc:
            if exc.status != 404:
                raise
            log.info('source "%s": event %s was already deleted', self.name, event_id)

    # -- the push engine's interface (daemon.sources.writes) -------------------------------------

    def payload_for(self, ref: Mapping[str, str], vevent: Event) -> Payload:
        """Also refuses an event the window would hide (see ``outside_window``)."""
        event = self.event_from_vevent(ref, vevent)
        s = self.settings
        why = outside_window(event, self.window(), days_back=s.days_back, days_ahead=s.days_ahead)
        if why is not None:
            raise UnsupportedByTarget(TARGET, [why], str(vevent.get("UID") or "") or None)
        return event.to_wire()

    def payload_of(self, ref: Mapping[str, str], event: ConvertedEvent) -> Payload | None:
        # What the API holds was read through the window: only uploads are held to it.
        component = event.vevent()
        if not isinstance(component, Event):
            return None
        try:
            return self.event_from_vevent(ref, component).to_wire()
        except UnsupportedByTarget:
            return None

    def same_payload(self, a: Payload, b: Payload) -> bool:
        # Instants compare as instants: "+01:00" and "Z" spellings of one time are equal.
        return B2coreEvent.model_validate(a) == B2coreEvent.model_validate(b)

    def plan_write(
        self,
        ref: Mapping[str, str],
        action: Action,
        uid: str,
        *,
        native_key: str | None,
        payload: Payload | None,
        base: Payload | None,
    ) -> PlannedWrite:
        if action == "create":
            return PlannedWrite(action, uid, None, payload, base, "POST", EVENTS_PATH)
        assert native_key is not None
        method = "DELETE" if action == "delete" else "PATCH"
        return PlannedWrite(action, uid, native_key, payload, base, method, _event_path(native_key))

    async def send_write(self, ref: Mapping[str, str], write: PlannedWrite) -> str | None:
        """Ids never change on B2CORE; an update PATCHes what changed since ``base``."""
        if write.action == "create":
            assert write.payload is not None
            return await self.create_event(ref, B2coreEvent.model_validate(write.payload))
        assert write.native_key is not None
        if write.action == "delete":
            await self.delete_event(ref, write.native_key)  # 404 counts as deleted
            return None
        assert write.payload is not None
        base = B2coreEvent.model_validate(write.base) if write.base is not None else None
        event = B2coreEvent.model_validate(write.payload)
        return await self.update_event(ref, write.native_key, event, previous=base)

    def _parsed(self, body: Any, where: str) -> B2coreEvent:
        with payload_errors_of(self.name):
            return parse_event(unwrap_object(body), where=where)


def _mail_domain(base_url: str) -> str:
    """The B2CORE host as the domain of an e-mail address (an IP as an address literal)."""
    host = httpx.URL(base_url).host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[IPv6:{address}]" if address.version == 6 else f"[{address}]"


def _event_path(event_id: str) -> str:
    return f"{EVENTS_PATH}/{quote(event_id, safe='')}"


__all__ = ["EVENTS_PATH", "B2coreSource"]

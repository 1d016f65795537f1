"""Wordbee source: each configured person's calendar, read month by month (read-only).

For each person the window runs from ``months_back`` months before the current month
to ``months_ahead`` after it, one ``GET /persons/{uid}/calendar/view?range=m&year=&month=``
per month (see :mod:`.auth` for login, 429 and the hourly quota). The months are
joined by :func:`converters.wordbee.convert.merge_months`: an appointment that spans a month
boundary, listed by both months, is published once.

Time zone: the view names the person's zone as a Windows id ("Romance Standard Time"),
mapped to IANA with CLDR's table (:mod:`converters.ical.windows_zones`). An id that cannot be
mapped falls back to the config's ``timezone`` with a warning in the log; without one
the source fails. The view's ``offset`` (valid for today only) is never used.

Calendar keys, by person id (a rename in Wordbee must not move a subscribed feed):
``<source>/<uid>/calendar`` (non-worked and exceptionally worked days, appointments) and
``<source>/<uid>/work-items`` (projects, jobs and orders; none with
``work_items = "none"``). Calendar names use the person's name when the data gives it.

Wordbee has no public endpoint that changes appointments: the source is read-only.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from functools import partial
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icsbridge.config.sources.wordbee import WordbeeSourceSettings
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.converters.ical.render_cache import digest_of
from icsbridge.converters.ical.windows_zones import TABLE_VERSION, iana_zone
from icsbridge.converters.wordbee.convert import (
    CONVERTER_VERSION,
    CalendarView,
    MergedCalendar,
    PersonContext,
    calendar_events,
    merge_months,
    parse_view,
    work_item_components,
)
from icsbridge.daemon.sources.base import PulledCalendar, Source, converted, payload_errors_of
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.pool import lean_memo
from icsbridge.daemon.sources.wordbee.auth import WordbeeSession
from icsbridge.daemon.sources.wordbee.quota import shared_limiter

log = logging.getLogger("icsbridge.wordbee")


def window_months(today: date, back: int, ahead: int) -> list[tuple[int, int]]:
    """(year, month) from ``back`` months before ``today``'s month to ``ahead`` after."""
    base = today.year * 12 + today.month - 1
    return [(n // 12, n % 12 + 1) for n in range(base - back, base + ahead + 1)]


def window_instants(months: list[tuple[int, int]], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the months on the person's clock, as UTC instants."""
    first_year, first_month = months[0]
    last_year, last_month = months[-1]
    after = last_year * 12 + last_month  # the month after the last, counted from 0
    start = datetime(first_year, first_month, 1, tzinfo=zone)
    end = datetime(after // 12, after % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


class WordbeeSource(Source):
    """Wordbee person calendars (see the module docstring)."""

    kind = "wordbee"
    read_only = True
    settings: WordbeeSourceSettings

    def _setup(self) -> None:
        self._memo = lean_memo(self.client)  # the daemon's lives as long as the client
        self._lean = False
        settings = self.settings
        self.base_url = settings.base_url.rstrip("/")
        self.limiter = shared_limiter(
            self.base_url, settings.account_id, settings.hourly_quota, self.clock
        )
        self.session = WordbeeSession(
            source=self.name,
            client=self.client,
            base_url=self.base_url,
            account_id=settings.account_id,
            key=settings.key,
            limiter=self.limiter,
            throttle_wait=settings.throttle_wait,
            sleep=self.sleep,
            rng=self.rng,
        )
        host = urlsplit(self.base_url).hostname or self.base_url
        self.platform = f"{host}/{settings.account_id}"

    def describe(self) -> list[str]:
        s = self.settings
        calls = len(s.persons) * s.months_read + 1
        per_hour = calls * max(1, 3600 // max(1, s.interval_seconds))
        lines = [
            f"account {s.account_id}: token login with the key from {s.key.reference}",
            f"window: {s.months_back} month(s) back and {s.months_ahead} ahead, "
            f"one call per person and month ({calls} calls per sync with the login)",
        ]
        items = {"events": "work items as deadline events", "todos": "work items as to-dos"}
        for uid in s.persons:
            extra = f" and {items[s.work_items]}" if s.work_items in items else ""
            lines.append(f"person {uid}: days off, exceptionally worked days, appointments{extra}")
        quota = f"hourly quota: {s.hourly_quota} calls (deferred, never dropped)"
        if per_hour > s.hourly_quota:
            quota += f"; this interval needs about {per_hour} per hour, so syncs will wait"
        lines.append(quota)
        fallback = s.timezone.key if s.timezone is not None else "none (unknown zones fail)"
        lines.append(
            f"time zones: Wordbee's Windows ids mapped with {TABLE_VERSION}; fallback {fallback}"
        )
        lines.append("read-only: edits to these calendars are refused")
        return lines

    # -- reading ------------------------------------------------------------------------

    async def pull(self, *, lean: bool = False) -> list[PulledCalendar]:
        # Lean (the sync): a person whose months answer as before is not converted again
        # (the source's LeanMemo); when they changed, only changed events are rendered.
        s = self.settings
        months = window_months(self.clock().astimezone(UTC).date(), s.months_back, s.months_ahead)
        out: list[PulledCalendar] = []
        self._lean = lean
        if lean:
            self._memo.begin()
        with payload_errors_of(self.name):
            for uid in dict.fromkeys(s.persons):  # each once, in order
                views = [await self._month(uid, y, m) for y, m in months]
                out.extend(await converted(partial(self._converted, uid, views, months)))
        if lean:
            self._memo.end()
        return out

    def _converted(
        self, uid: int, views: list[CalendarView], months: list[tuple[int, int]]
    ) -> list[PulledCalendar]:
        if not self._lean:
            return self._calendars(uid, merge_months(views), months)
        s = self.settings
        zone = s.timezone.key if s.timezone is not None else None
        # Everything the calendars of a person are made of (their metas included).
        inputs = (CONVERTER_VERSION, TABLE_VERSION, self.name, self.platform, uid, months)
        settings = (zone, s.work_items, s.interval_seconds)
        answer = digest_of((inputs, settings, [view.to_wire() for view in views]))

        def convert() -> tuple[
            list[tuple[CalendarMeta, dict[str, str], int]], list[ConvertedEvent]
        ]:
            calendars = self._calendars(uid, merge_months(views), months)
            shells = [(c.meta, c.ref, len(c.events)) for c in calendars]
            return shells, [event for c in calendars for event in c.events]

        shells, events = self._memo.convert_whole(uid, answer, convert)
        out, at = [], 0
        for meta, ref, count in shells:
            out.append(PulledCalendar(meta=meta, events=events[at : at + count], ref=ref))
            at += count
        return out

    async def _month(self, uid: int, year: int, month: int) -> CalendarView:
        params: dict[str, str | int] = {"range": "m", "year": year, "month": month}
        body = await self.session.get_json(f"/persons/{uid}/calendar/view", params)
        return parse_view(body, where=f"person {uid}, {year}-{month:02d}")

    def _calendars(
        self, uid: int, merged: MergedCalendar, months: list[tuple[int, int]]
    ) -> list[PulledCalendar]:
        zone = self._zone(uid, merged)
        name = _person_name(uid, merged)
        label = name or f"person {uid}"
        ctx = PersonContext(uid=uid, label=label, zone=zone, platform=self.platform)
        window = window_instants(months, zone)
        span = f"{months[0][0]}-{months[0][1]:02d} to {months[-1][0]}-{months[-1][1]:02d}"
        ref = {"person": str(uid), "tz": zone.key}

        def published(
            path: str, title: str, what: str, events: list[ConvertedEvent]
        ) -> PulledCalendar:
            meta = CalendarMeta(
                key=f"{self.name}/{uid}/{path}",
                name=title,
                description=f"{what} (time zone {zone.key})",
                timezone=zone.key,
                refresh_seconds=self.settings.interval_seconds,
            )
            return PulledCalendar(meta=meta, events=events, ref=ref)

        calendar = published(
            "calendar",
            f"{label} (Wordbee)",
            f"Wordbee calendar of {label} (person {uid}): days off, exceptionally worked days "
            f"and appointments, {span}",
            calendar_events(merged, ctx, window),
        )
        mode = self.settings.work_items
        if mode == "none":
            return [calendar]
        if merged.projects is None and merged.jobs is None and merged.orders is None:
            log.info(
                'source "%s": person %d: Wordbee gives this account no projects, jobs or orders',
                self.name,
                uid,
            )
        work = published(
            "work-items",
            f"{label}: work items (Wordbee)",
            f"Deadlines of the Wordbee projects, jobs and orders of {label} (person {uid})",
            work_item_components(merged, ctx, mode),
        )
        return [calendar, work]

    def _zone(self, uid: int, merged: MergedCalendar) -> ZoneInfo:
        """The person's IANA zone; the config's fallback said out loud; never a guess."""
        zone_id = merged.zone_id
        if len(merged.zone_ids) > 1:
            log.warning(
                'source "%s": person %d: the months name different time zones (%s); using '
                "the latest",
                self.name,
                uid,
                ", ".join(merged.zone_ids),
            )
        mapped = iana_zone(zone_id) if zone_id else None
        if mapped is not None:
            return ZoneInfo(mapped)
        said = f'names the time zone "{zone_id}", which is no Windows or IANA zone icsbridge knows'
        if not zone_id:
            said = "gives no time zone"
        fallback = self.settings.timezone
        if fallback is not None:
            log.warning(
                'source "%s": person %d: Wordbee %s; using timezone = "%s" from the config',
                self.name,
                uid,
                said,
                fallback.key,
            )
            return fallback
        raise SourceError(
            f'source "{self.name}": person {uid}: Wordbee {said}; set timezone to the '
            'person\'s IANA zone in the config for this source (e.g. timezone = "Europe/Paris")'
        )


_Shell = tuple[CalendarMeta, dict[str, str], int]  # a calendar but its events: how many


def _person_name(uid: int, merged: MergedCalendar) -> str | None:
    """The person's name as the appointments give it (their own, or as an attendee)."""
    for app in merged.appointments:
        if app.uid == uid and app.unm:
            return app.unm
    for app in merged.appointments:
        for person in app.attendees:
            if person.uid == uid and person.unm:
                return person.unm
    return None


__all__ = ["WordbeeSource", "window_instants", "window_months"]

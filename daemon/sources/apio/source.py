"""APIO (BroadWorks) group schedules as calendars (config ``kind = "apio"``).

What ``pull()`` reads, for each group of ``groups`` (tenant ``tenant``):

- ``time`` family: ``GET .../groups/<g>/time_schedules/`` (``allLevels=true`` with
  ``all_levels``), then each schedule with ``full_list=true``;
- ``holiday`` family: the same under ``calendar_schedules/``;
- ``advanced`` family: ``advanced_time_schedules/`` and each schedule there that the time
  family did not already read.

A schedule answering 400 with sub-code 62 (SCHEDULE_NOT_COMPATIBLE_SIMPLE_MODE) is read
through its advanced family instead (``advanced_time_schedules`` for time schedules,
``advanced_calendar_schedules`` for holiday ones: that second path is unverified).
Enterprise-level schedules (a list entry whose ``level`` is not ``Group``) are read once,
through the tenant (``/tenants/<t>/<family>/<name>/``). ``full_list`` and ``allLevels``
are sent both in the query string and as a JSON body (the documentation shows a body on
GET; the query string survives proxies). Every URL ends with ``/``; names are
percent-encoded path segments.

Calendar keys: ``<source>/<group>/<kind>/<schedule>`` with kind ``time`` or ``holiday``
(a time schedule read through the advanced family keeps ``time``, so its key does not move
when someone adds a recurrence the simple view cannot show), and
``<source>/enterprise/<kind>/<schedule>`` for enterprise-level ones; the group segment is
kept even with one group, so adding a group later moves no calendar. Unsafe characters
and clashes are handled by ``calendar_keys``. The zone is the config's ``timezone``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from icsbridge.config.sources.apio import ApioSourceSettings, api_root
from icsbridge.converters.apio.convert import (
    CONVERTER_VERSION,
    ApioSchedule,
    Period,
    parse_schedule,
    period_converter,
    periods_in_order,
    to_vevents,
)
from icsbridge.converters.apio.wire import Family
from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.daemon.sources.apio.auth import (
    ApioApiClient,
    CoreJwt,
    Credentials,
    GatewaySession,
    MachineToken,
)
from icsbridge.daemon.sources.apio.writes import STORES, ApioWrites, Kind, schedule_path, scope_path
from icsbridge.daemon.sources.base import PulledCalendar, Source, converted, payload_errors_of
from icsbridge.daemon.sources.calendar_keys import safe_segment, unique_key
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.pool import lean_memo

SUB_CODE_NOT_SIMPLE = 62
ENTERPRISE = "enterprise"
HINTS = {
    401: "check token, or username and password (and login)",
    403: "check the account's rights on the tenant and groups (all_levels needs Group Admin)",
    404: "check tenant, groups and base_url",
}
_KIND_WORDS = {"time": "time schedule", "holiday": "holiday schedule"}


def not_simple(exc: SourceError) -> bool:
    """True when the API said the schedule cannot be shown in simple mode (sub-code 62)."""
    text = str(exc).lower()
    return exc.status == 400 and (
        SUB_CODE_NOT_SIMPLE in exc.error_codes
        or "schedule_not_compatible_simple_mode" in text
        or "not compatible with simplified mode" in text
    )


@dataclass(frozen=True)
class _Target:
    """One schedule to read: where it lives and how it was listed."""

    group: str | None  # None: enterprise level, read through the tenant
    kind: Kind
    name: str

    @property
    def owner(self) -> str:
        return f'group "{self.group}"' if self.group is not None else "the enterprise"

    @property
    def label(self) -> str:
        return f'{self.owner} {_KIND_WORDS[self.kind]} "{self.name}"'

    @property
    def key_path(self) -> str:
        parts = (self.group if self.group is not None else ENTERPRISE, self.kind, self.name)
        return "/".join(safe_segment(p) for p in parts)


@dataclass
class _Read:
    target: _Target
    family: Family
    schedule: ApioSchedule
    events: list[ConvertedEvent]


class ApioSource(ApioWrites, Source):
    """APIO group schedules (see the module docstring)."""

    kind = "apio"
    settings: ApioSourceSettings

    def _setup(self) -> None:
        self._memo = lean_memo(self.client)  # the daemon's lives as long as the client
        self._lean = False
        self.base_url = self.settings.base_url.rstrip("/")
        self.tenant = self.settings.tenant
        self.zone = self.settings.zone
        self.creds = self._credentials()
        self.api = ApioApiClient(
            self.client,
            source=self.name,
            base_url=self.base_url,
            auth=self.creds.bearer,
            on_unauthorized=self.creds.on_unauthorized,
            sleep=self.sleep,
            rng=self.rng,
            secrets=self.creds.secrets,
            hints=HINTS,
        )

    def _credentials(self) -> Credentials:
        s = self.settings
        if s.token is not None:
            return MachineToken(s.token)
        if s.username is None or s.password is None:
            # config.sources.apio refuses such a config; this guards settings built by hand.
            raise SourceError(
                f'source "{self.name}": no credentials; set token, or username and password'
            )
        common: dict[str, Any] = {
            "source": self.name,
            "client": self.client,
            "username": s.username,
            "password": s.password,
            "sleep": self.sleep,
            "rng": self.rng,
        }
        if s.login_mode == "core-jwt":
            return CoreJwt(root=api_root(self.base_url, "v01"), **common)
        return GatewaySession(root=api_root(self.base_url, "v1"), **common)

    def describe(self) -> list[str]:
        s = self.settings
        if s.token is not None:
            auth = "APIO Core machine token (bearer)"
        elif s.login_mode == "core-jwt":
            auth = f"username and password, APIO Core JWT login at {api_root(s.base_url, 'v01')}"
        else:
            auth = f"username and password, gateway session login at {api_root(s.base_url, 'v1')}"
        lines = [f"auth: {auth}", f"tenant: {s.tenant}"]
        families = ", ".join(s.families)
        lines += [f"group {g}: {families} schedules" for g in s.groups]
        if s.all_levels:
            lines.append("enterprise-level schedules too (allLevels)")
        lines.append(f"time zone: {self.zone.key} (APIO gives none)")
        return lines

    # -- reading ------------------------------------------------------------------------

    async def pull(self, *, lean: bool = False) -> list[PulledCalendar]:
        # Lean (the sync): periods whose JSON and schedule are unchanged since the
        # previous pull are not converted again (the source's LeanMemo).
        await self.creds.prepare()
        self._lean = lean
        if lean:
            self._memo.begin()
        reads: dict[tuple[str | None, Kind, str], _Read] = {}
        with payload_errors_of(self.name):
            for group in dict.fromkeys(self.settings.groups):
                await self._pull_group(group, reads)
        if lean:
            self._memo.end()
        return self._calendars(list(reads.values()))

    async def _pull_group(
        self, group: str, reads: dict[tuple[str | None, Kind, str], _Read]
    ) -> None:
        families = self.settings.families
        for kind in ("time", "holiday"):
            if kind not in families:
                continue
            for target in await self._list(group, kind, advanced=False):
                if (target.group, kind, target.name) not in reads:
                    reads[target.group, kind, target.name] = await self._read(target)
        if "advanced" in families:
            for target in await self._list(group, "time", advanced=True):
                if (target.group, "time", target.name) not in reads:
                    read = await self._read_advanced(target)
                    reads[target.group, "time", target.name] = read

    async def _list(self, group: str, kind: Kind, *, advanced: bool) -> list[_Target]:
        flags = {"allLevels": True} if self.settings.all_levels else {}
        path = f"{scope_path(self.tenant, group)}/{STORES[kind, advanced]}/"
        body = await self._get(path, flags)
        where = f'group "{group}" {STORES[kind, advanced]} list'
        items = body.get("schedules") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise PayloadError(f'apio: {where}: the answer has no list "schedules"')
        targets = []
        for item in items:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not name:
                raise PayloadError(f'apio: {where}: an entry has no "name"')
            level = item.get("level")
            parent = isinstance(level, str) and level.strip().lower() != "group"
            targets.append(_Target(None if parent else group, kind, name))
        return targets

    async def _get(self, path: str, flags: dict[str, bool]) -> Any:
        params = {key: "true" for key in flags}
        if not flags:
            return await self.api.get_json(path)
        return await self.api.call_json("GET", path, params=params, json=flags)

    def _ref(self, target: _Target, family: Family) -> dict[str, str]:
        return {
            "tenant": self.tenant,
            "group": target.group or "",
            "kind": target.kind,
            "family": family,
            "schedule": target.name,
            "tz": self.zone.key,
        }

    async def _read(self, target: _Target) -> _Read:
        family: Family = target.kind
        try:
            data = await self._get(schedule_path(self._ref(target, family)), {"full_list": True})
        except SourceError as exc:
            if not not_simple(exc):
                raise
            return await self._read_advanced(target)
        return await converted(partial(self._converted, target, family, data))

    async def _read_advanced(self, target: _Target) -> _Read:
        path = schedule_path(self._ref(target, "advanced"))
        data = await self._get(path, {"full_list": True})
        return await converted(partial(self._converted, target, "advanced", data))

    def _converted(self, target: _Target, family: Family, data: Any) -> _Read:
        where = target.label + (" (advanced)" if family == "advanced" else "")
        schedule = parse_schedule(data, family=family, where=where)
        owner, kind = target.owner, target.kind
        if not self._lean:
            events = to_vevents(schedule, family=family, tz=self.zone, owner=owner, kind=kind)
            return _Read(target, family, schedule, events)
        # Everything a period's conversion reads besides the period itself.
        context = (CONVERTER_VERSION, family, self.zone.key, owner, kind, schedule.name)
        convert = period_converter(schedule, family=family, tz=self.zone, owner=owner, kind=kind)
        events = self._memo.convert_items(
            (target, family), context, periods_in_order(schedule), _wire, convert
        )
        return _Read(target, family, schedule, events)

    def _calendars(self, reads: list[_Read]) -> list[PulledCalendar]:
        ordered = sorted(reads, key=lambda r: (r.target.key_path, r.target.group or ""))
        taken: set[str] = set()
        out: list[PulledCalendar] = []
        for r in ordered:
            t = r.target
            native = f"{t.group if t.group is not None else ''}\x00{t.kind}\x00{t.name}"
            key = unique_key(f"{self.name}/{t.key_path}", native, taken)
            words = ("advanced " if r.family == "advanced" else "") + _KIND_WORDS[t.kind]
            meta = CalendarMeta(
                key=key,
                name=f"{t.name} ({t.group if t.group is not None else self.tenant})",
                description=(
                    f'APIO {words} "{t.name}" of {t.owner}, tenant {self.tenant} '
                    f"(time zone {self.zone.key})"
                ),
                timezone=self.zone.key,
                refresh_seconds=self.settings.interval_seconds,
            )
            out.append(PulledCalendar(meta=meta, events=r.events, ref=self._ref(t, r.family)))
        return out


def _wire(period: Period) -> object:
    return period.to_wire()


__all__ = ["ApioSource"]

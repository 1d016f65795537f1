"""Writing APIO schedules: periods (add, change, rename, delete) and whole schedules.

``ref`` is the ``PulledCalendar.ref`` of a schedule: ``tenant``, ``group`` ("" for an
enterprise-level schedule), ``kind`` (time | holiday), ``family`` (the family it is
written through: time | holiday | advanced) and ``schedule`` (its name, the API's key).
Periods are keyed by name too, so a rename changes the key: the caller re-keys its state
with the new name.

Single changes use the per-period endpoints (POST the schedule, PUT/DELETE the period).
A rename, and any batch, goes through one schedule PUT whose ``periods`` entries carry
``newName`` or ``delete: true`` (seed 001). That PUT may answer 207 Multi-Status (some
changes applied, some not): the schedule is then read again and
:class:`PartialWriteError` names each change that did not take, and those that did.
Writes are never retried once they may have reached the server (see ``daemon.sources.http``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from icalendar import Event

from icsbridge.converters.apio.convert import (
    ApioSchedule,
    Period,
    from_vevent,
    parse_period,
    parse_schedule,
)
from icsbridge.converters.apio.wire import Family
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.daemon.sources.apio.auth import ApioApiClient, Credentials
from icsbridge.daemon.sources.base import payload_errors_of
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.writes import Action as WriteAction
from icsbridge.daemon.sources.writes import EventWriter, Payload, PlannedWrite

Action = Literal["add", "change", "rename", "delete"]


@dataclass(frozen=True)
class PeriodChange:
    """One change to a schedule's periods. ``period`` holds the fields to write (add,
    change, rename); ``new_name`` the name a rename gives."""

    action: Action
    name: str
    period: Period | None = None
    new_name: str | None = None

    @property
    def words(self) -> str:
        if self.action == "rename":
            return f'rename "{self.name}" to "{self.new_name}"'
        return f'{self.action} "{self.name}"'

    def entry(self) -> dict[str, Any]:
        """The entry of a schedule PUT's ``periods`` list."""
        if self.action == "delete":
            return {"name": self.name, "delete": True}
        if self.period is None:
            raise ValueError(f"{self.words}: the change has no period fields")
        body = {**self.period.to_wire(), "name": self.name}
        if self.action == "rename":
            body["newName"] = self.new_name
        return body


class PartialWriteError(SourceError):
    """A schedule PUT answered 207: ``failed`` and ``applied`` list the changes in words."""

    def __init__(self, message: str, *, applied: list[str], failed: list[str]) -> None:
        super().__init__(message, status=207)
        self.applied = applied
        self.failed = failed


Kind = Literal["time", "holiday"]
STORES: dict[tuple[Kind, bool], str] = {
    ("time", False): "time_schedules",
    ("holiday", False): "calendar_schedules",
    ("time", True): "advanced_time_schedules",
    ("holiday", True): "advanced_calendar_schedules",
}


def seg(text: str) -> str:
    """A name as one URL path segment."""
    return quote(text, safe="")


def scope_path(tenant: str, group: str | None) -> str:
    base = f"/tenants/{seg(tenant)}"
    return base if group is None else f"{base}/groups/{seg(group)}"


def store_path(ref: dict[str, str]) -> str:
    """The family path (``/tenants/t/groups/g/time_schedules/``) of a calendar ``ref``."""
    store = STORES[_kind(ref["kind"]), ref["family"] == "advanced"]
    return f"{scope_path(ref['tenant'], ref['group'] or None)}/{store}/"


def schedule_path(ref: dict[str, str]) -> str:
    return f"{store_path(ref)}{seg(ref['schedule'])}/"


def _kind(value: str) -> Kind:
    if value == "holiday":
        return "holiday"
    return "time"


class ApioWrites(EventWriter):
    """Schedule writes for :class:`daemon.sources.apio.source.ApioSource` (uses its ``api``)."""

    api: ApioApiClient
    creds: Credentials
    name: str

    # -- periods --------------------------------------------------------------------------

    async def add_period(self, ref: dict[str, str], period: Period) -> None:
        await self.creds.prepare()
        await self.api.call_json("POST", schedule_path(ref), json=period.to_wire())

    async def update_period(
        self, ref: dict[str, str], name: str, period: Period, *, new_name: str | None = None
    ) -> None:
        """Replace period ``name`` by ``period``'s fields; ``new_name`` renames it."""
        if new_name is not None and new_name != name:
            await self.apply_period_changes(ref, [PeriodChange("rename", name, period, new_name)])
            return
        await self.creds.prepare()
        body = {**period.to_wire(), "name": name}
        await self.api.call_json("PUT", _period_path(ref, name), json=body)

    async def delete_period(self, ref: dict[str, str], name: str) -> None:
        await self.creds.prepare()
        await self.api.request("DELETE", _period_path(ref, name))

    async def get_period(self, ref: dict[str, str], name: str) -> Period:
        await self.creds.prepare()
        data = await self.api.get_json(_period_path(ref, name))
        with payload_errors_of(self.name):
            return parse_period(data, family=_family(ref), where=_where(ref, name))

    async def apply_period_changes(
        self, ref: dict[str, str], changes: Sequence[PeriodChange]
    ) -> None:
        """Send ``changes`` in one schedule PUT; a 207 raises :class:`PartialWriteError`."""
        await self.creds.prepare()
        path = schedule_path(ref)
        body = {"name": ref["schedule"], "periods": [change.entry() for change in changes]}
        resp = await self.api.request("PUT", path, json=body)
        if resp.status_code != 207:
            return
        schedule = await self.read_schedule(ref)
        applied = [c.words for c in changes if _took_effect(c, schedule, _family(ref))]
        failed = [c.words for c in changes if c.words not in applied]
        message = (
            f'source "{self.name}": PUT {path}: 207 Multi-Status: {len(failed)} of '
            f"{len(changes)} period changes did not apply: {', '.join(failed) or 'none'}"
            f"; applied: {', '.join(applied) or 'none'}; fix them and write again"
        )
        raise PartialWriteError(message, applied=applied, failed=failed)

    async def read_schedule(self, ref: dict[str, str]) -> ApioSchedule:
        path = schedule_path(ref)
        data = await self.api.call_json(
            "GET", path, params={"full_list": "true"}, json={"full_list": True}
        )
        with payload_errors_of(self.name):
            return parse_schedule(data, family=_family(ref), where=_where(ref, None))

    # -- schedules ------------------------------------------------------------------------

    async def create_schedule(
        self,
        *,
        tenant: str,
        group: str | None,
        kind: Literal["time", "holiday"],
        name: str,
        periods: Sequence[Period] = (),
        advanced: bool = False,
    ) -> dict[str, str]:
        """Create schedule ``name``; returns the ref to write to it later."""
        await self.creds.prepare()
        ref = {
            "tenant": tenant,
            "group": group or "",
            "kind": kind,
            "family": "advanced" if advanced else kind,
            "schedule": name,
        }
        body: dict[str, Any] = {"name": name}
        if periods:
            body["periods"] = [p.to_wire() for p in periods]
        await self.api.call_json("POST", store_path(ref), json=body)
        return ref

    async def delete_schedule(self, ref: dict[str, str]) -> None:
        await self.creds.prepare()
        await self.api.request("DELETE", schedule_path(ref))

    # -- the push engine's interface (daemon.sources.writes) -------------------------------------

    def payload_for(self, ref: Mapping[str, str], vevent: Event) -> Payload:
        period = from_vevent(vevent, family=_family(dict(ref)), tz=ZoneInfo(ref["tz"]))
        return period.to_wire()

    def name_of(self, payload: Payload) -> str | None:
        return str(payload["name"])

    def held_name(self, event: ConvertedEvent) -> str | None:
        return event.native_key

    def with_name(self, payload: Payload, name: str) -> Payload:
        return {**payload, "name": name}

    def plan_write(
        self,
        ref: Mapping[str, str],
        action: WriteAction,
        uid: str,
        *,
        native_key: str | None,
        payload: Payload | None,
        base: Payload | None,
    ) -> PlannedWrite:
        target = dict(ref)
        if action == "create":
            method, path = "POST", schedule_path(target)
        elif action == "delete":
            assert native_key is not None
            method, path = "DELETE", _period_path(target, native_key)
        else:
            assert native_key is not None and payload is not None
            renamed = payload["name"] != native_key
            # A rename goes through the schedule PUT (newName); a change through the period.
            method = "PUT"
            path = schedule_path(target) if renamed else _period_path(target, native_key)
        return PlannedWrite(action, uid, native_key, payload, base, method, path)

    async def send_write(self, ref: Mapping[str, str], write: PlannedWrite) -> str | None:
        target = dict(ref)
        if write.action == "delete":
            assert write.native_key is not None
            try:
                await self.delete_period(target, write.native_key)
            except SourceError as exc:
                if exc.status != 404:
                    raise
            return None
        assert write.payload is not None
        name = str(write.payload["name"])
        with payload_errors_of(self.name):
            period = parse_period(write.payload, family=_family(target), where=_where(target, name))
        if write.action == "create":
            await self.add_period(target, period)
        else:
            assert write.native_key is not None
            await self.update_period(target, write.native_key, period, new_name=name)
        return name


def _family(ref: dict[str, str]) -> Family:
    family = ref["family"]
    if family == "advanced":
        return "advanced"
    return "holiday" if family == "holiday" else "time"


def _period_path(ref: dict[str, str], name: str) -> str:
    return f"{schedule_path(ref)}{seg(name)}/"


def _where(ref: dict[str, str], period: str | None) -> str:
    owner = f'group "{ref["group"]}"' if ref["group"] else "the enterprise"
    text = f'{owner} schedule "{ref["schedule"]}"'
    return text if period is None else f'{text} period "{period}"'


def _took_effect(change: PeriodChange, schedule: ApioSchedule, family: Family) -> bool:
    """Whether the schedule as read back shows ``change`` applied."""
    periods = {p.name: p for p in schedule.periods}
    if change.action == "delete":
        return change.name not in periods
    name = change.new_name if change.action == "rename" and change.new_name else change.name
    if change.action == "rename" and change.name in periods:
        return False
    found = periods.get(name)
    if found is None or change.period is None:
        return False
    expected = parse_period({**change.period.to_wire(), "name": name}, family=family, where="-")
    return found == expected

"""Deciding what a push changes: the diff of an upload against the state store and a
fresh pull, before anything is sent (see ``icsbridge.daemon.push.engine`` for the whole flow).

Like vdirsyncer's status sync, each item has a row remembering what was last published
(its content hash). For every event of the upload:

- a UID the calendar never published is a **create**, unless another calendar's item has
  it: that is refused (409), since UIDs are unique across the store and the event would
  otherwise be published under a made-up UID and re-created at every re-send;
- an event whose content hash still equals the row's is **unchanged** (whatever the
  client did to DTSTAMP, PRODID, VTIMEZONEs, property order or folding);
- otherwise it is converted to the API's write form; if that equals what the API holds
  now, there is nothing to send; if the API side changed since the last sync as well,
  it is a **conflict**; else an **update**;
- a published UID missing from a whole-calendar upload is a **delete** (a conflict if
  the API changed it meanwhile); a one-event DELETE deletes that UID.

Every event is converted before anything is decided, and the calendar as it will be
after the push is checked for what the API keys by name (``daemon.push.order``, which
also orders the calls), so one upload either applies whole or is refused whole with every
reason listed. What no plan can know is undone if refused part way (``daemon.push.undo``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from icalendar import Event

from icsbridge.config.errors import IcsbridgeError
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.assembly import prepare
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.ical.upload.alarms import own_alarms
from icsbridge.converters.ical.upload.identity import edit_hash
from icsbridge.converters.ical.upload.read import UploadedEvent
from icsbridge.daemon.push.order import NamesClash, order_writes
from icsbridge.daemon.sources.base import PulledCalendar
from icsbridge.daemon.sources.writes import EventWriter, Payload, PlannedWrite
from icsbridge.daemon.store.state import ItemRow
from icsbridge.daemon.sync.identity import reconcile

Scope = Literal["calendar", "event", "delete"]
Policy = Literal["reject", "remote-wins", "local-wins"]


class PushRefused(IcsbridgeError):
    """Nothing of the push is applied. ``status`` is the HTTP answer (the CLI maps it to
    an exit status); ``lines`` list every reason (one per UID)."""

    def __init__(self, status: int, message: str, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.lines = lines or []
        self.rendered: list[Any] = []  # a 502 after some calls landed: the calendars re-read


@dataclass(frozen=True)
class PushRequest:
    """One push: ``events`` by UID; ``scope`` says whether it is the whole calendar (a
    missing UID is a deletion), one event (``uid``), or the deletion of ``uid``.
    ``deletable``, when given, limits what a whole-calendar push may delete to those UIDs
    (a vdir uploads only the files that changed, and deletes only those removed)."""

    calendar: str
    events: Mapping[str, UploadedEvent]
    scope: Scope = "calendar"
    uid: str | None = None
    dry_run: bool = False
    deletable: frozenset[str] | None = None


@dataclass
class Plan:
    writes: list[PlannedWrite] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)  # UID -> edit hash (create, update)
    notes: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True)
class _Remote:
    event: ConvertedEvent
    content_hash: str


def plan_push(
    writer: EventWriter,
    source: str,
    cal: PulledCalendar,
    rows: list[ItemRow],
    request: PushRequest,
    *,
    policy: Policy,
    max_deletes: int,
    max_creates: int,
    target: str,
    calendar_of_uid: Callable[[str], str | None],
) -> Plan:
    """The writes ``request`` needs (see the module doc); raises :class:`PushRefused`.

    ``calendar_of_uid`` names the calendar whose item has a UID in the state store (None
    for a UID no item has)."""
    base = {r.uid: r for r in rows}
    remote = _remote_by_uid(source, cal, rows)
    plan = Plan()
    foreign: dict[str, str] = {}  # UID -> the calendar that has it
    unsupported: list[str] = []
    conflicts: list[str] = []
    creates_or_updates: list[tuple[str, Payload, ItemRow | None]] = []
    # The alarms apps add on their own are not edits (converters.ical.upload.alarms.own_alarms).
    components = own_alarms(
        {uid: uploaded.component for uid, uploaded in request.events.items()},
        {
            uid: r.event.component
            for uid, r in remote.items()
            if isinstance(r.event.component, Event)
        },
    )
    _note_dropped_alarms(writer, components, target, plan)

    for uid, uploaded in request.events.items():
        if uploaded.overridden:
            unsupported.append(
                f"{uid}: {target} cannot hold a changed single occurrence (RECURRENCE-ID); "
                "change the whole series instead"
            )
            continue
        row = base.get(uid)
        owner = calendar_of_uid(uid) if row is None else None
        if owner is not None:
            foreign[uid] = owner
            continue
        component = components[uid]
        local_hash = edit_hash(component)
        if row is not None and local_hash == row.content_hash:
            plan.unchanged += 1
            continue
        try:
            payload = writer.payload_for(cal.ref, component)
        except UnsupportedByTarget as exc:
            unsupported.append(f"{uid}: {exc.target} cannot hold: {'; '.join(exc.parts)}")
            continue
        plan.hashes[uid] = local_hash
        creates_or_updates.append((uid, payload, row))

    if foreign:
        owners = ", ".join(f'"{c}"' for c in sorted(set(foreign.values())))
        raise PushRefused(
            409,
            f"{len(foreign)} event(s) have a UID already used in calendar {owners}; nothing "
            "was applied (edit those events in their own calendar, or give them new UIDs)",
            [f'{uid}: already the UID of an event in calendar "{c}"' for uid, c in foreign.items()],
        )
    if unsupported:
        raise PushRefused(
            422,
            f"{len(unsupported)} event(s) cannot be written to {target}; nothing was applied",
            unsupported,
        )

    for uid, payload, row in creates_or_updates:
        now = remote.get(uid)
        held = writer.payload_of(cal.ref, now.event) if now is not None else None
        if held is not None and writer.same_payload(held, payload):
            plan.unchanged += 1  # the API already holds exactly this
            continue
        if row is None:
            plan.writes.append(_write(writer, cal, "create", uid, None, payload, None))
            continue
        remote_changed = now is None or now.content_hash != row.content_hash
        if remote_changed and policy != "local-wins":
            gone = "deleted" if now is None else "changed"
            if policy == "reject":
                conflicts.append(f"{uid}: {gone} in the API since the last sync, and edited here")
            else:
                plan.notes.append(f"{uid}: {gone} in the API since the last sync; kept the API's")
            continue
        if now is None:  # local-wins over a deletion in the API: create it again
            plan.writes.append(_write(writer, cal, "create", uid, None, payload, None))
        else:
            key = now.event.native_key
            plan.writes.append(_write(writer, cal, "update", uid, key, payload, held))

    deletes = _deleted_uids(request, base)
    for uid in deletes:
        row = base[uid]
        now = remote.get(uid)
        if now is None:
            continue  # already gone from the API
        if now.content_hash != row.content_hash and policy != "local-wins":
            if policy == "reject":
                conflicts.append(f"{uid}: changed in the API since the last sync, and deleted here")
            else:
                plan.notes.append(f"{uid}: changed in the API since the last sync; not deleted")
            continue
        held = writer.payload_of(cal.ref, now.event)
        key = now.event.native_key
        plan.writes.append(_write(writer, cal, "delete", uid, key, None, held))

    if conflicts:
        raise PushRefused(
            409,
            f"{len(conflicts)} event(s) changed on both sides since the last sync; nothing "
            "was applied (re-subscribe or re-sync to get the API's version, or set "
            'conflict = "local-wins" / "remote-wins" on the source)',
            conflicts,
        )
    # Names unique after the push and at every call of it (Webex and APIO key events by
    # name): checked on the end state, then the calls ordered (daemon.push.order).
    try:
        plan.writes = order_writes(
            writer,
            cal,
            plan.writes,
            uid_of_key={r.event.native_key: uid for uid, r in remote.items()},
            target=target,
        )
    except NamesClash as exc:
        raise PushRefused(422, exc.message, exc.lines) from None
    if request.scope == "calendar":
        _check_cap(plan, "delete", max_deletes)
        _check_cap(plan, "create", max_creates)
    return plan


def plan_line(write: PlannedWrite) -> str:
    """``METHOD path: what changes`` (the dry-run output, one line per API call)."""
    return f"{write.method} {write.path}: {describe(write)}"


def describe(write: PlannedWrite) -> str:
    name = _name_of(write.payload or write.base or {})
    if write.action == "create":
        return f"create {name} (UID {write.uid})"
    if write.action == "delete":
        return f"delete {name} (UID {write.uid})"
    before, after = write.base or {}, write.payload or {}
    changed = [
        f"{key} {_show(before.get(key))} -> {_show(after.get(key))}"
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]
    return f"update {_name_of(before)} (UID {write.uid}): {', '.join(changed) or 'rewrite'}"


def _note_dropped_alarms(
    writer: EventWriter, components: Mapping[str, Event], target: str, plan: Plan
) -> None:
    """One note per upload when the user's alarms have nowhere to go (Webex, APIO)."""
    if writer.holds_alarms:
        return
    count = sum(1 for c in components.values() if any(s.name == "VALARM" for s in c.subcomponents))
    if count:
        plan.notes.append(
            f"alarms (VALARM) of {count} event(s) are not written: {target} has no alarms "
            "(the calendar app keeps them)"
        )


def _check_cap(plan: Plan, action: Literal["create", "delete"], cap: int) -> None:
    """Refuse a whole-calendar push with more ``action`` writes than the source's
    ``max_deletes`` / ``max_creates``: an emptied or mistaken upload applies nothing."""
    uids = [w.uid for w in plan.writes if w.action == action]
    if len(uids) > cap:
        setting = f"max_{action}s"
        raise PushRefused(
            422,
            f"the upload would {action} {len(uids)} events, more than {setting} = {cap}; "
            f"nothing was applied (raise {setting} on the source if meant)",
            [f"{uid}: would be {action}d" for uid in uids],
        )


def _deleted_uids(request: PushRequest, base: Mapping[str, ItemRow]) -> list[str]:
    if request.scope == "delete":
        assert request.uid is not None
        if request.uid not in base:
            raise PushRefused(404, f'calendar "{request.calendar}" has no event "{request.uid}"')
        return [request.uid]
    if request.scope == "event":
        return []
    missing = (uid for uid in base if uid not in request.events)
    return sorted(u for u in missing if request.deletable is None or u in request.deletable)


def _remote_by_uid(source: str, cal: PulledCalendar, rows: list[ItemRow]) -> dict[str, _Remote]:
    """The freshly pulled events under the UIDs they will be published with (the same
    matching as a sync: key, then rename hint), without touching the store."""
    hashes = [(ev.prepared or prepare(ev.vevent())).content_hash for ev in cal.events]
    rec = reconcile(
        source, cal.meta.key, cal.events, hashes, rows, now=_EPOCH, uid_taken=lambda _uid: False
    )
    return {m.row.uid: _Remote(cal.events[m.index], hashes[m.index]) for m in rec.matched}


def _write(
    writer: EventWriter,
    cal: PulledCalendar,
    action: Literal["create", "update", "delete"],
    uid: str,
    key: str | None,
    payload: Payload | None,
    base: Payload | None,
) -> PlannedWrite:
    return writer.plan_write(cal.ref, action, uid, native_key=key, payload=payload, base=base)


def _name_of(payload: Mapping[str, object]) -> str:
    for key in ("name", "caption", "summary"):
        if isinstance(payload.get(key), str):
            return f'"{payload[key]}"'
    return "event"


def _show(value: object) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # stamps are not used here

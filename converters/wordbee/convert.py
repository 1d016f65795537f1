"""Wordbee person calendars -> RFC 5545 components (pure; the zone and window come in).

A person's window is read month by month (:func:`merge_months` joins the answers) and
becomes two calendars:

- the calendar: :func:`day_events` (non-worked and exceptionally worked days, one
  all-day TRANSPARENT event per run of consecutive days of the same kind) and the
  appointments (:mod:`icsbridge.converters.wordbee.appointments`);
- the work items: :func:`work_item_components`, project, job and order deadlines as
  VEVENTs, or as VTODOs with DUE.

Wordbee is read-only here: :func:`from_vevent` always refuses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NoReturn

from icalendar import Event, Todo
from icalendar.cal.component import Component
from icalendar.prop import vCategory, vDDDTypes, vText

from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.wordbee.appointments import PersonContext, appointment_events
from icsbridge.converters.wordbee.models import (
    CalendarView,
    WordbeeAppointment,
    WordbeeDay,
    WordbeeJob,
    WordbeeOrder,
    WordbeeProject,
    parse_view,
)

CONVERTER_VERSION = "wordbee-1"
"""Part of every memo key of converted Wordbee months: bump it when what the
converters here make of the same answers changes (a memo must never outlive them)."""

__all__ = [
    "CONVERTER_VERSION",
    "CalendarView",
    "MergedCalendar",
    "PersonContext",
    "ReadOnlyTarget",
    "appointment_events",
    "calendar_events",
    "day_events",
    "from_vevent",
    "merge_months",
    "parse_view",
    "work_item_components",
]

WorkItemMode = Literal["events", "todos"]
REGULAR = "Regular"
_ONE_DAY = timedelta(days=1)


# --- months -> one window ------------------------------------------------------------------


@dataclass
class MergedCalendar:
    """The months of a window as one calendar, each object once.

    An appointment that spans a month boundary is listed by both months: it is kept once
    (by ``appid``), as the later month told it. Work items (listed by every month) are
    kept once by id; a kind of work item is None only when every month said null (no
    access). ``zone_ids`` are the distinct zone ids the months named, in order.
    """

    zone_ids: list[str] = field(default_factory=list)
    days: list[WordbeeDay] = field(default_factory=list)
    appointments: list[WordbeeAppointment] = field(default_factory=list)
    projects: list[WordbeeProject] | None = None
    jobs: list[WordbeeJob] | None = None
    orders: list[WordbeeOrder] | None = None

    @property
    def zone_id(self) -> str | None:
        """The zone the person has now: the one the last month named."""
        return self.zone_ids[-1] if self.zone_ids else None


def merge_months(views: Sequence[CalendarView]) -> MergedCalendar:
    """Join month answers (in reading order) into one :class:`MergedCalendar`."""
    days: dict[object, WordbeeDay] = {}
    appointments: dict[int, WordbeeAppointment] = {}
    projects: dict[int, WordbeeProject] | None = None
    jobs: dict[int, WordbeeJob] | None = None
    orders: dict[int, WordbeeOrder] | None = None
    zone_ids: list[str] = []
    for view in views:
        if view.timezone and view.timezone not in zone_ids:
            zone_ids.append(view.timezone)
        days.update((day.date, day) for day in view.days)
        appointments.update((app.appid, app) for app in view.appointments)
        if view.projects is not None:
            projects = (projects or {}) | {p.pid: p for p in view.projects}
        if view.jobs is not None:
            jobs = (jobs or {}) | {j.jobid: j for j in view.jobs}
        if view.orders is not None:
            orders = (orders or {}) | {o.oid: o for o in view.orders}
    return MergedCalendar(
        zone_ids=zone_ids,
        days=sorted(days.values(), key=lambda d: d.date),
        appointments=sorted(appointments.values(), key=lambda a: a.appid),
        projects=None if projects is None else [projects[k] for k in sorted(projects)],
        jobs=None if jobs is None else [jobs[k] for k in sorted(jobs)],
        orders=None if orders is None else [orders[k] for k in sorted(orders)],
    )


def calendar_events(
    merged: MergedCalendar, ctx: PersonContext, window: tuple[datetime, datetime]
) -> list[ConvertedEvent]:
    """Everything of the person's calendar: day runs, then appointments."""
    return day_events(merged.days, ctx) + appointment_events(merged.appointments, ctx, window)


# --- days ------------------------------------------------------------------------------------


def day_events(days: Iterable[WordbeeDay], ctx: PersonContext) -> list[ConvertedEvent]:
    """One all-day event per run of consecutive days of the same kind.

    A day is left out when it is an ordinary working day (``work`` "Regular" and worked).
    Other days are non-worked (``worked`` false: weekends, holidays, days off) or
    exceptionally worked (``worked`` true on a day whose kind is not "Regular"). Their
    kind is (``work``, worked); the person's ``workp`` decides "worked" when given, the
    company's ``workc`` otherwise.
    """
    runs: list[list[WordbeeDay]] = []
    for day in sorted(days, key=lambda d: d.date):
        if day.work == REGULAR and day.worked:
            continue
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and last.date + _ONE_DAY == day.date
            and (last.work, last.worked) == (day.work, day.worked)
        ):
            runs[-1].append(day)
        else:
            runs.append([day])
    return [_day_run(run, ctx) for run in runs]


def _day_run(run: list[WordbeeDay], ctx: PersonContext) -> ConvertedEvent:
    first, last = run[0], run[-1]
    kind, worked = first.work, first.worked
    component = Event()
    component["DTSTART"] = vDDDTypes(first.date)
    component["DTEND"] = vDDDTypes(last.date + _ONE_DAY)
    if worked:
        summary = f"Working day ({kind})"
        words = f"exceptionally worked by {ctx.label}"
    else:
        summary = "Day off" if kind == REGULAR else kind
        words = f"not worked by {ctx.label}"
    component["SUMMARY"] = vText(summary)
    component["CATEGORIES"] = vCategory([kind, "Worked day" if worked else "Non-worked day"])
    component["TRANSP"] = vText("TRANSPARENT")
    company = "works" if all(day.workc for day in run) else "does not work"
    component["DESCRIPTION"] = vText(
        f"Wordbee: {kind} day(s) {words} (the company {company} on them)"
        if len({day.workc for day in run}) == 1
        else f"Wordbee: {kind} day(s) {words}"
    )
    component["X-WORDBEE-DAY-KIND"] = vText(kind)
    span = f"{first.date.isoformat()}/{last.date.isoformat()}"
    return ConvertedEvent(
        native_key=f"days:{first.date.isoformat()}:{'worked' if worked else 'off'}",
        component=component,
        rename_hint=_hash("days", span, str(worked)),
    )


# --- work items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """A project, job or order, in the words the components need."""

    noun: str  # "project", "job", "order"
    number: int
    label: str
    due: datetime | None
    start: datetime | None
    end: datetime | None
    status: str | None
    reference: str | None
    manager: str | None
    details: tuple[str, ...]
    todo_status: str | None
    fingerprint: str


def _items(merged: MergedCalendar) -> list[_Item]:
    items: list[_Item] = []
    for p in merged.projects or []:
        details = _lines(("Client", p.cname), ("Manager", p.mname))
        items.append(
            _Item("project", p.pid, p.ref or f"#{p.pid}", p.dline, p.dtstart, p.dtend,
                  _status(p.status), p.ref, p.mname, details, None,
                  p.fingerprint(without=("ref",)))
        )  # fmt: skip
    for j in merged.jobs or []:
        languages = f"{j.src} → {j.trg}" if j.src and j.trg else (j.src or j.trg)
        label = (j.reference or f"#{j.jobid}") + (f" ({languages})" if languages else "")
        details = _lines(("Project", j.pname), ("Languages", languages))
        status = j.status_text or _status(j.status)
        items.append(
            _Item("job", j.jobid, label, j.deadline, j.dtstart, j.dtend, status, j.reference,
                  None, details, _TODO_STATUS.get((j.status_text or "").casefold()),
                  j.fingerprint(without=("reference",)))
        )  # fmt: skip
    for o in merged.orders or []:
        details = _lines(("Client", o.cname), ("Submitted by", o.uname), ("Manager", o.mname))
        items.append(
            _Item("order", o.oid, o.ref or f"#{o.oid}", o.dline, o.dtstart, o.dtend,
                  _status(o.status), o.ref, o.mname, details, None,
                  o.fingerprint(without=("ref",)))
        )  # fmt: skip
    return items


_TODO_STATUS = {
    "not started": "NEEDS-ACTION",
    "in progress": "IN-PROCESS",
    "completed": "COMPLETED",
    "cancelled": "CANCELLED",
}


def _status(value: int | str | None) -> str | None:
    return None if value is None else str(value)


def _lines(*pairs: tuple[str, str | None]) -> tuple[str, ...]:
    return tuple(f"{name}: {value}" for name, value in pairs if value)


def work_item_components(
    merged: MergedCalendar, ctx: PersonContext, mode: WorkItemMode
) -> list[ConvertedEvent]:
    """Projects, jobs and orders as deadline events, or VTODOs when ``mode`` is "todos".

    events: an item with a deadline (``dline``/``deadline``) is a zero-length event at
    it; one without a deadline but with ``dtstart`` < ``dtend`` is an event over that
    range; an item with neither is left out (nothing to place). todos: a VTODO with DUE
    (the deadline, else ``dtend``) and DTSTART when it comes before DUE; items without
    a DUE are left out. Both carry the reference, status and manager (DESCRIPTION and
    X-WORDBEE-REFERENCE / -STATUS / -MANAGER) and are TRANSPARENT.

    VTODOs travel in :class:`ConvertedEvent` like events; feed assembly renders both.
    """
    out: list[ConvertedEvent] = []
    for item in _items(merged):
        component = _todo(item, ctx) if mode == "todos" else _deadline_event(item, ctx)
        if component is None:
            continue
        _describe(component, item, ctx)
        out.append(
            ConvertedEvent(
                native_key=f"{item.noun}:{item.number}",
                # ConvertedEvent.component is typed Event; a Todo is the same kind of
                # icalendar Component (see the docstring above).
                component=component,
                rename_hint=_hash(item.noun, mode, item.fingerprint),
            )
        )
    return out


def _deadline_event(item: _Item, ctx: PersonContext) -> Event | None:
    event = Event()
    noun = item.noun.capitalize()
    if item.due is not None:
        event["DTSTART"] = vDDDTypes(item.due.astimezone(ctx.zone))
        event["SUMMARY"] = vText(f"Deadline: {item.noun} {item.label}")
        event["CATEGORIES"] = vCategory([noun, "Deadline"])
    elif item.start is not None and item.end is not None and item.start < item.end:
        event["DTSTART"] = vDDDTypes(item.start.astimezone(ctx.zone))
        event["DTEND"] = vDDDTypes(item.end.astimezone(ctx.zone))
        event["SUMMARY"] = vText(f"{noun} {item.label}")
        event["CATEGORIES"] = vCategory([noun])
    else:
        return None
    event["TRANSP"] = vText("TRANSPARENT")
    return event


def _todo(item: _Item, ctx: PersonContext) -> Todo | None:
    due = item.due or item.end
    if due is None:
        return None
    todo = Todo()
    todo["DUE"] = vDDDTypes(due.astimezone(ctx.zone))
    if item.start is not None and item.start < due:
        todo["DTSTART"] = vDDDTypes(item.start.astimezone(ctx.zone))
    todo["SUMMARY"] = vText(f"{item.noun.capitalize()} {item.label}")
    todo["CATEGORIES"] = vCategory([item.noun.capitalize()])
    if item.todo_status is not None:
        todo["STATUS"] = vText(item.todo_status)
    return todo


def _describe(component: Component, item: _Item, ctx: PersonContext) -> None:
    zone = ctx.zone
    times = (
        ("Start", item.start),
        ("End", item.end),
        ("Deadline", item.due),
    )
    when = tuple(
        f"{name}: {value.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"
        for name, value in times
        if value is not None
    )
    head = f"Wordbee {item.noun} {item.number}"
    lines = (head, *_lines(("Reference", item.reference), ("Status", item.status)))
    component["DESCRIPTION"] = vText("\n".join((*lines, *item.details, *when)))
    for name, value in (
        ("X-WORDBEE-REFERENCE", item.reference),
        ("X-WORDBEE-STATUS", item.status),
        ("X-WORDBEE-MANAGER", item.manager),
    ):
        if value:
            component[name] = vText(value)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


# --- push: refused ---------------------------------------------------------------------------


class ReadOnlyTarget(UnsupportedByTarget):
    """Wordbee has no public endpoint that changes calendars: every edit is refused."""

    def __init__(self, uid: str | None = None) -> None:
        super().__init__("Wordbee", ["edits (Wordbee calendars are read-only)"], uid)
        where = f"event {uid}: " if uid else ""
        self.args = (
            f"{where}Wordbee does not accept edits: its calendars are read-only in icsbridge; "
            "make the change in Wordbee itself",
        )


def from_vevent(vevent: Component) -> NoReturn:
    """Always raises :class:`ReadOnlyTarget` (an :class:`UnsupportedByTarget`)."""
    uid = vevent.get("UID")
    raise ReadOnlyTarget(str(uid) if uid else None)

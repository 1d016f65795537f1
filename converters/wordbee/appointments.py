"""Wordbee appointments -> VEVENTs, recurring series included (pure).

Times: ``dtfrom``/``dtto`` are instants; they are written on the person's clock
(``DTSTART;TZID=<IANA zone>``) so a recurring series keeps its wall time across DST. A
span from local midnight to a later local midnight is an all-day appointment (that is
how the seed's example stores them: 22:00Z to 22:00Z in Paris summer time) and becomes
``VALUE=DATE`` with an exclusive end, never midnight-to-midnight date-times.

Series (assumed, the documentation says only "recurrence rule" and "parent appointment
ID"): the view lists each occurrence in the month as an appointment of its own, with
``rcparent`` naming the series' first appointment and ``rcule`` its rule; the parent
itself may carry ``rcparent`` null. A series becomes ONE VEVENT with an RRULE when

- ``rcule`` reads as an RFC 5545 rule (``FREQ=WEEKLY;BYDAY=TU``, "RRULE:" prefix allowed)
  built only of FREQ (daily..yearly), INTERVAL, BYDAY, BYMONTH, BYMONTHDAY, COUNT or
  UNTIL, WKST;
- every occurrence read has the same content and length, and the occurrences read are
  exactly the rule's instances that overlap the window read (a series listed by its
  parent alone is taken at its rule's word);
- and it has a start to hang the rule on: the parent, or (no COUNT) its first occurrence
  read.

Otherwise each occurrence is an event of its own, all of them carrying
``X-WORDBEE-SERIES`` (the parent id) and the raw rule in ``X-WORDBEE-RCULE``: the feed
then shows exactly what Wordbee listed, never a guess at the rule.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Alarm, Event
from icalendar.prop import vCalAddress, vDDDTypes, vRecur, vText

from icsbridge.converters.ical import rrule
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.ical.rrule import RuleParts
from icsbridge.converters.wordbee.models import WordbeeAppointment, reminder_before

_NAMESPACE = uuid.UUID("0b8f6f6e-5a2c-4c35-9a0e-6f1f5b8f0c42")
_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_MAX_INSTANCES = 50_000
_CONTENT = ("subject", "desc", "cid", "uid", "unm", "attendees", "reminder", "rcule")


@dataclass(frozen=True)
class PersonContext:
    """Whose calendar this is and how to write it.

    ``platform`` names the Wordbee platform and account (e.g. ``host/account``): the
    ``urn:uuid:`` addresses of people are derived from it, so person 3 of two platforms
    never share an address.
    """

    uid: int
    label: str
    zone: ZoneInfo
    platform: str


def person_address(ctx: PersonContext, kind: str, number: int) -> str:
    """A stable calendar-user address for a Wordbee person or company without an email.

    ``urn:uuid:`` (RFC 4122 URN) is what CalDAV servers use for principals that have no
    mailbox; ical.js and libical read it as any CAL-ADDRESS.
    """
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{ctx.platform}/{kind}/{number}')}"


def appointment_events(
    appointments: Iterable[WordbeeAppointment],
    ctx: PersonContext,
    window: tuple[datetime, datetime],
) -> list[ConvertedEvent]:
    """One VEVENT per single appointment and per series (see the module docstring).

    ``appointments`` must already be de-duplicated by ``appid``; ``window`` is the
    [start, end) instant range that was read (the months of the loop).
    """
    singles: list[WordbeeAppointment] = []
    series: dict[int, list[WordbeeAppointment]] = {}
    for app in sorted(appointments, key=lambda a: (a.dtfrom, a.appid)):
        sid = app.series_id
        if sid is None:
            singles.append(app)
        else:
            series.setdefault(sid, []).append(app)
    out = [_single(app, ctx) for app in singles]
    for sid, members in sorted(series.items()):
        master = _as_rule(sid, members, ctx, window)
        out.extend([master] if master is not None else [_single(m, ctx) for m in members])
    return out


# --- one appointment ---------------------------------------------------------------------


def _span(
    app: WordbeeAppointment, zone: ZoneInfo
) -> tuple[date | datetime, date | datetime | None]:
    start, end = app.dtfrom.astimezone(zone), app.dtto.astimezone(zone)
    if end > start and start.time() == time() and end.time() == time():
        return start.date(), end.date()
    return start, (end if end > start else None)  # zero-length: no DTEND


def _component(app: WordbeeAppointment, ctx: PersonContext) -> Event:
    component = Event()
    start, end = _span(app, ctx.zone)
    component["DTSTART"] = vDDDTypes(start)
    if end is not None:
        component["DTEND"] = vDDDTypes(end)
    summary = app.subject or "Appointment"
    component["SUMMARY"] = vText(summary)
    if app.desc and app.desc.strip():
        component["DESCRIPTION"] = vText(app.desc)
    attendees = _attendees(app, ctx)
    if attendees:
        component["ATTENDEE"] = attendees
        component["ORGANIZER"] = _organizer(app, ctx)
    before = reminder_before(app.reminder)
    if before is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -before)
        alarm.add("description", summary)
        component.add_component(alarm)
    elif app.reminder not in (None, ""):
        component["X-WORDBEE-REMINDER"] = vText(str(app.reminder))
    return component


def _single(app: WordbeeAppointment, ctx: PersonContext) -> ConvertedEvent:
    component = _component(app, ctx)
    component["X-WORDBEE-APPID"] = vText(str(app.appid))
    if app.series_id is not None:
        component["X-WORDBEE-SERIES"] = vText(str(app.series_id))
        if app.rule_text:
            component["X-WORDBEE-RCULE"] = vText(app.rule_text)
    return ConvertedEvent(
        native_key=f"appointment:{app.appid}",
        component=component,
        rename_hint=_hash(ctx.zone.key, app.fingerprint(without=("subject",))),
    )


def _address(address: str, name: str, cutype: str) -> vCalAddress:
    value = vCalAddress(address)
    value.params["CN"] = name
    value.params["CUTYPE"] = cutype
    return value


def _attendees(app: WordbeeAppointment, ctx: PersonContext) -> list[vCalAddress]:
    found: dict[str, vCalAddress] = {}
    for person in app.attendees:
        if person.email:
            address, cutype = f"mailto:{person.email}", "INDIVIDUAL"
            name = person.unm or person.email
        elif person.uid is not None:
            address, cutype = person_address(ctx, "person", person.uid), "INDIVIDUAL"
            name = person.unm or f"Wordbee person {person.uid}"
        elif person.cid is not None:
            address, cutype = person_address(ctx, "company", person.cid), "GROUP"
            name = person.cnm or f"Wordbee company {person.cid}"
        else:
            continue
        found.setdefault(address, _address(address, name, cutype))
    return [found[key] for key in sorted(found)]


def _organizer(app: WordbeeAppointment, ctx: PersonContext) -> vCalAddress:
    if app.uid is not None:
        name = app.unm or f"Wordbee person {app.uid}"
        return _address(person_address(ctx, "person", app.uid), name, "INDIVIDUAL")
    if app.cid is not None:  # a company-level appointment
        return _address(
            person_address(ctx, "company", app.cid), f"Wordbee company {app.cid}", "GROUP"
        )
    return _address(person_address(ctx, "person", ctx.uid), ctx.label, "INDIVIDUAL")


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


# --- series -------------------------------------------------------------------------------


def readable_rule(text: str) -> RuleParts | None:
    """``rcule`` as a rule this converter writes as an RRULE; None when it cannot."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    try:
        parts = rrule.read_rule(vRecur.from_ical(body))
    except (ValueError, TypeError, KeyError):
        return None
    if parts.unmodelled or parts.freq not in _FREQS or parts.interval < 1:
        return None
    if parts.count is not None and (parts.until is not None or parts.count < 1):
        return None
    return parts


def _as_rule(
    sid: int,
    members: Sequence[WordbeeAppointment],
    ctx: PersonContext,
    window: tuple[datetime, datetime],
) -> ConvertedEvent | None:
    """The series as one RRULE event, or None when it must stay single events."""
    texts = {m.rule_text for m in members if m.rule_text}
    parts = readable_rule(texts.pop()) if len(texts) == 1 else None
    if parts is None:
        return None
    first = members[0]
    if any(
        m.fingerprint(without=_ALL_BUT_CONTENT) != first.fingerprint(without=_ALL_BUT_CONTENT)
        for m in members
    ):
        return None  # an occurrence was changed on its own
    anchor = next((m for m in members if m.appid == sid), None)
    if anchor is None:
        if parts.count is not None:
            return None  # COUNT counts from a start we have not seen
        anchor = first  # members are sorted by start
    start, end = _span(anchor, ctx.zone)
    if any(_length(m, ctx.zone) != _length(anchor, ctx.zone) for m in members):
        return None
    parts = _with_until(parts, start, ctx.zone)
    if len(members) > 1 or anchor.appid != sid:
        instances = _instances(parts, start, end, ctx.zone, window)
        if instances is None or instances != {m.dtfrom for m in members}:
            return None
    elif not _selects_start(parts, start, ctx.zone):
        # ical.js and libical drop a DTSTART that its RRULE does not produce.
        return None
    component = _component(anchor, ctx)
    component["RRULE"] = parts.to_vrecur()
    component["X-WORDBEE-SERIES"] = vText(str(sid))
    component["X-WORDBEE-RCULE"] = vText(anchor.rule_text)
    hint = _hash(ctx.zone.key, anchor.fingerprint(without=("subject", "appid", "dtfrom", "dtto")))
    return ConvertedEvent(native_key=f"series:{sid}", component=component, rename_hint=hint)


_ALL_BUT_CONTENT = tuple(name for name in WordbeeAppointment.model_fields if name not in _CONTENT)


def _length(app: WordbeeAppointment, zone: ZoneInfo) -> timedelta:
    start, end = _span(app, zone)
    if end is None:
        return timedelta()
    if isinstance(start, datetime) and isinstance(end, datetime):
        return end - start
    return timedelta(days=(_as_date(end) - _as_date(start)).days)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _with_until(parts: RuleParts, start: date | datetime, zone: ZoneInfo) -> RuleParts:
    """UNTIL in DTSTART's form: a date for all-day, UTC for a zoned start (RFC 5545)."""
    until = parts.until
    if until is None:
        return parts
    if not isinstance(start, datetime):
        if isinstance(until, datetime):
            aware = until if until.tzinfo is not None else until.replace(tzinfo=zone)
            until = aware.astimezone(zone).date()
        return replace(parts, until=until)
    if not isinstance(until, datetime):
        until = datetime.combine(until, time(23, 59, 59))
    if until.tzinfo is None:
        until = until.replace(tzinfo=zone)
    return replace(parts, until=until.astimezone(UTC))


def _instances(
    parts: RuleParts,
    start: date | datetime,
    end: date | datetime | None,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
) -> set[datetime] | None:
    """Start instants of the rule's instances that overlap ``window``; None if too many."""
    wall = (
        start.replace(tzinfo=None)
        if isinstance(start, datetime)
        else datetime.combine(start, time())
    )
    until = parts.until
    if isinstance(until, datetime):  # dateutil wants UNTIL in DTSTART's (naive) frame
        until = until.astimezone(zone).replace(tzinfo=None)
    text = replace(parts, until=until).to_vrecur().to_ical().decode("ascii")  # type: ignore[no-untyped-call]
    expansion = rrulestr(text, dtstart=wall)
    low, high = window
    found: set[datetime] = set()
    for count, instance in enumerate(expansion):
        if count >= _MAX_INSTANCES:
            return None
        begin = instance.replace(tzinfo=zone).astimezone(UTC)
        if begin >= high:
            break
        finish = _instance_end(instance, start, end, zone)
        if finish > low or (finish == begin and begin >= low):
            found.add(begin)
    return found


def _selects_start(parts: RuleParts, start: date | datetime, zone: ZoneInfo) -> bool:
    """Whether the rule's first instance is ``start`` itself."""
    around = datetime.combine(start, time(), zone) if not isinstance(start, datetime) else start
    window = (around.astimezone(UTC), around.astimezone(UTC) + timedelta(seconds=1))
    found = _instances(parts, start, None, zone, window)
    return found is not None and around.astimezone(UTC) in found


def _instance_end(
    instance: datetime, start: date | datetime, end: date | datetime | None, zone: ZoneInfo
) -> datetime:
    if end is None:
        return instance.replace(tzinfo=zone).astimezone(UTC)
    if isinstance(start, datetime) and isinstance(end, datetime):
        return instance.replace(tzinfo=zone).astimezone(UTC) + (end - start)
    days = (_as_date(end) - _as_date(start)).days
    return datetime.combine(instance.date() + timedelta(days=days), time(), zone).astimezone(UTC)

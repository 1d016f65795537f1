"""B2CORE back-office calendar events: the wire JSON as pydantic models, and list pages.

A Calendar Event is ``{id, caption, description, startDate, endDate, notifications,
recipients}`` (fields the models do not know, like ``createdAt``, are ignored).

- ``startDate``/``endDate`` are ISO 8601 date-times WITH a UTC offset (``Z`` or
  ``+02:00``); one without an offset is refused (never guess a zone). Sub-second parts
  are dropped (iCalendar has none). They are kept as aware datetimes, so two values equal
  as instants are equal whatever offset spelled them.
- ``notifications`` are reminders before the start, as ISO 8601 durations (``"PT2H"``,
  ``"P1D"``, ``"P1W"``; years and months have no fixed length and are refused). The
  reference describes them as "the date and time of reminder notifications", so an
  absolute ISO 8601 date-time with an offset is accepted too.
- ``recipients`` are e-mail addresses of back-office users.
- ``description`` null and ``""`` both mean "none".

Notifications and recipients are sets to the API: they are kept sorted and without
duplicates, so the same event always compares (and converts) the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.text import duration_text
from icsbridge.converters.wire.base import Wire, one_line, problem, show, what_is_wrong

LIST_KEYS = ("data", "items")
"""Keys under which a wrapped list answer may hold its events (besides a bare list)."""
EDITABLE_FIELDS = ("caption", "description", "startDate", "endDate", "notifications", "recipients")

_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?"
)
_CALENDAR_DURATION = re.compile(r"P[0-9.,]*[YM]")  # years or months in the date part
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")

Reminder = timedelta | datetime
"""A notification: how long before the start, or (rarely) the instant itself."""


def parse_instant(value: object) -> datetime:
    """An ISO 8601 date-time with a UTC offset, as an aware datetime (whole seconds)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _DATE_TIME.fullmatch(value.strip()):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise problem(f"{show(value)} is not an ISO 8601 date-time") from None
    else:
        raise problem(f"{show(value)} is not an ISO 8601 date-time with a UTC offset")
    offset = parsed.utcoffset()
    if offset is None:
        raise problem(f"{show(value)} has no UTC offset (e.g. +00:00); its instant is unknown")
    # A fixed offset, whatever zone it came in: Python compares and subtracts two times of
    # one zone by their wall clocks, which is wrong across a DST change.
    return parsed.astimezone(timezone(offset)).replace(microsecond=0)


def instant_text(value: datetime) -> str:
    """The wire form: ``2025-03-01T10:00:00+01:00`` (UTC as ``+00:00``, as the API shows)."""
    return value.isoformat(timespec="seconds")


def parse_duration(text: str) -> timedelta:
    """``PT2H`` -> 2 hours. Raises ValueError in words for anything else."""
    match = _DURATION.fullmatch(text.strip().upper())
    if match is None or text.strip().upper() in ("P", "PT") or text.strip().endswith("T"):
        if _CALENDAR_DURATION.match(text.strip().upper()):
            raise ValueError(
                f"{show(text)} counts years or months, which have no fixed length "
                "(an iCalendar alarm needs weeks, days, hours, minutes or seconds)"
            )
        raise ValueError(f"{show(text)} is not an ISO 8601 duration (e.g. PT2H)")
    parts = {name: int(number) for name, number in match.groupdict().items() if number}
    return timedelta(**parts)


def _reminder(value: object) -> Reminder:
    if isinstance(value, (timedelta, datetime)):
        reminder: Reminder = value
    elif not isinstance(value, str):
        raise problem(f"{show(value)} is not an ISO 8601 duration (e.g. PT2H)")
    elif value.strip().startswith("-"):
        raise problem(f"{show(value)} is negative; a notification comes before the start")
    elif value.strip().upper().startswith("P"):
        try:
            reminder = parse_duration(value)
        except ValueError as exc:
            raise problem(str(exc)) from None
    else:
        reminder = parse_instant(value)
    if isinstance(reminder, timedelta) and reminder < timedelta(0):
        raise problem(f"{reminder} is negative; a notification comes before the start")
    if isinstance(reminder, datetime):
        return parse_instant(reminder)
    return timedelta(seconds=int(reminder.total_seconds()))


def reminder_text(value: Reminder) -> str:
    """The wire form of a notification: ``PT2H``, or a date-time for an absolute one."""
    if isinstance(value, datetime):
        return instant_text(value)
    return duration_text(int(value.total_seconds()))


def _reminder_order(value: Reminder) -> tuple[int, float]:
    if isinstance(value, datetime):
        return 1, value.timestamp()
    return 0, -value.total_seconds()  # the earliest reminder first


Instant = Annotated[
    datetime,
    PlainValidator(parse_instant),
    PlainSerializer(instant_text, return_type=str, when_used="json"),
]
Notification = Annotated[
    timedelta | datetime,
    PlainValidator(_reminder),
    PlainSerializer(reminder_text, return_type=str, when_used="json"),
]


def _event_id(value: object) -> str:
    # Ids are numbers in the reference's examples; strings are taken as they come.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise problem(f"{show(value)} is not an event id")
    text = str(value)
    if not text:
        raise problem("is empty")
    return text


class B2coreEvent(Wire):
    """One calendar event. ``id`` is None in a write payload (it goes in the path)."""

    id: Annotated[str, PlainValidator(_event_id)] | None = None
    caption: StrictStr
    description: StrictStr | None = None
    startDate: Instant
    endDate: Instant
    notifications: list[Notification] = Field(default_factory=list)
    recipients: list[StrictStr] = Field(default_factory=list)

    @field_validator("description", mode="after")
    @classmethod
    def _no_empty_description(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("notifications", "recipients", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return [] if value is None else value

    # Sets to the API: one canonical order, no duplicates.
    @field_validator("notifications", mode="after")
    @classmethod
    def _canonical_notifications(cls, value: list[Reminder]) -> list[Reminder]:
        unique = {_reminder_order(item): item for item in value}
        return [unique[key] for key in sorted(unique)]

    @field_validator("recipients", mode="after")
    @classmethod
    def _canonical_recipients(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _coherent(self) -> B2coreEvent:
        if self.endDate.astimezone(UTC) < self.startDate.astimezone(UTC):
            raise problem(
                f"endDate {instant_text(self.endDate)} is before startDate "
                f"{instant_text(self.startDate)}"
            )
        return self

    @property
    def duration(self) -> timedelta:
        return self.endDate.astimezone(UTC) - self.startDate.astimezone(UTC)

    def to_wire(self) -> dict[str, Any]:
        """The write body: every editable field (description ``""`` when none), no id."""
        body = self.model_dump(mode="json", include=set(EDITABLE_FIELDS))
        body["description"] = self.description or ""
        return {name: body[name] for name in EDITABLE_FIELDS}

    def changed_fields(self, before: B2coreEvent) -> dict[str, Any]:
        """The wire fields of ``self`` that differ from ``before`` (a PATCH body).

        Times compare as instants: an offset spelled differently is no change.
        """
        mine = self.to_wire()
        changed = [name for name in EDITABLE_FIELDS if getattr(self, name) != getattr(before, name)]
        return {name: mine[name] for name in changed}


def parse_event(data: object, *, where: str) -> B2coreEvent:
    """Validate one decoded event; any problem is a one-line :class:`PayloadError`.

    ``where`` names the object for the user (e.g. ``event list``). An answer must carry
    the event's id.
    """
    if not isinstance(data, dict):
        raise PayloadError(f"b2core: {where}: expected a JSON object, got {show(data)}")
    label = _label(data, where)
    try:
        event = B2coreEvent.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(_one_line(exc.errors()[0], label)) from exc
    if event.id is None:
        raise PayloadError(f'{label}: field "id": missing')
    return event


def unwrap_object(body: object) -> object:
    """An object answer, unwrapped from ``{"data": {...}}`` when the API wraps it."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict) and "id" not in body:
        return body["data"]
    return body


def page_items(body: object, *, where: str) -> tuple[list[object], int | None]:
    """The events of one list answer and the total count when the answer gives one.

    Accepted shapes: a bare JSON array, or an object holding the array under ``data`` or
    ``items`` with an optional integer ``total`` (top level or in ``meta``).
    """
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        for key in LIST_KEYS:
            items = body.get(key)
            if isinstance(items, list):
                return items, _total(body)
    raise PayloadError(
        f"b2core: {where}: expected a JSON array of events (or an object with "
        f'"data" or "items"), got {show(body)}; check base_url points at the B2CORE host'
    )


def _total(body: dict[str, Any]) -> int | None:
    meta = body.get("meta")
    for value in (body.get("total"), meta.get("total") if isinstance(meta, dict) else None):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _label(data: dict[Any, Any], where: str) -> str:
    event_id = data.get("id")
    caption = data.get("caption")
    if isinstance(event_id, (int, str)) and not isinstance(event_id, bool) and event_id != "":
        name = f" {show(caption)}" if isinstance(caption, str) and caption else ""
        return f"b2core: {where}: event {event_id}{name}"
    return f"b2core: {where}: event"


def _one_line(error: ErrorDetails, label: str) -> str:
    loc = [str(part) if isinstance(part, str) else f"item {part + 1}" for part in error["loc"]]
    pieces = [label]
    if loc:
        field, items = loc[0], " ".join(loc[1:])
        pieces.append(f'field "{field}"' + (f" {items}" if items else ""))
    pieces.append(what_is_wrong(error))
    return one_line(pieces)

"""Wordbee ``persons/{uid}/calendar/view`` answers: pydantic models and ``parse_view``.

The models ignore fields they do not know and check the ones they use: ids are JSON
integers, booleans are JSON booleans, timestamps are ISO 8601 date-times. A timestamp
without a zone suffix is UTC (Wordbee's documentation says so for ``dtfrom``/``dtto``;
for work items it is assumed). Sub-second digits are dropped: iCalendar has none.

Shapes not in the documentation are assumed, and said so here:

- ``reminder`` is free text; :func:`reminder_before` reads minutes ("15"), a .NET
  TimeSpan ("00:15:00", "1.00:00:00") or an ISO 8601 duration ("PT15M").
- an attendee may carry ``email`` (never seen; used for a mailto address when present).
- a job's languages come as ``src``/``trg`` and/or ``srct``/``trgt`` (the documentation
  prints ``"src/srct"``, which is read too).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.wire.base import (
    PLAIN_WORDS,
    Wire,
    field_words,
    one_line,
    problem,
    show,
    what_is_wrong,
)

_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_TIMESPAN = re.compile(r"(-)?(?:([0-9]+)\.)?([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_ISO_DURATION = re.compile(
    r"(-)?P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?"
)


def _utc(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    elif isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise problem(f"{show(value)} is not a date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        raise problem(f"{show(value)} is not a date-time (e.g. 2017-07-06T22:00:00Z)")
    return moment.astimezone(UTC).replace(microsecond=0)


def _blank_is_none(value: object) -> object:
    """Wordbee writes an unknown name as " " (first + last name, both empty)."""
    return None if isinstance(value, str) and not value.strip() else value


def _utc_text(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


UtcDateTime = Annotated[
    datetime,
    PlainValidator(_utc),
    PlainSerializer(_utc_text, return_type=str, when_used="json"),
]
Name = Annotated[StrictStr | None, BeforeValidator(_blank_is_none)]
Status = StrictInt | StrictStr | None


def _list_or_empty(value: object) -> object:
    return [] if value is None else value


class _Wire(Wire):
    def fingerprint(self, *, without: tuple[str, ...] = ()) -> str:
        """Canonical JSON of the fields (for rename hints), some left out."""
        data = self.model_dump(mode="json", exclude=set(without))
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class WordbeeDay(_Wire):
    """One day of the view. ``work`` names its kind ("Regular", "Weekend"...)."""

    year: StrictInt
    month: StrictInt
    day: StrictInt
    work: StrictStr
    workc: StrictBool
    workp: StrictBool | None = None

    @model_validator(mode="after")
    def _real_date(self) -> WordbeeDay:
        try:
            date(self.year, self.month, self.day)
        except ValueError:
            raise problem(f"{self.year}-{self.month}-{self.day} is not a date") from None
        return self

    @property
    def date(self) -> date:
        return date(self.year, self.month, self.day)

    @property
    def worked(self) -> bool:
        """Worked by the person when Wordbee says (``workp``), else by the company."""
        return self.workc if self.workp is None else self.workp


class WordbeeAttendee(_Wire):
    cid: StrictInt | None = None
    uid: StrictInt | None = None
    cnm: Name = None
    unm: Name = None
    email: Name = None


class WordbeeAppointment(_Wire):
    """One appointment; ``dtfrom``/``dtto`` are instants (UTC on the wire)."""

    appid: StrictInt
    dtfrom: UtcDateTime
    dtto: UtcDateTime
    subject: Name = None
    desc: StrictStr | None = None
    cid: StrictInt | None = None
    uid: StrictInt | None = None
    unm: Name = None
    attendees: Annotated[list[WordbeeAttendee], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
    reminder: StrictStr | StrictInt | float | None = None
    rcule: StrictStr | None = None
    rcparent: StrictInt | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> WordbeeAppointment:
        if self.dtto < self.dtfrom:
            raise problem(f"dtto {self.dtto:%Y-%m-%dT%H:%M:%SZ} is before dtfrom")
        return self

    @property
    def rule_text(self) -> str:
        return (self.rcule or "").strip()

    @property
    def series_id(self) -> int | None:
        """The parent appointment of its series; None for a single appointment."""
        if self.rcparent is not None:
            return self.rcparent
        return self.appid if self.rule_text else None


class _WorkItem(_Wire):
    dtstart: UtcDateTime | None = None
    dtend: UtcDateTime | None = None
    status: Status = None

    @property
    def due(self) -> datetime | None:
        raise NotImplementedError


class WordbeeProject(_WorkItem):
    pid: StrictInt
    ref: Name = None
    dline: UtcDateTime | None = None
    mname: Name = None
    cname: Name = None

    @property
    def due(self) -> datetime | None:
        return self.dline


class WordbeeOrder(_WorkItem):
    oid: StrictInt
    ref: Name = None
    dline: UtcDateTime | None = None
    uname: Name = None
    mname: Name = None
    cname: Name = None

    @property
    def due(self) -> datetime | None:
        return self.dline


class WordbeeJob(_WorkItem):
    jobid: StrictInt
    reference: Name = None
    pname: Name = None
    statust: Name = None
    deadline: UtcDateTime | None = None
    src: Name = None
    trg: Name = None

    @model_validator(mode="before")
    @classmethod
    def _languages(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for short, long in (("src", "srct"), ("trg", "trgt")):
            for key in (short, long, f"{short}/{long}"):
                if isinstance(data.get(key), str) and data[key].strip():
                    out[short] = data[key]
                    break
            else:
                out.pop(short, None)
        return out

    @property
    def due(self) -> datetime | None:
        return self.deadline

    @property
    def status_text(self) -> str | None:
        """``statust`` without Wordbee's display markers ("◀In progress▶")."""
        if self.statust is None:
            return None
        return self.statust.strip().strip("◀▶").strip() or None


class CalendarView(_Wire):
    """One month (or day) of a person's calendar. ``offset`` is valid for today only."""

    timezone: StrictStr | None = None
    offset: float | None = None
    days: Annotated[list[WordbeeDay], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    appointments: Annotated[list[WordbeeAppointment], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
    projects: list[WordbeeProject] | None = None
    jobs: list[WordbeeJob] | None = None
    orders: list[WordbeeOrder] | None = None


def parse_view(data: object, *, where: str) -> CalendarView:
    """Validate a decoded calendar view. Any problem -> one-line :class:`PayloadError`.

    ``where`` names the call for the user, e.g. ``person 635, 2017-07``.
    """
    if not isinstance(data, dict):
        raise PayloadError(f"wordbee: {where}: expected a JSON object, got {show(data)}")
    try:
        return CalendarView.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(_one_line(exc.errors()[0], data, where)) from exc


_LABELS = {
    "days": ("day", None),
    "appointments": ("appointment", "appid"),
    "projects": ("project", "pid"),
    "jobs": ("job", "jobid"),
    "orders": ("order", "oid"),
}
_UNION_TAGS = frozenset({"str", "int", "float", "bool"})
_PLAIN_WORDS = {**PLAIN_WORDS, "float_type": "is not a number"}


def _one_line(error: ErrorDetails, data: dict[str, Any], where: str) -> str:
    loc = list(error["loc"])
    pieces = [f"wordbee: {where}"]
    if len(loc) >= 2 and loc[0] in _LABELS and isinstance(loc[1], int):
        noun, id_key = _LABELS[str(loc[0])]
        items = data.get(str(loc[0]))
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        ident = item.get(id_key) if id_key and isinstance(item, dict) else None
        pieces.append(f"{noun} #{loc[1] + 1}" + (f" ({id_key} {show(ident)})" if ident else ""))
        loc = loc[2:]
    # Union members add their type names to the location; they mean nothing to a user.
    kept = [part for part in loc if part not in _UNION_TAGS]
    if kept:
        pieces.append(field_words(kept))
    if len(kept) < len(loc):
        pieces.append(f"{show(error['input'])} is not a number or a text")
    else:
        pieces.append(what_is_wrong(error, _PLAIN_WORDS))
    return one_line(pieces)


def reminder_before(value: str | int | float | None) -> timedelta | None:
    """How long before the start a reminder fires; None when there is none or it is
    unreadable (the caller keeps the raw text). Numbers are minutes."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return timedelta(minutes=value) if value >= 0 else None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return timedelta(minutes=int(text))
    span = _TIMESPAN.fullmatch(text)
    if span is not None:
        sign, days, hours, minutes, seconds = span.groups()
        if sign or int(hours) > 23:
            return None
        return timedelta(
            days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0)
        )
    iso = _ISO_DURATION.fullmatch(text.upper())
    if iso is not None and text.upper() not in ("P", "PT", "-P", "-PT"):
        _sign, weeks, days, hours, minutes, seconds = iso.groups()
        size = timedelta(
            weeks=int(weeks or 0),
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=int(seconds or 0),
        )
        # "-PT15M" is how iCalendar writes "15 minutes before"; both mean before here.
        return size
    return None

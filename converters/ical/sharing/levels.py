"""Detail levels: one rendered event as a feed at a lower level shows it.

Works on the event's rendered lines (no component is built), so it costs little more
than a copy, and the same event at the same level always gives the same bytes:

- ``full``: every line, but ATTENDEE and ORGANIZER only with ``attendees``;
- ``limited``: SUMMARY, the times (DTSTART, DTEND, DURATION, DUE), the recurrence (RRULE,
  RDATE, EXDATE, RECURRENCE-ID), LOCATION, CATEGORIES, TRANSP and STATUS (so a free or
  cancelled event is not shown busy); no DESCRIPTION, attendees, organizer, alarms, X-
  properties;
- ``availability``: the times and recurrence, TRANSP and STATUS, with a fixed SUMMARY.

Below ``full`` the UID changes too (:func:`shared_uid`): a person holding both links must
not get one event merged with, or duplicated by, its lesser copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from icsbridge.converters.ical.assembly import RenderedEvent
from icsbridge.converters.ical.text import escape_text, fold

__all__ = ["Level", "share_event", "shared_uid"]

_IDENTITY = ("UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE")
_TIMES = frozenset(
    {"DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
)
_AVAILABILITY = _TIMES | {"TRANSP", "STATUS"}
_LIMITED = _AVAILABILITY | {"SUMMARY", "LOCATION", "CATEGORIES"}
_PEOPLE = frozenset({"ATTENDEE", "ORGANIZER"})
_NAMESPACE = uuid.UUID("5b0f3c1e-4a51-4f4e-9d38-2a8f0c9e6b71")
_OPEN_CATEGORIES = ("Business hours", "Time schedule")
"""An event whose first category is one of these is opening hours: "Open", not "Busy"."""


@dataclass(frozen=True, slots=True)
class Level:
    """What a feed shows of each event (see the module docstring)."""

    details: str = "full"
    attendees: bool = False
    summary: str | None = None
    """The fixed SUMMARY at ``availability``; None: "Open" for opening hours, else "Busy"."""

    @property
    def whole(self) -> bool:
        """True when events are published exactly as rendered."""
        return self.details == "full" and self.attendees


def shared_uid(uid: str, details: str) -> str:
    """The UID of ``uid``'s event at ``details``: itself at ``full``, else a UUID derived
    from both (the same every time, never equal across levels)."""
    if details == "full":
        return uid
    return f"{uuid.uuid5(_NAMESPACE, f'{details}:{uid}')}@icsbridge"


def share_event(event: RenderedEvent, level: Level) -> RenderedEvent:
    """``event`` as a feed at ``level`` publishes it (``event`` itself when whole)."""
    if level.whole:
        return event
    lines = event.lines
    uid = shared_uid(event.uid, level.details)
    head = [lines[0]]
    tail: list[str] = []
    nested = 0
    block: list[str] = []
    fixed = f"SUMMARY:{escape_text(level.summary or _default_summary(lines))}"
    for line in lines[1:-1]:
        name = _name(line)
        if line.startswith("BEGIN:"):
            nested += 1
        if nested:
            block.append(line)
            if line.startswith("END:"):
                nested -= 1
                if not nested and level.details == "full":
                    # An e-mail alarm names its recipients: without attendees it goes.
                    people = any(_name(part) in _PEOPLE for part in block)
                    tail.extend(block if level.attendees or not people else [])
                block = [] if not nested else block
            continue
        if name in _IDENTITY:
            head.append(f"UID:{escape_text(uid)}" if name == "UID" else line)
        elif _kept(name, level):
            tail.append(line)
        elif name == "SUMMARY" and level.details == "availability":
            tail.append(fixed)  # in the place of the real one
    if level.details == "availability" and fixed not in tail:
        tail.insert(_summary_place(tail), fixed)
    tail.append(lines[-1])
    return RenderedEvent(
        uid=uid,
        recurrence_key=event.recurrence_key,
        zones=event.zones,
        head=b"".join(fold(line) for line in head),
        tail=b"".join(fold(line) for line in tail),
    )


def _name(line: str) -> str:
    """The property name of a content line (names hold neither ";" nor ":")."""
    cut = min((i for i in (line.find(";"), line.find(":")) if i != -1), default=len(line))
    return line[:cut].upper()


def _kept(name: str, level: Level) -> bool:
    if level.details == "full":
        return level.attendees or name not in _PEOPLE
    if level.details == "limited":
        return name in _LIMITED
    return name in _AVAILABILITY


def _default_summary(lines: tuple[str, ...]) -> str:
    for line in lines:
        if _name(line) == "CATEGORIES":
            first = line.partition(":")[2].split(",")[0].replace("\\", "")
            return "Open" if first in _OPEN_CATEGORIES else "Busy"
    return "Busy"


def _summary_place(tail: list[str]) -> int:
    """Where SUMMARY goes in the canonical order: after the times and recurrence."""
    for index, line in enumerate(tail):
        if _name(line) not in _TIMES:
            return index
    return len(tail)

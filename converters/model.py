"""What every converter hands to the daemon, whatever the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from icalendar import Event, Todo


@dataclass
class ConvertedEvent:
    """One business object as an iCalendar VEVENT (or VTODO), before identity is attached.

    ``component`` carries everything but UID, DTSTAMP, LAST-MODIFIED and SEQUENCE:
    those come from the state store (see ``converters.calendar.finalize_event``).

    ``native_key`` is the API's own key for the object (it may change on rename).
    ``rename_hint`` is a string equal for two versions of the object that differ only
    by name (and so by key), letting the sync keep the UID across a rename made
    outside icsbridge. Converters build it from every field but the name.
    """

    native_key: str
    component: Event | Todo  # VTODO for work items published as to-dos (Wordbee)
    rename_hint: str


@dataclass
class CalendarMeta:
    """Calendar-level facts: what the calendar is called and how often it refreshes."""

    key: str  # "<source>/<path>", unique across the whole config, used in file names
    name: str  # NAME / X-WR-CALNAME
    description: str = ""
    timezone: str | None = None  # X-WR-TIMEZONE
    refresh_seconds: int = 900  # REFRESH-INTERVAL / X-PUBLISHED-TTL
    categories: list[str] = field(default_factory=list)

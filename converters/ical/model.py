"""What every converter hands to the daemon, whatever the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from icalendar import Event, Todo


@dataclass(slots=True)
class ConvertedEvent:
    """One business object as an iCalendar VEVENT (or VTODO), before identity is attached.

    ``component`` carries everything but UID, DTSTAMP, LAST-MODIFIED and SEQUENCE:
    those come from the state store (see ``icsbridge.converters.ical.assembly.finalize_event``).

    ``native_key`` is the API's own key for the object (it may change on rename).
    ``rename_hint`` is a string equal for two versions of the object that differ only
    by name (and so by key), letting the sync keep the UID across a rename made
    outside icsbridge. Converters build it from every field but the name.

    A *lean* event (``icsbridge.converters.ical.assembly.lean_event``) has ``prepared`` instead of a
    component: what the daemon keeps between syncs, bytes rather than objects. Only the
    sync takes lean events; whatever writes back asks for :meth:`vevent`.
    """

    native_key: str
    component: Event | Todo | None  # VTODO for work items published as to-dos (Wordbee)
    rename_hint: str
    prepared: PreparedEvent | None = None

    def vevent(self) -> Event | Todo:
        """The component; raises LookupError for a lean event (a bug in the caller)."""
        if self.component is None:
            raise LookupError(f"event {self.native_key!r} is lean: pull(lean=False) for components")
        return self.component


@dataclass
class CalendarMeta:
    """Calendar-level facts: what the calendar is called and how often it refreshes."""

    key: str  # "<source>/<path>", unique across the whole config, used in file names
    name: str  # NAME / X-WR-CALNAME
    description: str = ""
    timezone: str | None = None  # X-WR-TIMEZONE
    refresh_seconds: int = 900  # REFRESH-INTERVAL / X-PUBLISHED-TTL
    categories: list[str] = field(default_factory=list)


Zones = tuple[tuple[str, date, date], ...]  # TZIDs used, with first and last local date


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An event normalised and rendered once, before its identity is known.

    Only bytes and keys are kept, never the component: the daemon holds one per event
    between syncs. ``begin`` is the folded BEGIN line and ``tail`` every line after it
    (the canonical lines without UID/DTSTAMP/LAST-MODIFIED/SEQUENCE), folded, so that
    :func:`stamp_prepared` splices the identity lines in between without rendering.
    ``content_hash`` is the hash of the unfolded lines (equal to :func:`content_hash`
    of the component).
    """

    content_hash: str
    recurrence_key: str
    zones: Zones
    begin: bytes
    tail: bytes

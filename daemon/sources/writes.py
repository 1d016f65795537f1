"""What a writable source offers the push engine (``daemon.push.engine``): plan a write, send it.

The engine is source-agnostic. It decides *what* changes (create, update, delete of one
event of one calendar); a source decides *how* its API does it. Planning is pure (the
kind's ``converters.<api>.from_vevent`` and a path), so every event of an upload can be
checked before anything is sent; sending is one API call per :class:`PlannedWrite`.

A planned write is plain data (JSON-able): the engine journals it in the state store
before sending it, and after a crash rebuilds it from the journal to finish the job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from icalendar import Event

from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.model import ConvertedEvent

Action = Literal["create", "update", "delete"]
Payload = dict[str, Any]


@dataclass(frozen=True)
class PlannedWrite:
    """One API call a push will make.

    ``native_key`` is the object's key in the API now (update, delete; None for create).
    ``payload`` is the object the API should hold afterwards, in the source's write form
    (create, update; None for delete); ``base`` is the object as last read (update,
    delete), so a source can send only what changed and the plan can say what changes.
    ``method`` and ``path`` are the call, for the plan line.
    ``follows``: the event's key is the one the previous call for this UID answered (the
    second half of a rename through a temporary name, ``daemon.push.order``); the sender
    plans the call again under that key (Webex makes a new id from the name).
    """

    action: Action
    uid: str
    native_key: str | None
    payload: Payload | None
    base: Payload | None
    method: str
    path: str
    follows: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedWrite:
        # ``follows`` came later: journals written before it lack the field.
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


class EventWriter(ABC):
    """Mixin of a source kind that can write events back (Webex, APIO, B2CORE).

    ``ref`` is the calendar's ``PulledCalendar.ref`` from the latest pull.
    ``holds_alarms`` says whether the API keeps an event's alarms (VALARM): where it does
    not, the push plan says so in a note instead of dropping them silently.
    """

    holds_alarms: ClassVar[bool] = False

    @abstractmethod
    def payload_for(self, ref: Mapping[str, str], vevent: Event) -> Payload:
        """The write form of ``vevent`` for this calendar, through the kind's
        ``from_vevent``; raises :class:`UnsupportedByTarget` naming every part the API
        cannot hold. Pure."""

    def payload_of(self, ref: Mapping[str, str], event: ConvertedEvent) -> Payload | None:
        """A pulled event in the same write form, so what the API holds can be compared
        with what a push wants (None when the pulled event has no write form)."""
        component = event.vevent()
        if not isinstance(component, Event):
            return None
        try:
            return self.payload_for(ref, component)
        except UnsupportedByTarget:
            return None

    def same_payload(self, a: Payload, b: Payload) -> bool:
        """Whether two write forms describe the same object (a kind whose payloads can
        spell one value two ways, like an instant in two offsets, compares values)."""
        return a == b

    def name_of(self, payload: Payload) -> str | None:
        """The name that keys the event within its calendar when the API keys events by
        name (Webex, APIO: unique within a schedule, so the push plan checks the schedule
        after the whole push and orders the calls to keep it so); None when the API keys
        events by id and names may repeat (B2CORE)."""
        return None

    def held_name(self, event: ConvertedEvent) -> str | None:
        """The name a pulled event holds in the API now (see :meth:`name_of`)."""
        return None

    def with_name(self, payload: Payload, name: str) -> Payload:
        """``payload`` under another name: a temporary one, for swaps and cycles of renames
        (only asked of a kind whose :meth:`name_of` gives names)."""
        raise NotImplementedError(f"{type(self).__name__} does not key events by name")

    @abstractmethod
    def plan_write(
        self,
        ref: Mapping[str, str],
        action: Action,
        uid: str,
        *,
        native_key: str | None,
        payload: Payload | None,
        base: Payload | None,
    ) -> PlannedWrite:
        """The call that makes the change (pure: chooses method and path)."""

    @abstractmethod
    async def send_write(self, ref: Mapping[str, str], write: PlannedWrite) -> str | None:
        """Make the call. Returns the object's native key afterwards (a rename may change
        it; None after a delete). Raises ``daemon.sources.http.SourceError`` on refusal. Never
        retried once it may have reached the server."""


def is_writer(source: object) -> bool:
    return isinstance(source, EventWriter)

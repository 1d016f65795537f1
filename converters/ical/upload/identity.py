"""The content hash that tells an edit from what a client adds or rewrites on its own
(DTSTAMP, PRODID, VTIMEZONE, property order, line folding, its own X- properties): none
of those change the hash, so none is an edit."""

from __future__ import annotations

from icalendar import Component, Event

from icsbridge.converters.ical.assembly import IDENTITY_PROPERTIES, prepare
from icsbridge.converters.ical.upload.alarms import app_alarm, start_of

# Properties clients add or rewrite when they store a subscribed or synced event; none
# of them is an edit of the business object.
_CLIENT_NOISE = frozenset({"CREATED", "X-LIC-ERROR", "X-MOZ-GENERATION", "X-MOZ-LASTACK"})
_CLIENT_PREFIXES = ("X-APPLE-", "X-MOZ-", "X-GOOGLE-", "X-MICROSOFT-", "X-MS-OLK-")


def edit_hash(component: Event) -> str:
    """The content hash of an uploaded event, comparable with the content hash the pull
    recorded for what was published (``converters.ical.assembly.prepare``): identity, stamps
    and what clients add on their own are left out, alarms apps add included (see
    :func:`app_alarm`; the push plan first drops default reminders with :func:`own_alarms`)."""
    clean = Event()
    for name, value in component.items():
        if not _noise(name):
            clean[name] = value
    start = start_of(component)
    for sub in component.subcomponents:
        if not (sub.name == "VALARM" and app_alarm(sub, start)):
            clean.add_component(sub)
    return prepare(clean).content_hash


def _noise(name: str) -> bool:
    return name in IDENTITY_PROPERTIES or name in _CLIENT_NOISE or name.startswith(_CLIENT_PREFIXES)


def component_text(component: Component) -> str:
    """One component as iCalendar text (for journal entries and error context)."""
    return str(component.to_ical().decode("utf-8"))

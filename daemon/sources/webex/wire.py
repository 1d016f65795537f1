"""Reading Webex answers' small parts: text fields, schedule list entries, locations.

Each helper raises ``PayloadError`` naming the field and where it was read, so a wrong
answer is one clear line (see ``icsbridge.daemon.sources.webex.source``, their only user).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icsbridge.converters.errors import PayloadError

log = logging.getLogger("icsbridge.webex")

TYPE_WORDS = {"businessHours": "business hours", "holidays": "holidays"}
"""The schedule types icsbridge reads, in words."""


@dataclass(frozen=True)
class Location:
    """A location as the API names it, with its time zone when it has one."""

    id: str
    name: str
    zone: str | None


def text_field(body: Any, key: str, where: str) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise PayloadError(f'webex: {where}: field "{key}" is missing or not text')
    return value


def optional_text(body: Any, key: str, where: str) -> str | None:
    if not isinstance(body, dict):
        raise PayloadError(f"webex: {where}: the answer is not an object")
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f'webex: {where}: field "{key}" is not text')
    return value


class ListEntry(NamedTuple):
    id: str
    name: str
    type: str
    level: object  # only person lists carry it; checked by the caller


def list_entry(item: dict[str, Any], where: str) -> ListEntry | None:
    """A schedule list entry; None (and a warning) for a type we do not know."""
    sid = text_field(item, "id", where)
    name = text_field(item, "name", where)
    stype = text_field(item, "type", f'{where}: schedule "{name}"')
    if stype not in TYPE_WORDS:
        log.warning('webex: %s: schedule "%s" has unknown type %r; skipped', where, name, stype)
        return None
    return ListEntry(sid, name, stype, item.get("level"))


def location_of(body: Any, where: str) -> Location:
    lid = text_field(body, "id", where)
    name = text_field(body, "name", where)
    return Location(lid, name, optional_text(body, "timeZone", f"location {name}"))


def checked_zone(zone: str, origin: str) -> str:
    """``zone`` when the tz database knows it; ``origin`` says where the API gave it."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
        raise PayloadError(
            f'webex: {origin}: timeZone "{zone}" is not a known IANA time zone'
        ) from None
    return zone

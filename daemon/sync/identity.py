"""Who is who between two pulls: attach stable UIDs and data-derived stamps.

No API gives an id that survives every edit (a Webex event id is derived from its
name), so identity is kept here, against the rows of the state store:

1. an event whose native key is known keeps its UID;
2. of the rest, an event whose ``rename_hint`` (everything but the name) matches exactly
   one vanished row and no other new event is that row, renamed: it keeps the UID;
3. anything else is new and gets a UID derived from (source, calendar, native key), so
   two fresh states assign the same UIDs to the same data.

Stamps: ``modified`` (DTSTAMP, LAST-MODIFIED) is when the content was first seen with
its current hash, and SEQUENCE counts the changes seen; both come from the store, never
from the clock of a request, so the same data gives the same bytes.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from icsbridge.converters.ical.assembly import Stamp
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.daemon.store.state import ItemRow

_UID_NAMESPACE = uuid.UUID("5b0f3c1e-8f4a-4b8e-9a57-2f7c6d1e0a11")


@dataclass(frozen=True)
class Matched:
    """A pulled event (by its index in ``pulled``) with the identity it is published with."""

    index: int
    stamp: Stamp
    row: ItemRow


@dataclass(frozen=True)
class Reconciled:
    matched: list[Matched]
    vanished: list[ItemRow]  # rows with no pulled event: deleted upstream


def derived_uid(source: str, calendar: str, native_key: str, attempt: int = 0) -> str:
    """The UID a new item gets: stable for the same (source, calendar, key)."""
    name = f"{source}\x00{calendar}\x00{native_key}\x00{attempt}"
    return f"{uuid.uuid5(_UID_NAMESPACE, name)}@icsbridge"


def reconcile(
    source: str,
    calendar: str,
    pulled: Sequence[ConvertedEvent],
    hashes: Sequence[str],
    rows: Sequence[ItemRow],
    *,
    now: datetime,
    uid_taken: Callable[[str], bool],
) -> Reconciled:
    """Match ``pulled`` against the calendar's stored ``rows`` (see module doc).

    ``hashes[i]`` is the content hash of ``pulled[i]`` (``converters.ical.assembly.prepare``).
    """
    by_key = {r.native_key: r for r in rows}
    matched: dict[int, ItemRow] = {}
    for i, ev in enumerate(pulled):
        row = by_key.pop(ev.native_key, None)
        if row is not None:
            matched[i] = row

    # Renames: a unique hint on both sides.
    left_rows = list(by_key.values())
    row_hints = Counter(r.rename_hint for r in left_rows)
    new_hints = Counter(ev.rename_hint for i, ev in enumerate(pulled) if i not in matched)
    for i, ev in enumerate(pulled):
        if i in matched:
            continue
        hint = ev.rename_hint
        if row_hints[hint] == 1 and new_hints[hint] == 1:
            row = next(r for r in left_rows if r.rename_hint == hint)
            matched[i] = row
            left_rows.remove(row)

    in_use = {r.uid for r in matched.values()}
    result: list[Matched] = []
    for i, (ev, digest) in enumerate(zip(pulled, hashes, strict=True)):
        old = matched.get(i)
        if old is None:
            uid = _fresh_uid(source, calendar, ev.native_key, in_use, uid_taken)
            in_use.add(uid)
            modified, sequence = now, 0
        elif old.content_hash == digest:
            uid, modified, sequence = old.uid, old.modified, old.sequence
        else:
            uid, modified, sequence = old.uid, now, old.sequence + 1
        row = ItemRow(
            uid=uid,
            source=source,
            calendar=calendar,
            native_key=ev.native_key,
            rename_hint=ev.rename_hint,
            content_hash=digest,
            modified=modified,
            sequence=sequence,
            remote_version=old.remote_version if old else None,
            published_hash=old.published_hash if old else None,
        )
        result.append(Matched(i, Stamp(uid=uid, modified=modified, sequence=sequence), row))
    return Reconciled(matched=result, vanished=left_rows)


def _fresh_uid(
    source: str,
    calendar: str,
    native_key: str,
    in_use: set[str],
    uid_taken: Callable[[str], bool],
) -> str:
    # A UID can be taken when an event was renamed away and a new one took its old
    # name: the derived UID of that name already belongs to the renamed event.
    attempt = 0
    while True:
        uid = derived_uid(source, calendar, native_key, attempt)
        if uid not in in_use and not uid_taken(uid):
            return uid
        attempt += 1

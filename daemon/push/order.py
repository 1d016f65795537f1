"""Names unique within a schedule, after a push and at every call of it.

Webex and APIO key events by name, unique within a schedule: a create or rename whose
name is taken is refused (409) by the API. So before anything is sent,
:func:`order_writes` takes the schedule as it will be once every planned call applied,
and refuses the push (422, nothing sent) when two events would share a name there. Then
it orders the calls so that none finds its name taken on the way: deletions first (they
free names), then each create or rename once the event holding its name has moved on,
and for a swap or any cycle of renames one event goes through a temporary name first
(two calls, both journalled like any other: a crash between them is settled by
``daemon.push.journal.recover_pending``, and an undo renames it back).

Kinds that key events by id (B2CORE: ``EventWriter.name_of`` is None) only get their
deletions first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from icsbridge.daemon.sources.base import PulledCalendar
from icsbridge.daemon.sources.writes import EventWriter, PlannedWrite

TEMPORARY_PREFIX = "icsbridge swap "
"""Temporary names: letters, digits and spaces (what every kind takes), short, and plainly
ours if one is ever left behind (a refused undo)."""

_SHOWN = 3  # names listed in the one-line refusal; every one is in the lines


class NamesClash(Exception):
    """The schedule after the push would hold a name twice: ``message`` is the one line
    (the plan refuses the push with it, 422), ``lines`` one per event."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.lines = lines


def order_writes(
    writer: EventWriter,
    cal: PulledCalendar,
    writes: list[PlannedWrite],
    *,
    uid_of_key: Mapping[str, str],
    target: str,
) -> list[PlannedWrite]:
    """``writes`` in an order the API accepts call by call (see the module doc); raises
    :class:`NamesClash` when the schedule after the push would hold a name twice.

    ``uid_of_key`` names the UID of each pulled event the store knows (by native key)."""
    deletes = [w for w in writes if w.action == "delete"]
    moves = [w for w in writes if w.action != "delete"]
    names = {id(w): writer.name_of(w.payload) for w in moves if w.payload is not None}
    if not moves or any(name is None for name in names.values()):
        return deletes + moves
    held = {ev.native_key: name for ev in cal.events if (name := writer.held_name(ev)) is not None}
    end = dict(held)
    for w in deletes:
        end.pop(str(w.native_key), None)
    for w in moves:
        end[_key(w)] = str(names[id(w)])
    _refuse_clashes(end, {_key(w) for w in moves}, uid_of_key, cal.meta.name, target)
    return deletes + _ordered_moves(writer, cal, moves, held, deletes, taken=set(end.values()))


def _key(write: PlannedWrite) -> str:
    """Who a write moves: the event's key now, or the UID of an event it creates."""
    return f"+{write.uid}" if write.action == "create" else str(write.native_key)


def _refuse_clashes(
    end: Mapping[str, str],
    written: set[str],
    uid_of_key: Mapping[str, str],
    schedule: str,
    target: str,
) -> None:
    holders: dict[str, list[str]] = {}
    for key, name in end.items():
        holders.setdefault(name, []).append(key)
    clashes = {
        name: keys
        for name, keys in sorted(holders.items())
        if len(keys) > 1 and any(k in written for k in keys)
    }
    if not clashes:
        return

    def who(key: str) -> str:
        if key.startswith("+"):
            return key[1:]
        return uid_of_key.get(key, f"an event only in the API (key {key})")

    shown = [f'"{name}" (UIDs {", ".join(who(k) for k in keys)})' for name, keys in clashes.items()]
    more = f" and {len(shown) - _SHOWN} more" if len(shown) > _SHOWN else ""
    lines = [
        f'{who(key)}: SUMMARY "{name}" is also that of '
        + ", ".join(who(k) for k in keys if k != key)
        for name, keys in clashes.items()
        for key in keys
        if key in written
    ]
    raise NamesClash(
        f'{len(clashes)} name(s) would each be held by more than one event of "{schedule}" '
        f"after this upload: {', '.join(shown[:_SHOWN])}{more}; nothing was applied ({target} "
        "keys events by name, unique within a schedule: give each event its own SUMMARY, "
        'e.g. "Christmas Day 2027")',
        lines,
    )


def _ordered_moves(
    writer: EventWriter,
    cal: PulledCalendar,
    moves: list[PlannedWrite],
    held: Mapping[str, str],
    deletes: Iterable[PlannedWrite],
    *,
    taken: set[str],
) -> list[PlannedWrite]:
    """Creates and updates, each once its name is free; a temporary rename breaks each
    cycle. The end state is known to be valid, so a write that waits forever waits on an
    event that is renamed later: the cycle is there."""
    now = dict(held)  # key -> its name at this point of the sequence
    for w in deletes:
        now.pop(str(w.native_key), None)
    owner = {name: key for key, name in now.items()}
    taken |= set(held.values())
    ordered: list[PlannedWrite] = []
    pending = list(moves)
    serial = 0
    while pending:
        waiting = []
        for w in pending:
            name, key = str(writer.name_of(w.payload or {})), _key(w)
            if owner.get(name, key) != key:
                waiting.append(w)
                continue
            ordered.append(w)
            if owner.get(now.get(key, "")) == key:
                del owner[now[key]]
            owner[name], now[key] = key, name
        if len(waiting) < len(pending):
            pending = waiting
            continue
        # A cycle: the event holding the first waiting write's name steps aside.
        holder = owner[str(writer.name_of(pending[0].payload or {}))]
        at = next(
            (i for i, w in enumerate(pending) if w.action == "update" and w.native_key == holder),
            None,
        )
        if at is None:  # cannot happen when the end state is valid; refuse rather than loop
            raise NamesClash("the push cannot be ordered; nothing was applied", [])
        blocked = pending[at]
        assert blocked.base is not None and blocked.payload is not None
        serial += 1
        while (temporary := f"{TEMPORARY_PREFIX}{serial}") in taken:
            serial += 1
        taken.add(temporary)
        aside = writer.plan_write(
            cal.ref,
            "update",
            blocked.uid,
            native_key=holder,
            payload=writer.with_name(blocked.base, temporary),
            base=blocked.base,
        )
        ordered.append(aside)
        del owner[now[holder]]
        owner[temporary], now[holder] = holder, temporary
        # Its own write then renames it from the temporary name, under the key the
        # temporary rename answers (Webex makes a new id from the name): ``follows``.
        final = writer.plan_write(
            cal.ref,
            "update",
            blocked.uid,
            native_key=holder,
            payload=blocked.payload,
            base=aside.payload,
        )
        pending[at] = replace(final, follows=True)
    return ordered

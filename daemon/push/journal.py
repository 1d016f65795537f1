"""The push journal: recording what landed, and settling what a crash left pending.

See ``daemon.push.engine`` (step 4). The sync calls :func:`recover_pending` before each pull
of a writable source, so "after a restart and one sync" every accepted edit is in the
API exactly once.
"""

from __future__ import annotations

import json
import logging
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime

from icsbridge.daemon.push.plan import PushRefused, plan_line
from icsbridge.daemon.sources.base import PulledCalendar, Source
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.writes import EventWriter, PlannedWrite
from icsbridge.daemon.store.state import ItemRow, StateStore

log = logging.getLogger("icsbridge.push")


def writer_of(source: Source) -> EventWriter:
    """The source as a writer, or the one central refusal of a read-only source."""
    if type(source).read_only or not isinstance(source, EventWriter):
        why = f"the {source.kind} API is read here, never written"
    elif source.settings.read_only:
        why = "it is configured with read_only = true"
    else:
        return source
    raise PushRefused(403, f'source "{source.name}" is read-only ({why}); the edit was not applied')


def record_write(
    state: StateStore,
    source: str,
    calendar: str,
    write: PlannedWrite,
    key: str | None,
    edit_hash: str | None,
    now: datetime,
) -> None:
    """The UID mapping after ``write`` landed with native key ``key``."""
    if write.action == "delete":
        state.forget_item(write.uid)
        return
    assert key is not None
    old = state.item_by_uid(write.uid)
    if old is None:
        row = ItemRow(write.uid, source, calendar, key, "", edit_hash or "", now, 0)
    else:
        # The edit is a new version of the item: what the client sent, stamped now.
        row = replace(
            old,
            native_key=key,
            content_hash=edit_hash or "",
            modified=now,
            sequence=old.sequence + 1,
        )
    state.put_item(row)


def resolved(
    writer: EventWriter, cal: PulledCalendar, write: PlannedWrite, key: str | None
) -> PlannedWrite:
    """A ``follows`` write planned again under ``key``, the key its event has now."""
    if key is None:
        return write
    return writer.plan_write(
        cal.ref, write.action, write.uid, native_key=key, payload=write.payload, base=write.base
    )


# -- crash recovery -----------------------------------------------------------------------


def push_lock(state: StateStore, source: str) -> AbstractContextManager[bool]:
    """Try to take the source's push lock, which holds across processes (``icsbridge
    push`` and running daemons share the state): the state's source lock, an ``flock``
    beside a SQLite file or a session advisory lock on PostgreSQL. Yields whether it was
    taken; it goes when the process dies."""
    return state.source_lock(source)


async def recover_pending(
    source: Source, state: StateStore, *, now: datetime, locked: bool = False
) -> list[str]:
    """Settle the journal entries a crash left pending (see the module doc, step 4).

    Pending entries of a push still running in another process are not touched (its
    push lock is held). ``locked``: the caller holds the lock already. Returns one line
    per entry settled. Raises ``IcsbridgeError`` when the API cannot be read or refuses
    a re-sent call (the entries that stay pending are tried next time).
    """
    if not state.journal_pending(source.name):
        return []
    if locked:
        return await _recover(source, state, now=now)
    with push_lock(state, source.name) as taken:
        if not taken:
            log.info('source "%s": a push is running elsewhere; its calls are its own', source.name)
            return []
        return await _recover(source, state, now=now)


async def _recover(source: Source, state: StateStore, *, now: datetime) -> list[str]:
    pending = state.journal_pending(source.name)
    if not pending:
        return []
    try:
        writer = writer_of(source)
    except PushRefused as exc:
        # Made read-only since: those calls are not sent, and the user is told once.
        with state.transaction():
            for entry in pending:
                state.journal_finish(entry.id, "failed", now, detail=exc.message)
        log.warning(
            'source "%s": %d interrupted push call(s) dropped: %s',
            source.name,
            len(pending),
            exc.message,
        )
        return []
    pulled = {c.meta.key: c for c in await source.pull()}
    settled: list[str] = []
    for entry in pending:
        write = PlannedWrite.from_json(json.loads(entry.write))
        cal = pulled.get(entry.calendar)
        if cal is None:
            with state.transaction():
                state.journal_finish(entry.id, "failed", now, detail="calendar gone")
            settled.append(f"{plan_line(write)}: the calendar is gone; not re-sent")
            continue
        if write.follows:  # its key is the one the call before it left in the store
            item = state.item_by_uid(write.uid)
            write = resolved(writer, cal, write, item.native_key if item else None)
        claimed = {r.native_key: r.uid for r in state.items(source.name, cal.meta.key)}
        key, landed = _landed(writer, cal, write, claimed)
        if not landed and write.action == "update" and key is None:
            with state.transaction():
                state.journal_finish(entry.id, "failed", now, detail="event gone")
            settled.append(f"{plan_line(write)}: the event is gone from the API; not re-sent")
            continue
        if not landed:
            try:
                key = await writer.send_write(cal.ref, write)
            except SourceError as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    with state.transaction():
                        state.journal_finish(entry.id, "failed", now, detail=str(exc))
                    settled.append(f"{plan_line(write)}: refused when re-sent: {exc}")
                    continue
                raise
        with state.transaction():
            state.journal_finish(entry.id, "done", now, result_key=key)
            record_write(state, source.name, cal.meta.key, write, key, None, now)
        settled.append(f"{plan_line(write)}: {'had landed' if landed else 're-sent'}")
    for line in settled:
        log.warning('source "%s": interrupted push settled: %s', source.name, line)
    return settled


def settle_landed(
    writer: EventWriter,
    state: StateStore,
    source: str,
    pulled: list[PulledCalendar],
    *,
    now: datetime,
) -> None:
    """Mark done the pending calls that ``pulled`` shows landed, with their UIDs, before
    ``pulled`` is rendered; sends nothing. The caller holds the push lock.

    A push whose call failed without an answer re-reads the API: rendered first, a create
    that landed would get a UID of its own there, and the next settling would take the
    event for another item's and send the create again.
    """
    by_key = {c.meta.key: c for c in pulled}
    for entry in state.journal_pending(source):
        cal = by_key.get(entry.calendar)
        if cal is None:
            continue
        write = PlannedWrite.from_json(json.loads(entry.write))
        claimed = {r.native_key: r.uid for r in state.items(source, cal.meta.key)}
        key, landed = _landed(writer, cal, write, claimed)
        if landed:
            with state.transaction():
                state.journal_finish(entry.id, "done", now, result_key=key)
                record_write(state, source, cal.meta.key, write, key, None, now)
            log.info('source "%s": %s landed, though it failed', source, plan_line(write))


def _landed(
    writer: EventWriter, cal: PulledCalendar, write: PlannedWrite, claimed: dict[str, str]
) -> tuple[str | None, bool]:
    """Whether ``write`` is visible in ``cal``: (the key it landed under, True), or
    (the key to re-send it to, False)."""
    keys = {ev.native_key for ev in cal.events}
    if write.action == "delete":
        return None, write.native_key not in keys
    assert write.payload is not None
    for ev in sorted(cal.events, key=lambda e: e.native_key != write.native_key):
        owner = claimed.get(ev.native_key)
        if owner is not None and owner != write.uid:
            continue  # another item's event, even if it looks the same
        held = writer.payload_of(cal.ref, ev)
        if held is not None and writer.same_payload(held, write.payload):
            return ev.native_key, True
    present = write.native_key if write.native_key in keys else None
    return present, False

"""The sync engine, push direction: calendar edits -> the API they came from.

Every way an edit arrives (a PUT or DELETE on a feed's write URL, a vdir, ``icsbridge
push``) ends in :func:`push`, which is source-agnostic:

1. refuse centrally when the source is read-only (its kind, or ``read_only = true``);
2. finish any push a crash interrupted (:func:`recover_pending`);
3. pull the calendar fresh and plan (``icsbridge.daemon.push.plan``): every event is converted by
   the kind's ``from_vevent`` and every conflict found before anything is sent, so the
   push applies whole or is refused whole (422 unsupported, 409 conflicts or a UID of
   another calendar, 422 over the deletion or creation cap), and a dry run stops here with
   the plan; the plan is made in a worker thread (it touches neither the state store nor
   the network);
4. journal every call in the state store, then send them one by one, marking each done
   (with the key the API answered) in the same transaction that updates the UID
   mapping; a crash anywhere leaves pending entries that step 2 of the next run
   reconciles by re-reading the API: a call that landed is marked done, one that did
   not is sent then, so nothing is sent twice and no accepted edit is lost; when the API
   refuses a call part way, the calls applied before it are undone (``daemon.push.undo``)
   and the 502 names what was undone and what still stands;
5. re-read the API and re-render (servers normalise values and change ids on rename).

Callers serialise pushes and syncs of one source (the daemon holds a lock per source).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from icsbridge.config.errors import IcsbridgeError
from icsbridge.daemon.push.journal import (
    push_lock,
    record_write,
    recover_pending,
    resolved,
    settle_landed,
    writer_of,
)
from icsbridge.daemon.push.plan import Plan, PushRefused, PushRequest, plan_line, plan_push
from icsbridge.daemon.push.undo import Applied, undo_applied
from icsbridge.daemon.sources.base import PulledCalendar, Source
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.writes import EventWriter, PlannedWrite
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import (
    RenderedCalendar,
    render_pulled_off_loop,
    source_error_line,
)

log = logging.getLogger("icsbridge.push")

EXIT_STATUS = {400: 1, 404: 1, 502: 1, 422: 3, 409: 4, 403: 5}
"""``icsbridge push`` exit status per refusal (0 when applied or planned)."""


@dataclass
class PushOutcome:
    """What a push did: ``plan`` has one line per API call (sent, or to be sent in a dry
    run); ``notes`` say what was kept or skipped; ``rendered`` is the calendar after the
    re-read (empty for a dry run)."""

    plan: list[str]
    notes: list[str]
    unchanged: int
    dry_run: bool
    rendered: list[RenderedCalendar] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        return f"{verb} {len(self.plan)} API call(s); {self.unchanged} event(s) unchanged" + (
            f"; {len(self.notes)} note(s)" if self.notes else ""
        )


async def push(
    source: Source, state: StateStore, request: PushRequest, *, now: datetime
) -> PushOutcome:
    """Apply ``request`` to ``source`` (see the module doc). Raises :class:`PushRefused`
    (nothing applied, or for a 502 what applied is named) or ``IcsbridgeError`` when the
    API cannot be read."""
    writer = writer_of(source)
    with push_lock(state, source.name) as taken:
        if not taken:
            raise PushRefused(
                409,
                f'another push to source "{source.name}" is running (icsbridge push or the '
                "daemon); nothing was applied, try again when it is done",
            )
        return await _push_locked(writer, source, state, request, now=now)


async def _push_locked(
    writer: EventWriter, source: Source, state: StateStore, request: PushRequest, *, now: datetime
) -> PushOutcome:
    if not request.dry_run:  # a dry run sends nothing, not even an interrupted push
        await recover_pending(source, state, now=now, locked=True)
    pulled = await source.pull()
    cal = next((c for c in pulled if c.meta.key == request.calendar), None)
    if cal is None:
        raise PushRefused(404, f'source "{source.name}" has no calendar "{request.calendar}"')
    settings = source.settings
    # SQLite stays on the loop's thread: the rows, and who owns each UID the calendar does
    # not have yet, are read here (in one query per chunk of UIDs, not one per UID).
    rows = state.items(source.name, cal.meta.key)
    known = {row.uid for row in rows}
    owners = state.calendars_of_uids(uid for uid in request.events if uid not in known)
    # Planning converts every event (seconds for a large upload): in a worker thread, so
    # the loop keeps serving feeds. It is pure: the writer's payload and plan methods are
    # (EventWriter), and the rows were read above.
    plan = await asyncio.to_thread(
        plan_push,
        writer,
        source.name,
        cal,
        rows,
        request,
        policy=settings.conflict,
        max_deletes=settings.max_deletes,
        max_creates=settings.max_creates,
        target=f"the {source.kind} API",
        calendar_of_uid=owners.get,
    )
    lines = [plan_line(w) for w in plan.writes]
    if request.dry_run:
        pending = len(state.journal_pending(source.name))
        if pending:
            plan.notes.append(
                f"{pending} call(s) of an interrupted push are settled first when this runs"
            )
        return PushOutcome(lines, plan.notes, plan.unchanged, True)
    failure = await _apply(writer, state, source.name, cal, plan, now=now)
    # Re-read whatever happened: what landed gets its new keys, values and stamps (and a
    # failed call that landed all the same, its UID: settled before the render).
    reread = await source.pull()
    if failure is not None:
        settle_landed(writer, state, source.name, reread, now=now)
    # Rendered in the worker (normalising, matching, assembly): the loop keeps only the
    # state's rows (SQLite), read before and written after.
    rendered = await render_pulled_off_loop(reread, source.name, state, now=now)
    if failure is not None:
        failure.rendered = rendered
        raise failure
    for line in lines:
        log.info('source "%s": pushed: %s', source.name, line)
    return PushOutcome(lines, plan.notes, plan.unchanged, False, rendered)


async def _apply(
    writer: EventWriter,
    state: StateStore,
    name: str,
    cal: PulledCalendar,
    plan: Plan,
    *,
    now: datetime,
) -> PushRefused | None:
    """Journal, then send each write; the refusal to raise after the re-read, if any."""
    if not plan.writes:
        return None
    batch = uuid.uuid4().hex
    # Off the loop: a thousand writes' JSON is tens of milliseconds of feeds not served.
    texts = await asyncio.to_thread(_journal_texts, plan.writes)
    with state.transaction():
        ids = state.journal_add(batch, name, cal.meta.key, texts, now)
    # The edit's hash goes with the last call of its UID: after only the first half of a
    # rename through a temporary name, the API does not hold the edit yet.
    last = {w.uid: i for i, w in enumerate(plan.writes)}
    keys: dict[str, str | None] = {}  # UID -> the key its latest call answered
    rows = state.items_of_uids(w.uid for w in plan.writes)
    before = {w.uid: rows.get(w.uid) for w in plan.writes}  # for an undo
    applied: Applied = []
    for done, (entry_id, write) in enumerate(zip(ids, plan.writes, strict=True)):
        if write.follows and write.uid in keys:
            write = resolved(writer, cal, write, keys[write.uid])
        try:
            key = await writer.send_write(cal.ref, write)
        except (SourceError, IcsbridgeError) as exc:
            refusal = _stop(state, exc, ids[done:], plan.writes, done, now=now)
            if not applied or not _refused(exc):
                return refusal  # what may have applied is the next sync's to settle
            # Refused, so not applied: take back what was (daemon.push.undo).
            undo = await undo_applied(writer, state, name, cal, applied, before, now=now)
            return undo.amend(refusal)
        keys[write.uid] = key
        applied.append((write, key))
        edit = plan.hashes.get(write.uid) if last[write.uid] == done else None
        with state.transaction():
            state.journal_finish(entry_id, "done", now, result_key=key)
            record_write(state, name, cal.meta.key, write, key, edit, now)
    return None


def _journal_texts(writes: list[PlannedWrite]) -> list[str]:
    """Each write as the journal keeps it (pure: run in a worker thread)."""
    return [json.dumps(w.to_json(), sort_keys=True) for w in writes]


def _stop(
    state: StateStore,
    exc: Exception,
    open_ids: list[int],
    writes: list[PlannedWrite],
    done: int,
    *,
    now: datetime,
) -> PushRefused:
    """Close the journal after a failed call: a refusal (4xx) did not apply; anything else
    may have, so it stays pending for the next run to check; later calls are cancelled."""
    refused = _refused(exc)
    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    with state.transaction():
        if refused:
            state.journal_finish(open_ids[0], "failed", now, detail=line)
        for entry_id in open_ids[1:]:
            state.journal_finish(entry_id, "cancelled", now, detail="an earlier call failed")
    failed = writes[done]
    outcome = "was refused" if refused else "may not have applied (checked at the next sync)"
    return PushRefused(
        502,
        f"{done} of {len(writes)} API call(s) applied; then {plan_line(failed)} {outcome}: {line}",
        [f"not sent: {plan_line(w)}" for w in writes[done + 1 :]],
    )


def _refused(exc: Exception) -> bool:
    """Whether the API refused the call (4xx: it did not apply)."""
    status = exc.status if isinstance(exc, SourceError) else None
    return status is not None and 400 <= status < 500


def refusal_line(source: str, exc: PushRefused) -> str:
    """The one line a user reads for a refused push."""
    return source_error_line(source, exc.message)


def outcome_json(outcome: PushOutcome, etag: str | None) -> dict[str, Any]:
    return {
        "dry_run": outcome.dry_run,
        "plan": outcome.plan,
        "notes": outcome.notes,
        "unchanged": outcome.unchanged,
        "etag": etag,
    }

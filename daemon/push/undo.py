"""Undoing what applied of a push the API refused part way.

The plan checks everything the API will check that can be known in advance
(``daemon.push.plan``, ``daemon.push.order``); what cannot (a rule no document states, an
event changed in the API between the pull and the call) shows as a refusal part way.
The calls applied before it are then undone, newest first, each by its inverse: a create
by deleting what it made, a delete by creating the event again from what was last read,
an update by writing back what the event held (a temporary name is renamed back). The
inverses are journalled like any call, so a crash while undoing is settled by
``daemon.push.journal.recover_pending``; the state store's rows get back what they had.

An inverse the API refuses stops the undo: the answer names what was undone and what
still stands. Only a refusal (4xx) is undone: a call that may have applied (a timeout,
a 5xx) stays pending for the next sync to settle, as before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from icsbridge.config.errors import IcsbridgeError
from icsbridge.daemon.push.journal import record_write, resolved
from icsbridge.daemon.push.plan import PushRefused, describe, plan_line
from icsbridge.daemon.sources.base import PulledCalendar
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.writes import EventWriter, PlannedWrite
from icsbridge.daemon.store.state import ItemRow, StateStore

Applied = list[tuple[PlannedWrite, str | None]]
"""The calls that applied, in order, each with the key the API answered."""

_SHOWN = 3


@dataclass
class Undo:
    """How an undo went: the applied calls ``undone`` and those still ``standing``
    (oldest first); ``why`` the undo stopped (None when everything was undone)."""

    undone: list[PlannedWrite]
    standing: list[PlannedWrite]
    why: str | None = None

    def amend(self, refusal: PushRefused) -> PushRefused:
        """``refusal`` (the 502 of the failed call) saying what stands now."""
        total = len(self.undone) + len(self.standing)
        if not self.standing:
            tail = f"; the {total} call(s) applied before it were undone: nothing of it stands"
        else:
            names = [describe(w) for w in self.standing[:_SHOWN]]
            more = f" and {len(self.standing) - _SHOWN} more" if len(self.standing) > _SHOWN else ""
            tail = (
                f"; {len(self.undone)} of the {total} call(s) applied before it were undone, "
                f"then {self.why}; still standing: {'; '.join(names)}{more}"
            )
        refusal.message += tail
        refusal.lines = [
            *(f"undone: {plan_line(w)}" for w in self.undone),
            *(f"stands: {plan_line(w)}" for w in self.standing),
            *refusal.lines,
        ]
        return refusal


def inverse_of(
    writer: EventWriter, cal: PulledCalendar, write: PlannedWrite, key: str | None
) -> PlannedWrite:
    """The call that takes ``write`` back (``key``: what the API answered for it)."""
    ref, uid = cal.ref, write.uid
    if write.action == "create":
        return writer.plan_write(
            ref, "delete", uid, native_key=key, payload=None, base=write.payload
        )
    if write.action == "delete":
        return writer.plan_write(ref, "create", uid, native_key=None, payload=write.base, base=None)
    return writer.plan_write(
        ref,
        "update",
        uid,
        native_key=key or write.native_key,
        payload=write.base,
        base=write.payload,
    )


async def undo_applied(
    writer: EventWriter,
    state: StateStore,
    source: str,
    cal: PulledCalendar,
    applied: Applied,
    before: Mapping[str, ItemRow | None],
    *,
    now: datetime,
) -> Undo:
    """Undo ``applied``, newest first (see the module doc). ``before`` holds each UID's
    row as it was before the push (None: the push created the item)."""
    forward = [w for w, _ in reversed(applied)]
    inverses: list[PlannedWrite] = []
    for write, key in reversed(applied):
        inverse = inverse_of(writer, cal, write, key)
        # A UID's later inverse is sent under the key its earlier one answered.
        follows = any(i.uid == write.uid for i in inverses)
        inverses.append(replace(inverse, follows=True) if follows else inverse)
    last = {w.uid: i for i, w in enumerate(inverses)}  # then the UID is back where it was
    texts = [json.dumps(w.to_json(), sort_keys=True) for w in inverses]
    with state.transaction():
        ids = state.journal_add(uuid.uuid4().hex, source, cal.meta.key, texts, now)
    keys: dict[str, str | None] = {}
    for at, (entry_id, inverse) in enumerate(zip(ids, inverses, strict=True)):
        if inverse.follows and inverse.uid in keys:
            inverse = resolved(writer, cal, inverse, keys[inverse.uid])
        try:
            key = await writer.send_write(cal.ref, inverse)
        except (SourceError, IcsbridgeError) as exc:
            why = _stop(state, exc, ids[at:], inverse, now=now)
            return Undo(forward[:at][::-1], forward[at:][::-1], why)
        keys[inverse.uid] = key
        with state.transaction():
            state.journal_finish(entry_id, "done", now, result_key=key)
            record_write(state, source, cal.meta.key, inverse, key, None, now)
            row = before.get(inverse.uid)
            if last[inverse.uid] == at and row is not None and key is not None:
                state.put_item(replace(row, native_key=key))
    return Undo(forward[::-1], [])


def _stop(
    state: StateStore, exc: Exception, open_ids: list[int], inverse: PlannedWrite, *, now: datetime
) -> str:
    """Close the undo's journal entries after a failed inverse; the reason in words."""
    status = exc.status if isinstance(exc, SourceError) else None
    refused = status is not None and 400 <= status < 500
    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    with state.transaction():
        if refused:
            state.journal_finish(open_ids[0], "failed", now, detail=line)
        for entry_id in open_ids[1:]:
            state.journal_finish(entry_id, "cancelled", now, detail="an earlier undo failed")
    outcome = "was refused" if refused else "may not have applied (checked at the next sync)"
    return f"undoing with {plan_line(inverse)} {outcome}: {line}"

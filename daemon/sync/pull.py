"""The sync engine, pull direction: pull -> identity (state) -> render.

It sees only the ``Source`` interface, never a concrete API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

import httpx

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import SourceSettings
from icsbridge.converters.ical.assembly import (
    RenderedEvent,
    assemble,
    prepare,
    published_hash,
    stamp_prepared,
)
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.converters.ical.render_cache import RenderCache
from icsbridge.daemon.sources.base import PulledCalendar, Source
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.pool import SourceClients, new_client
from icsbridge.daemon.store.state import ItemRow, StateStore, rows_digest
from icsbridge.daemon.sync.identity import Matched, reconcile


@dataclass(frozen=True)
class RenderedCalendar:
    """One calendar ready to publish: its finalised events and its .ics bytes."""

    meta: CalendarMeta
    events: list[RenderedEvent]
    data: bytes


class DuplicateCalendarError(IcsbridgeError):
    pass


class Settle(Protocol):
    """What runs before a pull of a source: the push engine's settling of the calls a
    crash left pending in its journal (``icsbridge.daemon.push.journal.recover_pending``),
    so that what is pulled holds every accepted edit exactly once. The sync sits below
    the push engine and so is handed it; a caller that never pushes passes None."""

    async def __call__(self, source: Source, state: StateStore, *, now: datetime) -> object: ...


async def pull_source(
    settings: SourceSettings,
    state: StateStore,
    *,
    now: datetime,
    settle: Settle | None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    clients: SourceClients | None = None,
) -> list[RenderedCalendar]:
    """One sync of one configured source (export and daemon).

    With ``clients`` (the daemon) the source's pooled, kept-alive HTTP client and its
    render cache are used (``transport`` is then the pool's business); without, a
    client of its own is opened and closed here and everything is rendered.
    """
    if clients is None:
        async with new_client(settings, transport) as client:
            source = source_for(settings, client, tokens=state, sleep=sleep or asyncio.sleep)
            return await pull_and_render(source, settings.name, state, now=now, settle=settle)
    client = clients.client(settings)
    source = source_for(settings, client, tokens=state, sleep=sleep or asyncio.sleep)
    cache = clients.cache(settings.name)
    return await pull_and_render(source, settings.name, state, now=now, settle=settle, cache=cache)


def source_error_line(name: str, message: str) -> str:
    """The first line of ``message``, prefixed with the source unless it already is."""
    first = message.splitlines()[0] if message else "unknown error"
    prefix = f'source "{name}"'
    return first if first.startswith(prefix) else f"{prefix}: {first}"


async def pull_and_render(
    source: Source,
    name: str,
    state: StateStore,
    *,
    now: datetime,
    settle: Settle | None,
    cache: RenderCache | None = None,
) -> list[RenderedCalendar]:
    """Pull every calendar of ``source``, attach identities and render each one.

    The state store is updated in one transaction after everything rendered, so a
    failure part way leaves it as it was.
    """
    # A push a crash interrupted is settled first, so its edits are in what is pulled.
    if settle is not None:
        await settle(source, state, now=now)
    # Lean: a source that keeps what it converted hands over prepared bytes, not objects.
    pulled = await source.pull(lean=True)
    return render_pulled(pulled, name, state, now=now, cache=cache)


def render_pulled(
    pulled: list[PulledCalendar],
    name: str,
    state: StateStore,
    *,
    now: datetime,
    cache: RenderCache | None = None,
) -> list[RenderedCalendar]:
    """Attach identities to ``pulled`` and render each calendar (see :func:`pull_and_render`).

    With ``cache`` (the daemon keeps one per source) only events whose content changed
    since the previous sync are rendered; the others reuse their prepared lines and
    bytes, and a calendar whose items did not change is not rewritten in the state.
    The bytes are exactly those of a render without cache.
    """
    seen: set[str] = set()
    for cal in pulled:
        if cal.meta.key in seen:
            raise DuplicateCalendarError(
                f'source "{name}": two calendars share the key "{cal.meta.key}"; '
                "this is a bug in the source module, please report it"
            )
        seen.add(cal.meta.key)

    # A source answering with no event at all, or a calendar answering with none, is held
    # back by the feed store's empty guards; keep the items' identities too, so that when
    # the events come back their SEQUENCE and stamps carry on instead of starting again
    # at 0 (and a push meanwhile is planned against them, not against nothing).
    source_empty = not any(cal.events for cal in pulled)
    out: list[RenderedCalendar] = []
    with state.transaction():
        for cal in sorted(pulled, key=lambda c: c.meta.key):
            keep_items = source_empty or not cal.events
            if cache is not None and not keep_items:
                # The very same converted events (the source's LeanMemo), the same
                # meta and the same state rows give the same result: reuse it whole
                # (no matching, stamping or assembly; the rows compared by digest).
                stored = state.items_digest(name, cal.meta.key)
                known = cache.recall(cal.meta.key, cal.events, (cal.meta, stored))
                if isinstance(known, RenderedCalendar):
                    out.append(known)
                    continue
            rows = state.items(name, cal.meta.key)
            rendered, rows_out = _render_calendar(cal, name, state, rows, now=now, cache=cache)
            if not keep_items and _changed(rows, rows_out):
                state.replace_items(name, cal.meta.key, rows_out)
            if cache is not None and not keep_items and _unique_keys(cal):
                inputs = (cal.meta, rows_digest(rows_out))
                cache.remember(cal.meta.key, cal.events, inputs, rendered)
            elif cache is not None:
                cache.forget(cal.meta.key)
            out.append(rendered)
    if cache is not None and not source_empty:
        cache.retain(seen)
    return out


def _render_calendar(
    cal: PulledCalendar,
    name: str,
    state: StateStore,
    rows: list[ItemRow],
    *,
    now: datetime,
    cache: RenderCache | None,
) -> tuple[RenderedCalendar, list[ItemRow]]:
    """One calendar's identities and bytes, and the state rows that publish them."""
    # Each event is normalised and rendered once (or not at all when the cache has
    # it): the hash decides its stamp, then the stamp is spliced in.
    if cache is not None:
        prepared = cache.prepare_all(cal.meta.key, cal.events)
    else:
        prepared = [ev.prepared or prepare(ev.vevent()) for ev in cal.events]
    rec = reconcile(
        name,
        cal.meta.key,
        cal.events,
        [p.content_hash for p in prepared],
        rows,
        now=now,
        uid_taken=state.uid_taken,
    )
    events = [stamp_prepared(prepared[m.index], m.stamp) for m in rec.matched]
    rendered = RenderedCalendar(cal.meta, events, assemble(cal.meta, events))
    return rendered, _published_rows(rec.matched, events)


def _unique_keys(cal: PulledCalendar) -> bool:
    """True when no two events share a native key: then, with the rows a render stored,
    matching the same events again pairs each with its own row and stamps nothing new,
    so the result is the same at any ``now`` (duplicates may be matched anew)."""
    return len({ev.native_key for ev in cal.events}) == len(cal.events)


def _published_rows(matched: list[Matched], events: list[RenderedEvent]) -> list[ItemRow]:
    """Each row with the hash of the exact lines published for it, so an uploaded copy
    can be told apart from what we served (the push issue)."""
    return [
        replace(m.row, published_hash=published_hash(ev))
        for m, ev in zip(matched, events, strict=True)
    ]


def _changed(before: list[ItemRow], after: list[ItemRow]) -> bool:
    """True unless ``after`` is ``before`` (order aside): then the state is left alone."""
    if len(before) != len(after):
        return True
    by_uid = {row.uid: row for row in before}
    return any(by_uid.get(row.uid) != row for row in after)

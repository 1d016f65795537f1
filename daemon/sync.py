"""The sync engine, pull direction: pull -> identity (state) -> render.

It sees only the ``Source`` interface, never a concrete API.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

import httpx

from config.errors import IcsbridgeError
from config.settings import SourceSettings
from converters.calendar import RenderedEvent, assemble, prepare, stamp_prepared
from converters.model import CalendarMeta

from .identity import reconcile
from .sources.base import PulledCalendar, Source, source_for
from .state import StateStore


@dataclass(frozen=True)
class RenderedCalendar:
    """One calendar ready to publish: its finalised events and its .ics bytes."""

    meta: CalendarMeta
    events: list[RenderedEvent]
    data: bytes


class DuplicateCalendarError(IcsbridgeError):
    pass


def published_hash(event: RenderedEvent) -> str:
    """sha256 of the event's published lines, identity and stamps included."""
    return hashlib.sha256("\r\n".join(event.lines).encode("utf-8")).hexdigest()


CLIENT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


async def pull_source(
    settings: SourceSettings,
    state: StateStore,
    *,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> list[RenderedCalendar]:
    """One sync of one configured source over its own HTTP client (export and daemon)."""
    async with httpx.AsyncClient(transport=transport, timeout=CLIENT_TIMEOUT) as client:
        source = source_for(settings, client, tokens=state, sleep=sleep or asyncio.sleep)
        return await pull_and_render(source, settings.name, state, now=now)


def source_error_line(name: str, message: str) -> str:
    """The first line of ``message``, prefixed with the source unless it already is."""
    first = message.splitlines()[0] if message else "unknown error"
    prefix = f'source "{name}"'
    return first if first.startswith(prefix) else f"{prefix}: {first}"


async def pull_and_render(
    source: Source, name: str, state: StateStore, *, now: datetime
) -> list[RenderedCalendar]:
    """Pull every calendar of ``source``, attach identities and render each one.

    The state store is updated in one transaction after everything rendered, so a
    failure part way leaves it as it was.
    """
    pulled = await source.pull()
    return render_pulled(pulled, name, state, now=now)


def render_pulled(
    pulled: list[PulledCalendar], name: str, state: StateStore, *, now: datetime
) -> list[RenderedCalendar]:
    seen: set[str] = set()
    for cal in pulled:
        if cal.meta.key in seen:
            raise DuplicateCalendarError(
                f'source "{name}": two calendars share the key "{cal.meta.key}"; '
                "this is a bug in the source module, please report it"
            )
        seen.add(cal.meta.key)

    # A source answering with no event at all is held back by the feed store's empty
    # guard; keep the items' identities too, so that when the events come back their
    # SEQUENCE and stamps carry on instead of starting again at 0.
    keep_items = not any(cal.events for cal in pulled)
    out: list[RenderedCalendar] = []
    with state.transaction():
        for cal in sorted(pulled, key=lambda c: c.meta.key):
            # Each event is normalised and rendered once: the hash decides its stamp,
            # then the stamp is spliced into the lines already rendered.
            prepared = [prepare(ev.component) for ev in cal.events]
            rows = state.items(name, cal.meta.key)
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
            if not keep_items:
                # Each row remembers the hash of the exact lines published for it, so an
                # uploaded copy can be told apart from what we served (the push issue).
                rows_out = [
                    replace(m.row, published_hash=published_hash(ev))
                    for m, ev in zip(rec.matched, events, strict=True)
                ]
                state.replace_items(name, cal.meta.key, rows_out)
            out.append(RenderedCalendar(cal.meta, events, assemble(cal.meta, events)))
    return out

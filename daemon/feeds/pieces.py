"""A calendar's rendered events as bytes for the state, and back: what lets any daemon
sharing a PostgreSQL state assemble a merged feed from calendars another daemon synced
(``daemon.feeds.shared``).

The text is a JSON head (the calendar's meta, and per event its UID, recurrence key,
zones and the lengths of its two pieces), a newline, then every event's head and tail
bytes one after the other: the pieces go back exactly as rendered, never re-encoded.
Read back, they are assembled again and must give the digest stored with them.
"""

from __future__ import annotations

import json
from datetime import date

from icsbridge.converters.ical.assembly import RenderedEvent, assemble
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.daemon.feeds.files import strong_etag
from icsbridge.daemon.sync.pull import RenderedCalendar


def encode(cal: RenderedCalendar) -> bytes:
    """``cal``'s meta and events as stored (its bytes are assembled again when read)."""
    meta = cal.meta
    head = {
        "meta": [
            meta.key,
            meta.name,
            meta.description,
            meta.timezone,
            meta.refresh_seconds,
            list(meta.categories),
        ],
        "events": [
            [
                e.uid,
                e.recurrence_key,
                [[tzid, low.isoformat(), high.isoformat()] for tzid, low, high in e.zones],
                len(e.head),
                len(e.tail),
            ]
            for e in cal.events
        ],
    }
    text = json.dumps(head, separators=(",", ":")).encode()
    return b"".join([text, b"\n", *(piece for e in cal.events for piece in (e.head, e.tail))])


def decode(stored: bytes, digest: str) -> RenderedCalendar:
    """The calendar ``stored`` holds; ValueError when it cannot be read or its assembled
    bytes do not give ``digest`` (the ETag of what the syncing daemon rendered)."""
    text, _, body = stored.partition(b"\n")
    try:
        head = json.loads(text)
        key, name, description, timezone, refresh, categories = head["meta"]
        meta = CalendarMeta(key, name, description, timezone, refresh, list(categories))
        events, at = [], 0
        for uid, recurrence_key, zones, head_len, tail_len in head["events"]:
            spans = tuple(
                (str(tzid), date.fromisoformat(low), date.fromisoformat(high))
                for tzid, low, high in zones
            )
            first, second = body[at : at + head_len], body[at + head_len : at + head_len + tail_len]
            at += head_len + tail_len
            events.append(RenderedEvent(uid, recurrence_key, spans, first, second))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"unreadable pieces ({type(exc).__name__})") from exc
    if at != len(body):
        raise ValueError("unreadable pieces (lengths do not add up)")
    data = assemble(meta, events)
    if strong_etag(data) != digest:
        raise ValueError("the pieces do not give the bytes they were stored with")
    return RenderedCalendar(meta, events, data)

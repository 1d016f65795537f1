"""The size budget of a feed: which window would bring a feed over ``max_bytes`` under.

Works on the published bytes, so a feed is judged as served, at its level. A window
leaves out whole UIDs (a master with its overrides), so the size a window gives is the
feed's size less the bytes of the events it would leave out; the VTIMEZONEs are counted
as they are (a smaller window only shortens them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from icsbridge.converters.ical.assembly import RenderedEvent
from icsbridge.converters.ical.sharing.occurrences import Shape, any_inside, read_shape

__all__ = ["Fit", "fitting_window"]

PAST_DAYS = (365, 180, 90, 30, 7, 0)
FUTURE_DAYS = (730, 400, 180, 90, 30, 7)
"""The windows tried, widest first; the widest that fits is named."""


@dataclass(frozen=True)
class Fit:
    """A window (whole days back and ahead of today) and the feed's size under it."""

    past_days: int
    future_days: int
    size: int

    def text(self) -> str:
        return f'window = {{ past = "{self.past_days}d", future = "{self.future_days}d" }}'


def fitting_window(data: bytes, limit: int, now: datetime) -> Fit | None:
    """The widest window of :data:`PAST_DAYS` x :data:`FUTURE_DAYS` under which the feed
    ``data`` holds at most ``limit`` bytes; None when even the narrowest does not."""
    zone = _calendar_zone(data)
    groups: dict[str, list[tuple[Shape, int]]] = {}
    for uid, block in _blocks(data):
        try:
            shape = read_shape(RenderedEvent(uid, "", (), b"", block))
        except ValueError:
            continue  # no start: every window keeps it
        groups.setdefault(uid, []).append((shape, len(block)))
    today = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    candidates = sorted(
        ((past, future) for past in PAST_DAYS for future in FUTURE_DAYS),
        key=lambda pair: (-(pair[0] + pair[1]), -pair[1]),
    )
    for past, future in candidates:
        start, end = today - timedelta(days=past), today + timedelta(days=future + 1)
        dropped = sum(
            size
            for found in groups.values()
            if not any_inside([shape for shape, _ in found], zone, start, end)
            for _, size in found
        )
        if len(data) - dropped <= limit:
            return Fit(past, future, len(data) - dropped)
    return None


def _calendar_zone(data: bytes) -> tzinfo:
    marker = b"\r\nX-WR-TIMEZONE:"
    at = data.find(marker)
    if at == -1:
        return UTC
    name = data[at + len(marker) : data.find(b"\r\n", at + 2)].decode("utf-8", "replace")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        return UTC


def _blocks(data: bytes) -> list[tuple[str, bytes]]:
    """Each VEVENT or VTODO of ``data`` with its UID, as published."""
    out = []
    for kind in (b"VEVENT", b"VTODO"):
        begin, end = b"BEGIN:" + kind + b"\r\n", b"END:" + kind + b"\r\n"
        at = data.find(begin)
        while at != -1:
            stop = data.index(end, at) + len(end)
            block = data[at:stop]
            lines = block.replace(b"\r\n ", b"")
            uid_at = lines.find(b"\r\nUID:") + 6
            uid = lines[uid_at : lines.find(b"\r\n", uid_at)].decode("utf-8", "replace")
            out.append((uid, block))
            at = data.find(begin, stop)
    return out

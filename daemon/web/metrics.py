"""Daemon metrics in the Prometheus text exposition format (version 0.0.4), no dependency.

Series:

- ``icsbridge_sync_duration_seconds{source}`` gauge: how long the last sync took;
- ``icsbridge_syncs_total{source,outcome}`` counter, outcome ``ok`` | ``error`` (both
  series appear with the first sync of a source, so ``rate()`` sees the first error);
- ``icsbridge_feed_events{feed}``, ``icsbridge_feed_bytes{feed}`` gauges per served feed;
- ``icsbridge_feed_over_budget_bytes{feed,window}`` gauge: a feed over its ``max_bytes``,
  its size, labelled with the window that would bring it under (``none``: split it);
- ``icsbridge_http_requests_total{status}`` counter: every HTTP response by status code.

Everything runs on the event loop thread; ``http_request`` is on the feed server's hot path
and is one dict update.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icsbridge.daemon.feeds.store import FeedStore

_OUTCOMES = ("ok", "error")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


class Metrics:
    """The daemon's counters and gauges; ``render()`` gives the /metrics body."""

    def __init__(self) -> None:
        self._sync_seconds: dict[str, float] = {}
        self._syncs: dict[tuple[str, str], int] = {}
        self._feed_events: dict[str, int] = {}
        self._feed_bytes: dict[str, int] = {}
        self._http: dict[int, int] = {}
        self._over_budget: dict[str, tuple[str, int]] = {}

    def sync_finished(self, source: str, seconds: float, ok: bool) -> None:
        """A sync of ``source`` ended (successfully or not) after ``seconds``."""
        self._sync_seconds[source] = seconds
        for outcome in _OUTCOMES:
            self._syncs.setdefault((source, outcome), 0)
        self._syncs[source, "ok" if ok else "error"] += 1

    def http_request(self, status: int) -> None:
        """One HTTP response with ``status`` was sent."""
        self._http[status] = self._http.get(status, 0) + 1

    def set_feed(self, name: str, events: int, size: int) -> None:
        """Feed ``name`` now serves ``events`` events in ``size`` bytes."""
        self._feed_events[name] = events
        self._feed_bytes[name] = size

    def set_feeds(self, served: Mapping[str, tuple[int, int]]) -> None:
        """The feeds served now, name -> (events, bytes); the gauges of any other go."""
        for gone in self._feed_events.keys() - served.keys():
            self.drop_feed(gone)
        for name, (events, size) in served.items():
            self.set_feed(name, events, size)

    def follow_feeds(self, feeds: FeedStore) -> None:
        """The feed gauges (events, bytes, over budget) as ``feeds`` serves them now."""
        served = {name: feeds.get(name) for name in feeds.names()}
        self.set_feeds({n: (c.events, len(c.data)) for n, c in served.items() if c})
        self.set_over_budget({n: (o.window, o.size) for n, o in feeds.over_budget().items()})

    def set_over_budget(self, over: Mapping[str, tuple[str, int]]) -> None:
        """The feeds over their ``max_bytes`` now: name -> (the window that would fit
        them, or "none"; their size)."""
        self._over_budget = dict(over)

    def drop_feed(self, name: str) -> None:
        """Feed ``name`` is no longer served."""
        self._feed_events.pop(name, None)
        self._feed_bytes.pop(name, None)

    def render(self) -> str:
        """The exposition text, one family after the other, each line ending in newline."""
        lines: list[str] = []
        _family(
            lines,
            "icsbridge_sync_duration_seconds",
            "gauge",
            "Duration of the last sync of each source.",
            {(("source", s),): v for s, v in self._sync_seconds.items()},
        )
        _family(
            lines,
            "icsbridge_syncs_total",
            "counter",
            "Syncs per source and outcome.",
            {(("source", s), ("outcome", o)): n for (s, o), n in self._syncs.items()},
        )
        _family(
            lines,
            "icsbridge_feed_events",
            "gauge",
            "Events in each served feed.",
            {(("feed", f),): n for f, n in self._feed_events.items()},
        )
        _family(
            lines,
            "icsbridge_feed_bytes",
            "gauge",
            "Size in bytes of each served feed.",
            {(("feed", f),): n for f, n in self._feed_bytes.items()},
        )
        _family(
            lines,
            "icsbridge_feed_over_budget_bytes",
            "gauge",
            "Size of each feed over its max_bytes, with the window that would fit it.",
            {(("feed", f), ("window", w)): n for f, (w, n) in self._over_budget.items()},
        )
        _family(
            lines,
            "icsbridge_http_requests_total",
            "counter",
            "HTTP responses sent, by status code.",
            {(("status", str(s)),): n for s, n in self._http.items()},
        )
        return "\n".join(lines) + "\n"


def _family(
    lines: list[str],
    name: str,
    kind: str,
    help_text: str,
    samples: Mapping[tuple[tuple[str, str], ...], float],
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels in sorted(samples):
        rendered = ",".join(f'{key}="{_escape(value)}"' for key, value in labels)
        lines.append(f"{name}{{{rendered}}} {_number(samples[labels])}")


def metrics_route(metrics: Metrics) -> Route:
    """``GET /metrics``: the exposition text, never cached."""

    async def render_metrics(_request: Request) -> Response:
        return Response(
            metrics.render(),
            media_type="text/plain; version=0.0.4",
            headers={"cache-control": "no-store"},
        )

    return Route("/metrics", render_metrics, methods=["GET"])

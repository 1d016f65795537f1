"""Daemon metrics in the Prometheus text exposition format (version 0.0.4), no dependency.

Series:

- ``icsbridge_sync_duration_seconds{source}`` gauge: how long the last sync took;
- ``icsbridge_syncs_total{source,outcome}`` counter, outcome ``ok`` | ``error`` (both
  series appear with the first sync of a source, so ``rate()`` sees the first error);
- ``icsbridge_feed_events{feed}``, ``icsbridge_feed_bytes{feed}`` gauges per served feed;
- ``icsbridge_feed_over_budget_bytes{feed,window}`` gauge: a feed over its ``max_bytes``,
  its size, labelled with the window that would bring it under (``none``: split it);
- ``icsbridge_http_requests_total{status}`` counter: every HTTP response by status code;
- ``icsbridge_source_synced_by{source,daemon}`` and ``icsbridge_source_held_by{source,
  daemon}`` info gauges (value 1), when daemons share a PostgreSQL state: which daemon
  (``host:pid``) synced each source last, and which holds its lock now (syncing or
  pushing it). Read from the state at each scrape, so any daemon reports every source,
  as ``/healthz`` does; none while the state cannot be read.

Everything runs on the event loop thread; ``http_request`` is on the feed server's hot path
and is one dict update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icsbridge.daemon.feeds.store import FeedStore

_OUTCOMES = ("ok", "error")

Daemons = Callable[[], Mapping[str, tuple[str | None, str | None]]]
"""Source -> (the daemon that synced it last, the daemon holding it now), each or None."""


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
        self._daemons: Daemons = dict

    def follow_daemons(self, daemons: Daemons) -> None:
        """Ask ``daemons`` at each render for who synced and who holds each source."""
        self._daemons = daemons

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
        daemons = self._daemons()
        for position, (name, help_text) in enumerate(_DAEMON_FAMILIES):
            _family(
                lines,
                name,
                "gauge",
                help_text,
                _by_daemon(daemons, position),
            )
        return "\n".join(lines) + "\n"


_DAEMON_FAMILIES = (
    (
        "icsbridge_source_synced_by",
        "The daemon (host:pid) whose sync of each source last succeeded.",
    ),
    ("icsbridge_source_held_by", "The daemon (host:pid) holding each source's lock now."),
)


def _by_daemon(
    daemons: Mapping[str, tuple[str | None, str | None]], position: int
) -> dict[tuple[tuple[str, str], ...], float]:
    samples: dict[tuple[tuple[str, str], ...], float] = {}
    for source, who in daemons.items():
        daemon = who[position]
        if daemon is not None:
            samples[("source", source), ("daemon", daemon)] = 1
    return samples


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

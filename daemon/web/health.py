"""What ``/healthz`` answers: per source, its last sync; per feed, its size and warnings.

The daemon keeps a :class:`SourceHealth` per source, restored from the state at start
(:func:`restore_health`) so a restart does not forget a failing source.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.store.errors import StateError
from icsbridge.daemon.store.state import StateStore

log = logging.getLogger("icsbridge.daemon")


@dataclass
class SourceHealth:
    last_success: datetime | None = None
    last_error: str | None = None
    last_duration: float | None = None
    problem: str | None = None  # from the scheduler listener (crash, missed, skipped)


def follow_sources(by_source: dict[str, SourceHealth], names: Iterable[str]) -> None:
    """One entry per source of ``names``: a new source starts blank, a removed one goes."""
    keep = set(names)
    for name in keep:
        by_source.setdefault(name, SourceHealth())
    for gone in set(by_source) - keep:
        del by_source[gone]


def restore_health(by_source: Mapping[str, SourceHealth], state: StateStore) -> None:
    """Last success and (if later than it) last error of each source, from the state."""
    for name, health in by_source.items():
        status = state.source_status(name)
        health.last_success = status.last_success
        if status.last_error and (
            status.last_success is None
            or (status.last_attempt and status.last_attempt > status.last_success)
        ):
            health.last_error = status.last_error


def daemons_by_source(
    state: StateStore, names: Iterable[str], problem: str | None
) -> dict[str, tuple[str | None, str | None]]:
    """Per source of ``names``, when daemons share a PostgreSQL state: (the daemon whose
    sync of it last succeeded, the daemon holding its lock now), as ``host:pid`` or None.
    Read from the state, so every daemon answers for every source; empty on SQLite (one
    daemon), and while the state has a ``problem`` or cannot be read."""
    if problem is not None or state.dialect != "postgresql":
        return {}
    wanted = list(names)
    try:
        synced, held = state.synced_by(), state.lock_holders(wanted)
    except StateError:
        return {}
    return {name: (synced.get(name), held.get(name)) for name in wanted}


class StateWatch:
    """Whether the state file is still the one the daemon has open (``StateStore.
    file_problem``), asked at each sync and health request; logged once when it changes."""

    def __init__(self, state: StateStore) -> None:
        self.state = state
        self.reported: str | None = None

    def __call__(self) -> str | None:
        problem = self.state.file_problem()
        if problem != self.reported:
            if problem is not None:
                log.error("%s", problem)
            self.reported = problem
        return problem


def health_report(
    by_source: Mapping[str, SourceHealth],
    feeds: FeedStore,
    *,
    now: datetime,
    state_problem: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """200 when every source's last sync succeeded and the state file is the one in use,
    else 503; warnings never fail it."""
    warnings = feeds.warnings()
    over = feeds.over_budget()
    sources: dict[str, Any] = {}
    healthy = state_problem is None
    for name, h in sorted(by_source.items()):
        ok = h.last_success is not None and h.last_error is None
        healthy = healthy and ok
        sources[name] = {
            "ok": ok,
            "last_success": h.last_success.isoformat() if h.last_success else None,
            "age_seconds": round((now - h.last_success).total_seconds())
            if h.last_success
            else None,
            "last_error": h.last_error,
            "last_duration_seconds": round(h.last_duration, 3)
            if h.last_duration is not None
            else None,
            "problem": h.problem,
            "warnings": warnings.get(name, []),
        }
    published: dict[str, Any] = {}
    for name in sorted(feeds.names()):
        content = feeds.get(name)
        if content is None:
            continue
        published[name] = {
            "events": content.events,
            "bytes": len(content.data),
            "last_modified": content.last_modified.isoformat(),
            "warnings": warnings.get(name, []),
            "over_budget": None
            if name not in over
            else {"max_bytes": over[name].limit, "window": over[name].fit and over[name].window},
        }
    body = {
        "status": "ok" if healthy else "degraded",
        "state": {"ok": state_problem is None, "problem": state_problem},
        "sources": sources,
        "feeds": published,
    }
    return (200 if healthy else 503), body


HealthCheck = Callable[[], tuple[int, Mapping[str, Any]]]
"""(HTTP status, JSON-able mapping): what ``/healthz`` answers right now."""


def health_route(health: HealthCheck) -> Route:
    """``GET /healthz``: the report as JSON, never cached."""

    async def healthz(_request: Request) -> Response:
        status, body = health()
        text = json.dumps(body, default=_json_default, ensure_ascii=False, sort_keys=True)
        return Response(
            text,
            status_code=status,
            media_type="application/json",
            headers={"cache-control": "no-store"},
        )

    return Route("/healthz", healthz, methods=["GET"])


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in health JSON")

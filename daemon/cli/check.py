"""`icsbridge check`: every problem `icsbridge run` would stop at, then what each source reads.

The problems come from ``daemon.service.preflight``, the checks `run` itself makes (its
secrets, feed tokens, listen address and state file), so each reads the same line here
as there. One exception: a listen address held by a running icsbridge is what a check
before ``systemctl reload`` finds, so it is a note, not a problem.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from icsbridge.config.durations import format_duration
from icsbridge.config.errors import IcsbridgeError, Problems
from icsbridge.config.settings import Settings
from icsbridge.daemon.caldav.library import caldav_problem
from icsbridge.daemon.caldav.names import base_url
from icsbridge.daemon.feeds.budget import max_bytes, over_budget
from icsbridge.daemon.feeds.files import feed_path, read_published, served_as
from icsbridge.daemon.service.preflight import run_problems
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.web.binding import ListenError

_PROBE_TIMEOUT = 2.0


def cmd_check(settings: Settings, *, feeds: bool = False) -> int:
    errors: list[IcsbridgeError] = []
    unavailable = caldav_problem(settings)
    if unavailable is not None:
        errors.append(unavailable)
    serving = False
    for error in run_problems(settings):
        if isinstance(error, ListenError) and error.in_use and _icsbridge_answers(settings):
            serving = True
        else:
            errors.append(error)
    if errors:
        raise Problems(errors)
    print(f"{settings.path}: OK, {len(settings.sources)} source(s)")
    kind = "file" if isinstance(settings.daemon.state, Path) else "database"
    print(f"  state {kind}: {settings.daemon.state}")
    print(f"  files written to: {settings.daemon.output_dir}")
    print(f"  feeds served on: {settings.daemon.listen} as {settings.daemon.public_url}")
    if settings.caldav is not None:
        users = ", ".join(u.name for u in settings.caldav.users)
        print(f"  CalDAV at {base_url(settings)} for {users} (`icsbridge caldav` says more)")
    if serving:
        print(
            f"  note: a running icsbridge holds {settings.daemon.listen}: fine for a reload, "
            "but another `icsbridge run` there would fail"
        )

    async def describe() -> None:
        async with httpx.AsyncClient() as client:
            for src in settings.sources:
                every = format_duration(src.interval_seconds)
                print(f"source {src.name} ({src.kind}, every {every}, {src.base_url}):")
                source = source_for(src, client, tokens=_NoTokens())
                for line in source.describe():
                    print(f"  - {line}")

    asyncio.run(describe())
    if feeds:
        for line in budget_lines(settings, datetime.now(UTC)):
            print(line)
    return 0


def budget_lines(settings: Settings, now: datetime) -> list[str]:
    """``--feeds``: each published feed against its ``max_bytes``; one over it is named
    with the window that would bring it under (published anyway: a note, not a problem)."""
    state_at = settings.daemon.state
    if isinstance(state_at, Path) and not state_at.exists():  # a database is reached by check
        return ["feeds: none published yet (they appear after the first sync)"]
    lines = []
    with StateStore(settings.daemon.state) as state:
        records = state.feed_records()
        stored = state.stored_feeds(records)  # PostgreSQL: the bytes every daemon serves
    for name, record in sorted(records.items()):
        try:
            path = feed_path(settings, name)
        except IcsbridgeError:
            content = None
        else:
            stored_bytes = stored.get(name)
            content = (
                read_published(record, path)
                if stored_bytes is None
                else served_as(*stored_bytes, path)
            )
        if content is None:
            lines.append(f'feed "{name}": its published file is not readable; run a sync')
            continue
        limit = max_bytes(settings, name)
        over = over_budget(content, limit, now)
        if over is None:
            lines.append(f'feed "{name}": {len(content.data):,} bytes (max_bytes {limit:,}): OK')
        else:
            lines.append(over.line())
    return lines


def _icsbridge_answers(settings: Settings) -> bool:
    """True when what listens on ``[daemon].listen`` answers ``/healthz`` as icsbridge does."""
    host, port = settings.daemon.host, settings.daemon.port
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    shown = f"[{host}]" if ":" in host else host
    scheme = "http" if settings.daemon.tls is None else "https"
    try:
        # Not verified: the certificate names the public host, not this loopback address,
        # and the answer is only read to tell icsbridge from something else.
        answer = httpx.get(
            f"{scheme}://{shown}:{port}/healthz",
            timeout=_PROBE_TIMEOUT,
            trust_env=False,
            verify=False,
        )
        body = answer.json()
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(body, dict) and {"status", "sources", "feeds"} <= body.keys()


class _NoTokens:
    """`check` does no I/O: nothing is stored."""

    def get_secret(self, key: str) -> str | None:
        return None

    def set_secret(self, key: str, value: str) -> None:
        return None

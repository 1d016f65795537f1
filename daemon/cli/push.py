"""`icsbridge push`: send the edits of a calendar file back to the API it came from.

``icsbridge push --config FILE --calendar SOURCE/CALENDAR EDITED.ics [--dry-run]``
treats the file as the whole calendar (an event missing from it is deleted, within
``max_deletes``); ``--only-listed`` pushes the events in the file and deletes nothing;
``--delete UID`` deletes one event. The plan (one line per API call) goes to stdout;
refusals to stderr, one line each, with the exit status of ``daemon.push.engine.EXIT_STATUS``.
After applying, the source's calendar files are written again, as ``export`` would.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from icsbridge.config.errors import ConfigError, IcsbridgeError
from icsbridge.config.loader import resolve_secrets
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.converters.ical.upload.read import UploadedEvent, parse_upload
from icsbridge.daemon.feeds.files import ExportReport, write_files
from icsbridge.daemon.push.engine import EXIT_STATUS, PushOutcome, push
from icsbridge.daemon.push.plan import PushRefused, PushRequest, Scope
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.pool import TransportFactory, new_client
from icsbridge.daemon.store.state import StateStore


def source_of_calendar(settings: Settings, calendar: str) -> SourceSettings:
    """The source a ``SOURCE/CALENDAR`` key belongs to (one line when there is none)."""
    src = settings.source_of_calendar(calendar)
    if src is not None:
        return src
    known = ", ".join(s.name for s in settings.sources)
    raise IcsbridgeError(
        f'--calendar "{calendar}": expected SOURCE/CALENDAR with SOURCE one of {known} '
        "(`icsbridge feeds --config FILE` lists the calendars)"
    )


def read_upload(file: str) -> dict[str, UploadedEvent]:
    if file == "-":
        return parse_upload(sys.stdin.buffer.read(), what="stdin")
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IcsbridgeError(f"{path}: cannot read it ({exc.strerror})") from exc
    return parse_upload(data, what=str(path))


async def run_push(
    settings: Settings,
    request: PushRequest,
    *,
    now: datetime,
    transport_for: TransportFactory | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> PushOutcome:
    """One push through a fresh client, then the source's files written again."""
    src = source_of_calendar(settings, request.calendar)
    transport = transport_for(src) if transport_for else None
    with StateStore(settings.daemon.state) as state:
        async with new_client(src, transport) as client:
            source = source_for(src, client, tokens=state, sleep=sleep or asyncio.sleep)
            outcome = await push(source, state, request, now=now)
        if outcome.rendered:
            write_files(
                settings.daemon.output_dir,
                state,
                {src.name: outcome.rendered},
                ExportReport(),
                sources=[src],
            )
    return outcome


def cmd_push(
    settings: Settings,
    calendar: str,
    file: str | None,
    *,
    dry_run: bool,
    only_listed: bool,
    delete: str | None,
    transport_for: TransportFactory | None = None,
) -> int:
    problems = resolve_secrets(settings)
    if problems:
        raise ConfigError(problems)
    source_of_calendar(settings, calendar)  # a wrong --calendar is said before anything else
    scope: Scope = "delete" if delete else "event" if only_listed else "calendar"
    if delete is None and file is None:
        raise IcsbridgeError(
            "push: give the edited calendar file (or - for stdin), or --delete UID"
        )
    events = read_upload(file) if file is not None else {}
    request = PushRequest(calendar, events, scope, delete, dry_run)
    try:
        outcome = asyncio.run(
            run_push(settings, request, now=datetime.now(UTC), transport_for=transport_for)
        )
    except PushRefused as exc:
        print(f"icsbridge: {exc.message}", file=sys.stderr)
        for line in exc.lines:
            print(f"  {line}", file=sys.stderr)
        return EXIT_STATUS.get(exc.status, 1)
    for line in outcome.plan:
        print(line)
    for line in outcome.notes:
        print(f"note: {line}", file=sys.stderr)
    print(f"icsbridge: {outcome.summary()}", file=sys.stderr)
    return 0

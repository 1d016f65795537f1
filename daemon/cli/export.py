"""`icsbridge export`: one run, one .ics per calendar, written atomically.

A source that fails keeps its previous files; the others are still written. Files of
calendars that vanished from a source that answered are removed, unless the source
suddenly answered with no calendar at all (that looks like an API fault, not a user
deleting everything, so nothing is removed and a warning says so). A calendar that
answers with no events where it had some keeps its file (and vdir) too, as the daemon's
feeds do, with one line saying so, unless ``--accept-empty``; with ``--output -`` such a
calendar writes nothing, as a failed source does.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from icsbridge.config.errors import ConfigError, IcsbridgeError
from icsbridge.config.loader import resolve_secrets
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.converters.ical.assembly import assemble
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.daemon.feeds.files import ExportReport, write_files
from icsbridge.daemon.feeds.guards import emptied_calendars, held_file_line
from icsbridge.daemon.push.journal import recover_pending
from icsbridge.daemon.push.vdir import vdir_edits, write_vdirs
from icsbridge.daemon.sources.pool import Sleep, TransportFactory, new_client
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar, pull_source, source_error_line

log = logging.getLogger("icsbridge.export")


class Progress:
    """Progress lines on a terminal only; silent when stderr is a pipe or a file."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()

    def say(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text + "\n")
            self.stream.flush()


def select_sources(settings: Settings, names: Sequence[str] | None) -> list[SourceSettings]:
    if not names:
        return list(settings.sources)
    known = {s.name: s for s in settings.sources}
    missing = [n for n in names if n not in known]
    if missing:
        raise IcsbridgeError(
            f"{settings.path}: no source named {', '.join(repr(m) for m in missing)} "
            f"(sources: {', '.join(known) or 'none'})"
        )
    return [known[n] for n in names]


async def pull_sources(
    settings: Settings,
    state: StateStore,
    chosen: Sequence[SourceSettings],
    *,
    now: datetime,
    transport_for: TransportFactory | None = None,
    progress: Progress | None = None,
    sleep: Sleep | None = None,
    vdir_dir: Path | None = None,
    accept_empty: bool = False,
) -> tuple[dict[str, list[RenderedCalendar]], list[str], dict[str, int]]:
    """Pull and render each chosen source; returns the results, one line per failure and
    the calendars the empty guard holds (key -> the events it had; see the module doc).

    With ``vdir_dir``, sources with ``vdir = true`` first push what was edited in their
    vdirs, and their vdirs are written after the pull (``icsbridge.daemon.push.vdir``)."""
    progress = progress or Progress()
    results: dict[str, list[RenderedCalendar]] = {}
    failures: list[str] = []
    emptied: dict[str, int] = {}
    for src in chosen:
        progress.say(f"{src.name}: reading {src.kind} at {src.base_url} ...")
        transport = transport_for(src) if transport_for else None
        try:
            held: set[str] = set()
            if vdir_dir is not None and src.vdir:
                async with new_client(src, transport) as client:
                    held = await vdir_edits(
                        src, state, vdir_dir, client=client, now=now, sleep=sleep
                    )
            rendered = await pull_source(
                src, state, now=now, settle=recover_pending, transport=transport, sleep=sleep
            )
            dropped = {} if accept_empty else emptied_calendars(src.name, rendered, state)
            emptied.update(dropped)
            if vdir_dir is not None and src.vdir:
                try:
                    write_vdirs(vdir_dir, src.name, rendered, state, held=held | set(dropped))
                except IcsbridgeError as exc:  # the pull stands: its feed files are written
                    failures.append(source_error_line(src.name, str(exc)))
        except IcsbridgeError as exc:
            line = source_error_line(src.name, str(exc))
            failures.append(line)
            state.record_attempt(src.name, now, line)
            progress.say(f"{src.name}: FAILED")
            continue
        except Exception as exc:  # a bug: say so in one line, keep the other sources going
            log.debug("source %s crashed", src.name, exc_info=True)
            line = source_error_line(
                src.name,
                f"internal error {type(exc).__name__}: {exc}; run with --debug and report it",
            )
            failures.append(line)
            state.record_attempt(src.name, now, line)
            continue
        state.record_attempt(src.name, now, None)
        results[src.name] = rendered
        n_events = sum(len(c.events) for c in rendered)
        progress.say(f"{src.name}: {len(rendered)} calendars, {n_events} events")
    return results, failures, emptied


def merged_calendar(results: dict[str, list[RenderedCalendar]], refresh_seconds: int) -> bytes:
    """All calendars of all given sources as one VCALENDAR (for ``--output -``)."""
    events = [ev for cals in results.values() for cal in cals for ev in cal.events]
    meta = CalendarMeta(
        key="merged",
        name="icsbridge: " + ", ".join(sorted(results)),
        description="All calendars of " + ", ".join(sorted(results)),
        refresh_seconds=refresh_seconds,
    )
    return assemble(meta, events)


async def run_export(
    settings: Settings,
    *,
    now: datetime,
    source_names: Sequence[str] | None = None,
    output: Path | None = None,
    stdout: BinaryIO | None = None,
    transport_for: TransportFactory | None = None,
    progress: Progress | None = None,
    sleep: Sleep | None = None,
    accept_empty: bool = False,
) -> ExportReport:
    """The whole one-shot export. ``stdout`` given: one merged calendar goes there."""
    chosen = select_sources(settings, source_names)
    report = ExportReport()
    with StateStore(settings.daemon.state) as state:
        results, report.failures, emptied = await pull_sources(
            settings,
            state,
            chosen,
            now=now,
            transport_for=transport_for,
            progress=progress,
            sleep=sleep,
            vdir_dir=None if stdout is not None else (output or settings.daemon.output_dir),
            accept_empty=accept_empty,
        )
        held_lines = [held_file_line(key, events) for key, events in sorted(emptied.items())]
        if stdout is not None:
            report.failures += held_lines  # its events would be missing from the merge
            # A partial merged calendar would silently lose the failed source's events
            # in whatever the caller redirects it to: write it only when all succeeded.
            if not report.failures:
                refresh = min(s.interval_seconds for s in chosen)
                stdout.write(merged_calendar(results, refresh))
                stdout.flush()
                report.events = sum(len(c.events) for cals in results.values() for c in cals)
            return report
        for line in held_lines:
            log.warning("%s", line)
        write_files(
            output or settings.daemon.output_dir,
            state,
            results,
            report,
            sources=settings.sources,
            held=set(emptied),
        )
    return report


def cmd_export(
    settings: Settings,
    sources: list[str] | None,
    output: str | None,
    *,
    accept_empty: bool = False,
) -> int:
    problems = resolve_secrets(settings)
    if problems:
        raise ConfigError(problems)
    now = datetime.now(UTC)
    progress = Progress()
    if output == "-":
        report = asyncio.run(
            run_export(
                settings,
                now=now,
                source_names=sources,
                stdout=sys.stdout.buffer,
                progress=progress,
                accept_empty=accept_empty,
            )
        )
    else:
        out_dir = Path(output).resolve() if output else None
        report = asyncio.run(
            run_export(
                settings,
                now=now,
                source_names=sources,
                output=out_dir,
                progress=progress,
                accept_empty=accept_empty,
            )
        )
        for path in report.written:
            progress.say(f"wrote {path}")
    for line in report.failures:
        print(line, file=sys.stderr)
    if output == "-" and report.failures:
        print(
            "icsbridge: nothing written to stdout because a source failed or a calendar was "
            "held back",
            file=sys.stderr,
        )
    return report.exit_code

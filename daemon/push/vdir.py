"""A vdir per calendar (``vdir = true`` on a source): one ``<uid>.ics`` per event.

Layout: ``<output_dir>/vdir/<source>/<calendar path>/``, each a collection as khal and
vdirsyncer's filesystem storage read them (``fileext = ".ics"``), with a ``displayname``
file. Every file is a whole VCALENDAR holding one event and the VTIMEZONEs it uses.

Edits made there are pushed back at the next sync, before the pull: a calendar whose
files differ from what was last written (a file changed, added or removed) is pushed as
a whole calendar through the one engine (``icsbridge.daemon.push.engine``), so a removed file is a
deletion, within ``max_deletes``. When a push is refused (unsupported rule, conflict,
read-only source, unreadable file), the calendar's directory is left exactly as the
user left it and the refusal is logged at each sync, so no edit is lost; delete the
directory to take the API's version again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import SourceSettings
from icsbridge.converters.ical.assembly import assemble
from icsbridge.converters.ical.upload import UploadedEvent, UploadError, parse_upload
from icsbridge.daemon.feeds.atomic import sync_dirs, write_atomic
from icsbridge.daemon.push.engine import push
from icsbridge.daemon.push.plan import PushRefused, PushRequest
from icsbridge.daemon.sources.base import Source
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar, source_error_line

log = logging.getLogger("icsbridge.vdir")

VDIR_FOLDER = "vdir"
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+=-]")


def vdir_path(output_dir: Path, key: str) -> Path:
    """The directory of calendar ``key`` (refuses a key that would leave ``output_dir``)."""
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise IcsbridgeError(f'calendar key "{key}" is not a safe file path; please report it')
    return output_dir.joinpath(VDIR_FOLDER, *parts)


def file_name(uid: str) -> str:
    """``<uid>.ics`` with anything unsafe in a file name percent-encoded."""
    safe = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), uid)
    return (safe if not safe.startswith(".") else "%2E" + safe[1:]) + ".ics"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _on_disk(folder: Path) -> dict[str, str]:
    return {f.name: _digest(f.read_bytes()) for f in sorted(folder.glob("*.ics")) if f.is_file()}


def edited_calendars(output_dir: Path, source: str, state: StateStore) -> list[str]:
    """The calendars whose vdir differs from what icsbridge last wrote there: those the
    state has vdir files of, so the daemon finds them as export does."""
    out = []
    for key in state.vdir_calendars(source):
        folder = vdir_path(output_dir, key)
        if folder.is_dir() and _on_disk(folder) != state.vdir_hashes(source, key):
            out.append(key)
    return out


def read_vdir(folder: Path) -> dict[str, UploadedEvent]:
    """Every event of a vdir, by UID; :class:`UploadError` names the file at fault."""
    events: dict[str, UploadedEvent] = {}
    origin: dict[str, Path] = {}
    for file in sorted(folder.glob("*.ics")):
        for uid, event in parse_upload(file.read_bytes(), what=str(file)).items():
            if uid in events:
                raise UploadError(f'{file}: the UID "{uid}" is also in {origin[uid]}; keep one')
            events[uid], origin[uid] = event, file
    return events


async def vdir_edits(
    settings: SourceSettings,
    state: StateStore,
    output_dir: Path,
    *,
    client: httpx.AsyncClient,
    now: datetime,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> set[str]:
    """Before a sync of a source with ``vdir = true``: push what was edited there.
    Returns the calendars to leave alone (see :func:`write_vdirs`)."""
    if not settings.vdir:
        return set()
    source = source_for(settings, client, tokens=state, sleep=sleep or asyncio.sleep)
    return await push_vdir_edits(source, state, output_dir, now=now)


async def push_vdir_edits(
    source: Source, state: StateStore, output_dir: Path, *, now: datetime
) -> set[str]:
    """Push every edited vdir of ``source``; returns the calendars left as the user left
    them because their push was refused (see the module doc)."""
    held: set[str] = set()
    for key in edited_calendars(output_dir, source.name, state):
        folder = vdir_path(output_dir, key)
        try:
            events = read_vdir(folder)
            outcome = await push(source, state, PushRequest(key, events), now=now)
        except PushRefused as exc:
            held.add(key)
            details = "".join(f"\n  {line}" for line in exc.lines)
            line = source_error_line(source.name, exc.message)
            log.warning("%s (vdir %s is left as it is)%s", line, folder, details)
            continue
        except UploadError as exc:
            held.add(key)
            log.warning("%s; the vdir is left as it is", source_error_line(source.name, str(exc)))
            continue
        for line in outcome.plan:
            log.info('source "%s": vdir %s: %s', source.name, key, line)
    return held


def write_vdirs(
    output_dir: Path,
    source: str,
    calendars: list[RenderedCalendar],
    state: StateStore,
    *,
    held: set[str],
) -> None:
    """Write one file per event, only where bytes changed; drop files of gone events.
    Calendars in ``held`` are not touched. A sync that returned no event at all writes
    nothing (the feeds' empty guard holds it the same way)."""
    if not any(cal.events for cal in calendars):
        return
    touched: set[Path] = set()
    for cal in calendars:
        if cal.meta.key in held:
            continue
        folder = vdir_path(output_dir, cal.meta.key)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            present = _on_disk(folder)
            wanted = {file_name(ev.uid): assemble(cal.meta, [ev]) for ev in cal.events}
            hashes = {}
            for name, data in sorted(wanted.items()):
                hashes[name] = _digest(data)
                if present.get(name) != hashes[name]:
                    write_atomic(folder / name, data, sync_dir=False)
                    touched.add(folder)
            for name in sorted(present.keys() - wanted.keys()):
                (folder / name).unlink(missing_ok=True)
                touched.add(folder)
            display = folder / "displayname"
            if not display.exists() or display.read_text(encoding="utf-8") != cal.meta.name:
                write_atomic(display, cal.meta.name.encode("utf-8"), sync_dir=False)
        except OSError as exc:
            raise IcsbridgeError(
                f"vdir {folder}: {exc.strerror}; check [daemon].output_dir and permissions"
            ) from exc
        with state.transaction():
            state.set_vdir_hashes(source, cal.meta.key, hashes)
    sync_dirs(touched)

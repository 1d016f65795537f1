"""A vdir per calendar (``vdir = true`` on a source): one ``<uid>.ics`` per event.

Layout: ``<output_dir>/vdir/<source>/<calendar path>/``, each a collection as khal and
vdirsyncer's filesystem storage read them (``fileext = ".ics"``), with a ``displayname``
file. Every file is a whole VCALENDAR holding one event and the VTIMEZONEs it uses. A UID
that cannot be a file name as it is gets one that can (:func:`file_name`); edits are read
by the UID inside each file, so the name only has to be stable.

The state records, file by file, the hash of what icsbridge wrote (``vdir_files``), and
the calendars to look at are the ones recorded there, so ``run`` and ``export`` see the
same edits. Edits made there are pushed back at the next sync, before the pull: a file
whose bytes differ from its record, a new file, or a recorded file that is gone. Such a
calendar goes through the one engine (``icsbridge.daemon.push.engine``) as a whole
calendar of which only those files count: the events of changed and new files are
uploaded, a UID whose written file is gone and that no file holds any more is a deletion
(within ``max_deletes``), and every other event stays as the API has it. So what
icsbridge failed to write is never an edit: a file left with its old bytes matches its
record (it is written at the next sync), and a file never written has no record.

When a push is refused (unsupported rule, conflict, read-only source, unreadable file),
the calendar's directory is left exactly as the user left it and the refusal is logged
at each sync, so no edit is lost; delete the directory to take the API's version again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path

import httpx

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import SourceSettings
from icsbridge.converters.ical.assembly import assemble
from icsbridge.converters.ical.upload.errors import UploadError
from icsbridge.converters.ical.upload.read import UploadedEvent, parse_upload
from icsbridge.daemon.feeds.atomic import sync_dirs, write_atomic
from icsbridge.daemon.push.engine import push
from icsbridge.daemon.push.plan import PushRefused, PushRequest
from icsbridge.daemon.sources.base import Source
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar, source_error_line

log = logging.getLogger("icsbridge.vdir")

VDIR_FOLDER = "vdir"
DISPLAYNAME = "displayname"
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+=-]")
_MAX_NAME = 200
"""Bytes in a file name: NAME_MAX (255) less what write_atomic's temporary file beside it
adds (``.<name>.XXXXXXXX.tmp``), with room to spare."""
_HEAD = 64  # characters of a too-long name kept in front of its hash, to stay readable


def vdir_path(output_dir: Path, key: str) -> Path:
    """The directory of calendar ``key`` (refuses a key that would leave ``output_dir``)."""
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise IcsbridgeError(f'calendar key "{key}" is not a safe file path; please report it')
    return output_dir.joinpath(VDIR_FOLDER, *parts)


def file_name(uid: str) -> str:
    """``<uid>.ics`` with anything unsafe in a file name percent-encoded. A name that would
    be too long keeps its first characters and ends with ``~`` and the UID's SHA-256:
    an encoded name never holds ``~`` (it becomes ``%7E``), so no two UIDs share a name,
    and a UID gets the same name at every run."""
    safe = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), uid)
    if safe.startswith("."):
        safe = "%2E" + safe[1:]
    if len(safe) + len(".ics") <= _MAX_NAME:
        return safe + ".ics"
    head = safe[:_HEAD]
    if "%" in head[-2:]:  # do not cut a %XX in two
        head = head[: head.rindex("%")]
    return f"{head}~{_digest(uid.encode())}.ics"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _on_disk(folder: Path) -> dict[str, str]:
    return {f.name: _digest(f.read_bytes()) for f in sorted(folder.glob("*.ics")) if f.is_file()}


def _written(state: StateStore, source: str, key: str) -> dict[str, str]:
    """What icsbridge last wrote to the calendar's event files, by file name."""
    return {n: h for n, h in state.vdir_hashes(source, key).items() if n != DISPLAYNAME}


def edited_calendars(output_dir: Path, source: str, state: StateStore) -> list[str]:
    """The calendars whose vdir differs from what icsbridge last wrote there (raises
    ``OSError`` when a folder cannot be read)."""
    out = []
    for key in state.vdir_calendars(source):
        folder = vdir_path(output_dir, key)
        if folder.is_dir() and _on_disk(folder) != _written(state, source, key):
            out.append(key)
    return out


def vdir_request(
    key: str, folder: Path, written: Mapping[str, str], published: Iterable[str]
) -> PushRequest:
    """The push of an edited vdir (see the module doc): ``written`` is what icsbridge
    wrote there by file name, ``published`` the calendar's UIDs. :class:`UploadError`
    names a file that cannot be read or a UID held by two files."""
    origin: dict[str, Path] = {}
    events: dict[str, UploadedEvent] = {}
    for file in sorted(folder.glob("*.ics")):
        if not file.is_file():
            continue
        data = file.read_bytes()
        for uid, event in parse_upload(data, what=str(file)).items():
            if uid in origin:
                raise UploadError(f'{file}: the UID "{uid}" is also in {origin[uid]}; keep one')
            origin[uid] = file
            if written.get(file.name) != _digest(data):
                events[uid] = event
    gone = frozenset(u for u in published if file_name(u) in written and u not in origin)
    return PushRequest(key, events, deletable=gone)


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
    name = source.name
    try:
        edited = edited_calendars(output_dir, name, state)
    except OSError as exc:
        # Without knowing which calendar was edited, none may be written over.
        log.warning(
            "%s; no vdir of the source is written until it can be read",
            source_error_line(name, f"vdir {exc.filename or output_dir}: {exc.strerror or exc}"),
        )
        return set(state.vdir_calendars(name))
    held: set[str] = set()
    for key in edited:
        folder = vdir_path(output_dir, key)
        try:
            published = [row.uid for row in state.items(name, key)]
            request = vdir_request(key, folder, _written(state, name, key), published)
            outcome = await push(source, state, request, now=now)
        except PushRefused as exc:
            held.add(key)
            details = "".join(f"\n  {line}" for line in exc.lines)
            line = source_error_line(name, exc.message)
            log.warning("%s (vdir %s is left as it is)%s", line, folder, details)
            continue
        except UploadError as exc:
            held.add(key)
            log.warning("%s; the vdir is left as it is", source_error_line(name, str(exc)))
            continue
        except OSError as exc:
            held.add(key)
            line = source_error_line(name, f"vdir {exc.filename or folder}: {exc.strerror or exc}")
            log.warning("%s; the vdir is left as it is", line)
            continue
        for line in outcome.plan:
            log.info('source "%s": vdir %s: %s', name, key, line)
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
    nothing (the feeds' empty guard holds it the same way).

    Each calendar's record is what its folder holds once done, file by file, and is made
    durable after the folder: a write failing part way (disk full, permissions) stops
    that calendar and leaves nothing that reads as an edit at the next sync, which writes
    again. The failures are raised as one :class:`IcsbridgeError` line."""
    if not any(cal.events for cal in calendars):
        return
    failures: list[str] = []
    for cal in calendars:
        if cal.meta.key in held:
            continue
        folder = vdir_path(output_dir, cal.meta.key)
        wanted = {file_name(ev.uid): assemble(cal.meta, [ev]) for ev in cal.events}
        wanted[DISPLAYNAME] = cal.meta.name.encode("utf-8")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Whatever the folder holds now is accounted for: the calendar was not
            # edited, or its edits were pushed.
            record = _on_disk(folder)
            display = folder / DISPLAYNAME
            if display.is_file():
                record[DISPLAYNAME] = _digest(display.read_bytes())
        except OSError as exc:
            failures.append(_write_failure(exc.filename or folder, exc))
            continue  # its record stays as it was
        found = dict(record)
        failure = _write_folder(folder, wanted, record)
        if failure is not None:
            failures.append(failure)
        if record != found:
            sync_dirs({folder})  # the renames are durable before the record naming them
        if record != state.vdir_hashes(source, cal.meta.key):
            with state.transaction():
                state.set_vdir_hashes(source, cal.meta.key, record)
    if failures:
        more = f"; writing {len(failures) - 1} other calendar(s) failed too" * (len(failures) > 1)
        raise IcsbridgeError(failures[0] + more)


def _write_folder(folder: Path, wanted: dict[str, bytes], record: dict[str, str]) -> str | None:
    """Bring ``folder`` to ``wanted`` (file name -> bytes), keeping ``record`` (file name
    -> hash of what the folder holds) true after each step. The first failure stops it
    and is returned as one line."""
    path = folder
    try:
        for name, data in sorted(wanted.items()):
            path, digest = folder / name, _digest(data)
            if record.get(name) != digest:
                write_atomic(path, data, sync_dir=False)
                record[name] = digest
        for name in sorted(record.keys() - wanted.keys()):
            path = folder / name
            path.unlink(missing_ok=True)
            del record[name]
    except OSError as exc:
        return _write_failure(path, exc)
    return None


def _write_failure(path: object, exc: OSError) -> str:
    return (
        f"vdir {path}: {exc.strerror or exc}; check [daemon].output_dir and free space or "
        "permissions (the next sync writes it again)"
    )

"""vdirsyncer's ``caldav`` storage synced both ways with a ``filesystem`` folder.

One pair, ``cal``: ``a`` is the folder (one sub-folder per calendar, one ``.ics`` per
event, as khal reads it), ``b`` the CalDAV server. Events are created, changed and
deleted by editing files in the folder and syncing, as a vdirsyncer user does; a file the
server refuses stays in the folder, and :meth:`Vdirsyncer.sync` returns what vdirsyncer
said about it. The password reaches vdirsyncer through ``password.fetch`` from a file
of mode 0600, never in the config or on a command line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WAIT = 120.0
INSTALL_HINT = "install the test dependencies (scripts/setup.sh --test)"


class VdirsyncerUnavailable(Exception):
    """No vdirsyncer to run: a setup problem, never a skip."""


@dataclass(frozen=True)
class Run:
    """One vdirsyncer command: its exit status and what it printed (stdout + stderr)."""

    code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def vdirsyncer_program() -> str:
    """The venv's vdirsyncer (beside this interpreter), else one on PATH (Debian's)."""
    beside = Path(sys.executable).parent / "vdirsyncer"
    if beside.exists():
        return str(beside)
    found = shutil.which("vdirsyncer")
    if found is None:
        raise VdirsyncerUnavailable(f"vdirsyncer is not installed; {INSTALL_HINT}")
    return found


class Vdirsyncer:
    """vdirsyncer for ``user`` at ``url`` (a calendar home or any URL it discovers from),
    working in ``folder``: ``config``, ``status/``, ``calendars/<name>/*.ics``.
    ``ca_file`` is the CA that signed an https server's certificate."""

    def __init__(
        self,
        folder: Path,
        url: str,
        user: str,
        password: str,
        *,
        ca_file: Path | None = None,
    ) -> None:
        self.folder = folder
        self.calendars_dir = folder / "calendars"
        self.program = vdirsyncer_program()
        folder.mkdir(parents=True, exist_ok=True)
        secret = folder / "password"
        secret.touch(mode=0o600)
        secret.write_text(password)
        remote = {
            "type": '"caldav"',
            "url": json.dumps(url),
            "username": json.dumps(user),
            "password.fetch": json.dumps(["command", "cat", str(secret)]),
        }
        if ca_file is not None:
            remote["verify"] = json.dumps(str(ca_file))
        self.config = folder / "config"
        self.config.write_text(
            "[general]\n"
            f"status_path = {json.dumps(str(folder / 'status'))}\n\n"
            '[pair cal]\na = "local"\nb = "remote"\ncollections = ["from b"]\n'
            'implicit = "create"\nconflict_resolution = "b wins"\n\n'
            "[storage local]\n"
            f'type = "filesystem"\npath = {json.dumps(str(self.calendars_dir))}\n'
            'fileext = ".ics"\n\n'
            "[storage remote]\n" + "".join(f"{k} = {v}\n" for k, v in remote.items())
        )

    def run(self, *args: str) -> Run:
        """``vdirsyncer -c config <args>``, bounded by :data:`WAIT`."""
        done = subprocess.run(
            [self.program, "--config", str(self.config), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    def discover(self) -> list[str]:
        """``vdirsyncer discover``: the server's calendars, each given a folder here;
        their names. Raises AssertionError with vdirsyncer's words if it fails."""
        run = self.run("discover")
        assert run.ok, run.output
        return self.calendars()

    def sync(self, *, force_delete: bool = False) -> Run:
        """``vdirsyncer sync``: both ways; the caller reads :attr:`Run.output` for what
        was refused. vdirsyncer refuses to empty a calendar on one side because the other
        went empty (its guard against a wiped folder) unless ``force_delete``."""
        return self.run("sync", *(["--force-delete"] if force_delete else []))

    def calendars(self) -> list[str]:
        """The calendar folders discovery made (one per server calendar)."""
        if not self.calendars_dir.is_dir():
            return []
        return sorted(p.name for p in self.calendars_dir.iterdir() if p.is_dir())

    def events(self, calendar: str) -> dict[str, str]:
        """The folder of ``calendar``: file name -> .ics text."""
        folder = self.calendars_dir / calendar
        return {p.name: p.read_text() for p in sorted(folder.glob("*.ics"))}

    def write(self, calendar: str, name: str, ics: str) -> Path:
        """Create or replace ``<calendar>/<name>`` in the folder (synced by :meth:`sync`)."""
        path = self.calendars_dir / calendar / name
        path.write_text(ics)
        return path

    def delete(self, calendar: str, name: str) -> None:
        """Remove ``<calendar>/<name>`` from the folder (deleted remotely by :meth:`sync`)."""
        (self.calendars_dir / calendar / name).unlink()

"""Evolution's data server (the CalDAV engine of Evolution and GNOME Calendar), headless.

:class:`EdsSession` starts one private D-Bus session (``dbus-run-session``) with an
unlocked ``gnome-keyring-daemon`` and HOME/XDG folders of its own, and in it
``eds_worker.py`` under Debian's ``/usr/bin/python3`` (``python3-gi``, ``ECal.Client``).
EDS's own services (the source registry, the calendar factory) start on that bus as
they do on a desktop, and end with it. Starting takes a second or more: share one
session per test module. Installed by scripts/install-test-deps.sh; a missing piece
raises :class:`EdsUnavailable` (never a skip).

Plain http only: EDS trusts the system's CAs, not a file given per calendar.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

WORKER = Path(__file__).resolve().parent / "eds_worker.py"
SYSTEM_PYTHON = "/usr/bin/python3"
WAIT = 90.0  # one command, EDS's own 30 s connect bound included
INSTALL_HINT = "run scripts/install-test-deps.sh"
KEYRING_PASSWORD = "icsbridge-test-keyring"  # the scratch keyring's, not a user's

_START = (
    'eval "$(printf %s "$KEYRING_PASSWORD" | '
    'gnome-keyring-daemon --unlock --components=secrets)" >&2; '
    'exec "$SYSTEM_PYTHON" "$WORKER"'
)


class EdsUnavailable(Exception):
    """A piece of the EDS recipe is not installed."""


class EdsError(Exception):
    """EDS refused a command; ``str()`` is the text EDS gave (what Evolution shows)."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def _check_installed() -> None:
    for program in ("dbus-run-session", "gnome-keyring-daemon", SYSTEM_PYTHON):
        if shutil.which(program) is None:
            raise EdsUnavailable(f"{program} is not installed; {INSTALL_HINT}")
    for name in ("evolution-source-registry", "evolution-calendar-factory"):
        if not any(Path(d, name).exists() for d in ("/usr/libexec", "/usr/lib/evolution")):
            raise EdsUnavailable(f"{name} (evolution-data-server) is missing; {INSTALL_HINT}")


class EdsSession:
    """One EDS on a private bus, for as many calendars as :meth:`open` is given.

    ``folder`` becomes HOME (the sources, EDS's cache and the keyring live there);
    EDS's and D-Bus's own messages go to ``folder/eds.log``.
    """

    def __init__(self, folder: Path) -> None:
        _check_installed()
        self.folder = folder
        self.log_path = folder / "eds.log"
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> EdsSession:
        home = self.folder / "home"
        runtime = self.folder / "run"
        for path in (home, runtime):
            path.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        keep = ("PATH", "LANG", "LC_ALL", "TZ")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env |= {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_RUNTIME_DIR": str(runtime),
            "GSETTINGS_BACKEND": "memory",  # no dconf service to start
            "KEYRING_PASSWORD": KEYRING_PASSWORD,
            "SYSTEM_PYTHON": SYSTEM_PYTHON,
            "WORKER": str(WORKER),
        }
        log = self.log_path.open("w")
        self._proc = subprocess.Popen(
            ["dbus-run-session", "--", "sh", "-c", _START],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=self.folder,
        )
        log.close()
        self._answer()  # "ready": the worker imported ECal and reads commands
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            self.command("quit")
            proc.wait(timeout=WAIT)
        except (EdsError, OSError, subprocess.TimeoutExpired, ValueError):
            proc.kill()
            proc.wait(timeout=WAIT)

    def _answer(self) -> Any:
        assert self._proc is not None and self._proc.stdout is not None
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(self._proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(WAIT)
        if not answer or not answer[0]:
            tail = self.log_path.read_text()[-3000:]
            raise EdsError(f"EDS did not answer within {WAIT:.0f} s; its log ends:\n{tail}", -1)
        reply = json.loads(answer[0])
        if "error" in reply:
            raise EdsError(reply["error"], reply.get("code", -1))
        return reply["ok"]

    def command(self, op: str, **arguments: Any) -> Any:
        """Send one command to the worker and return its answer (or raise EdsError)."""
        assert self._proc is not None and self._proc.stdin is not None
        with self._lock:
            self._proc.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
            self._proc.stdin.flush()
            return self._answer()

    def discover(self, url: str, user: str, password: str) -> dict[str, str]:
        """EDS's CalDAV discovery from ``url``: each calendar's href -> display name."""
        found = self.command("discover", url=url, user=user, password=password)
        return {item["href"]: item["name"] for item in found}

    def open(self, uid: str, url: str, user: str, password: str, name: str = "") -> EdsCalendar:
        """The calendar at ``url`` (a collection), as Evolution would add it."""
        self.command("open", uid=uid, url=url, user=user, password=password, name=name or uid)
        return EdsCalendar(self)


class EdsCalendar:
    """The calendar :meth:`EdsSession.open` opened last (one at a time: the worker
    keeps one client)."""

    def __init__(self, session: EdsSession) -> None:
        self.session = session

    def events(self, *, present: Iterable[str] = (), absent: Iterable[str] = ()) -> list[str]:
        """Every event EDS holds for this calendar (.ics text of each VEVENT), after a
        refresh from the server has brought the UIDs ``present`` and taken ``absent``
        away (EDS fetches in the background: say what the server is known to hold)."""
        return list(self.session.command("list", present=list(present), absent=list(absent)))

    def readonly(self) -> bool:
        return bool(self.session.command("readonly"))

    def create(self, ics: str) -> str:
        """Create one VEVENT (``ics`` holds just the component); its UID."""
        return str(self.session.command("create", ics=ics))

    def modify(self, ics: str) -> None:
        self.session.command("modify", ics=ics)

    def remove(self, uid: str) -> None:
        self.session.command("remove", uid=uid)

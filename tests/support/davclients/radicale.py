"""Radicale (PyPI, filesystem storage) as a subprocess on a loopback port.

Readiness is Radicale's own "Radicale server ready" log line, read from its stderr (no
sleep, no polling); the rest of its log goes to ``<folder>/radicale.log``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from icsbridge.daemon.cli.demo import free_port

WAIT = 60.0
READY_LINE = "Radicale server ready"

MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><D:displayname>{name}</D:displayname>
  <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>
"""


class RadicaleError(Exception):
    """Radicale did not start (its log says why)."""


class Radicale:
    """``python -m radicale`` serving ``folder/collections`` for ``users`` (name ->
    password, htpasswd in plain text) on 127.0.0.1; ``tls`` (certificate, key) serves
    https. Use as a context manager; :attr:`url` is the server's root."""

    def __init__(
        self,
        folder: Path,
        users: Mapping[str, str],
        *,
        tls: tuple[Path, Path] | None = None,
        max_resource_size: int | None = None,
    ) -> None:
        self.folder = folder
        self.users = dict(users)
        self.tls = tls
        self.max_resource_size = max_resource_size
        self.port = free_port()
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log_path = folder / "radicale.log"
        self._proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def command(self) -> list[str]:
        htpasswd = self.folder / "users"
        htpasswd.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        args = [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",  # no /etc/radicale/config nor ~/.config: only what is said here
            "--server-hosts",
            f"127.0.0.1:{self.port}",
            "--storage-filesystem-folder",
            str(self.folder / "collections"),
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(htpasswd),
            "--auth-htpasswd-encryption",
            "plain",
            "--auth-delay",
            "0",
            "--server-delay-on-error",
            "0",
            "--logging-level",
            "info",
        ]
        if self.max_resource_size is not None:
            args += ["--server-max-resource-size", str(self.max_resource_size)]
        if self.tls is not None:
            args += [
                "--server-ssl",
                "True",
                "--server-certificate",
                str(self.tls[0]),
                "--server-key",
                str(self.tls[1]),
            ]
        return args

    def __enter__(self) -> Radicale:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self._ready.wait(WAIT) or self._proc.poll() is not None:
            self.stop()
            tail = self.log_path.read_text()[-2000:] if self.log_path.exists() else ""
            raise RadicaleError(f"Radicale did not start on {self.url}:\n{tail}")
        return self

    def _read_log(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        with self.log_path.open("w") as log:
            for line in self._proc.stderr:
                log.write(line)
                log.flush()
                if READY_LINE in line:
                    self._ready.set()
        self._ready.set()  # it exited: __enter__ stops waiting and says so

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=WAIT)

    def client(self, user: str, *, verify: object = True) -> httpx.Client:
        """An httpx client logged in as ``user`` (to arrange what a test starts from)."""
        return httpx.Client(
            base_url=self.url,
            auth=(user, self.users[user]),
            timeout=WAIT,
            trust_env=False,
            verify=verify,  # type: ignore[arg-type]
        )

    def make_calendar(self, user: str, name: str, *, verify: object = True) -> str:
        """MKCALENDAR ``/<user>/<name>/``; its URL."""
        path = f"/{user}/{name}/"
        with self.client(user, verify=verify) as http:
            answer = http.request("MKCALENDAR", path, content=MKCALENDAR.format(name=name))
            answer.raise_for_status()
        return f"{self.url}{path}"

    def put_event(self, user: str, calendar: str, name: str, ics: str) -> None:
        """PUT ``ics`` as ``/<user>/<calendar>/<name>`` (set up a state directly)."""
        with self.client(user) as http:
            answer = http.put(
                f"/{user}/{calendar}/{name}",
                content=ics.encode(),
                headers={"Content-Type": "text/calendar; charset=utf-8"},
            )
            answer.raise_for_status()

    def event_names(self, user: str, calendar: str) -> dict[str, str]:
        """What Radicale stores in the calendar: file name -> its .ics text (read from
        the filesystem storage, not through a client)."""
        folder = self.folder / "collections" / "collection-root" / user / calendar
        return {p.name: p.read_text() for p in sorted(folder.glob("*.ics"))}

"""`icsbridge run` as a real process for end-to-end tests: the daemon runs as a
subprocess with NOTIFY_SOCKET pointing at a datagram socket the test reads, so a test
waits on its notifications (READY, STATUS after each sync) instead of sleeping."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from support.loopback import WAIT


class Notifications:
    """The datagrams the daemon sends to NOTIFY_SOCKET, read as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(WAIT)
        self.seen: list[str] = []

    def wait_for(self, pattern: str) -> str:
        """Block until a datagram matching ``pattern`` arrives (socket timeout bounds it)."""
        while True:
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                raise AssertionError(f"no {pattern!r} notification; got {self.seen}") from None
            self.seen.append(message)
            if re.search(pattern, message):
                return message


class DaemonProcess:
    """`icsbridge run --config <config>`, its output in ``folder/daemon.log``."""

    def __init__(self, config: Path, folder: Path, name: str = "daemon") -> None:
        self.log_path = folder / f"{name}.log"
        self.notes = Notifications(folder / f"{name}.notify")
        env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
        env["NOTIFY_SOCKET"] = str(self.notes.path)
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "icsbridge.daemon.cli", "run", "--config", str(config)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        """SIGTERM, then the exit status (killed if it does not stop in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=WAIT)
            self._log.close()
            self.notes.sock.close()
            self.notes.path.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind (a crash, a power cut)."""
        self.proc.kill()
        self.proc.wait(timeout=WAIT)
        self.stop()

    def output(self) -> str:
        return self.log_path.read_text()


def stop_processes(
    procs: Iterable[subprocess.Popen[bytes]], notes: Iterable[Notifications]
) -> None:
    """SIGTERM every daemon still running, then wait for each (killed after ``WAIT``), and
    close their notification sockets."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=WAIT)
    for note in notes:
        note.sock.close()


def split_tag(scope: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """A request to a shared simulator whose path starts ``/<daemon>-<source>/``: (tag,
    daemon, source, the scope with that prefix removed), so one API logs who asked."""
    tag, _, rest = scope["path"].lstrip("/").partition("/")
    daemon, _, source = tag.partition("-")
    return tag, daemon, source, {**scope, "path": f"/{rest}", "raw_path": f"/{rest}".encode()}

"""`icsbridge run` as a real process, watched through its sd_notify datagrams (asyncio).

The daemon runs as a subprocess with NOTIFY_SOCKET pointing at a datagram socket of the
test; :class:`Notifications` reads every datagram as it comes, and a test waits for the
ones it needs (READY, STATUS after each sync, RELOADING) instead of sleeping or polling.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from support.loopback import WAIT

CLI = [sys.executable, "-m", "icsbridge.daemon.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without proxies (loopback only), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(extra)
    return env


class Notifications:
    """The datagrams a daemon sends to ``path``, kept in order in :attr:`seen`.

    Start :meth:`read` as a task on the test's loop; :meth:`wait_for` then waits (at most
    :data:`WAIT` seconds) for a datagram matching a pattern, or until the process given
    to :meth:`watch` exits.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.seen: list[str] = []
        self._news = asyncio.Condition()
        self._exited: int | None = None

    def watch(self, proc: subprocess.Popen[bytes]) -> None:
        """Wake the waiters when ``proc`` exits (its exit status is then an error)."""
        loop = asyncio.get_running_loop()

        async def exited(status: int) -> None:
            async with self._news:
                self._exited = status
                self._news.notify_all()

        def wait() -> None:
            status = proc.wait()
            asyncio.run_coroutine_threadsafe(exited(status), loop)

        threading.Thread(target=wait, daemon=True).start()

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = (await loop.sock_recv(self.sock, 65536)).decode()
            async with self._news:
                self.seen.append(message)
                self._news.notify_all()

    async def wait_for(self, pattern: str, start: int = 0) -> int:
        """The index of the first datagram from ``seen[start]`` on matching ``pattern``."""

        def found() -> int | None:
            return next(
                (i for i in range(start, len(self.seen)) if re.search(pattern, self.seen[i])),
                None,
            )

        async with self._news:
            try:
                async with asyncio.timeout(WAIT):
                    await self._news.wait_for(
                        lambda: found() is not None or self._exited is not None
                    )
            except TimeoutError:
                raise AssertionError(
                    f"no {pattern!r} notification after #{start}; got {self.seen[start:]}"
                ) from None
            index = found()
            if index is None:
                raise AssertionError(f"the daemon exited with status {self._exited}")
            return index

    def close(self) -> None:
        self.sock.close()


class DaemonProcess:
    """``icsbridge run --config CONFIG`` with NOTIFY_SOCKET set; its output goes to
    ``log`` (one file, stdout and stderr)."""

    def __init__(self, config: Path, notify: Path, log: Path) -> None:
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.proc = subprocess.Popen(
            [*CLI, "run", "--config", str(config)],
            env=clean_env(NOTIFY_SOCKET=str(notify)),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def send(self, sig: signal.Signals) -> None:
        assert self.proc.poll() is None, f"the daemon died: {self.log_text()[-2000:]}"
        self.proc.send_signal(sig)

    def stop(self) -> int:
        """SIGTERM, then the exit status (killed when it does not stop within WAIT)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=WAIT)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        self._log.close()

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

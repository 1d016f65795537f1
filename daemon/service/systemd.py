"""sd_notify without a dependency: tell systemd the daemon is ready, reloading, stopping, alive.

The protocol (sd_notify(3)) is one datagram of newline-separated ``NAME=value`` lines sent
to the AF_UNIX socket named by ``$NOTIFY_SOCKET``: a file system path, or ``@name`` for
the abstract namespace. systemd sets it for ``Type=notify`` services; without it every
method here does nothing, so ``icsbridge run`` behaves the same in a terminal.

The daemon (daemon/service/daemon.py) is expected to call, in this order:

- :meth:`Notifier.ready` once the HTTP socket is bound and the first schedule is set;
- :meth:`Notifier.watchdog` every :meth:`Notifier.watchdog_interval` seconds, from the
  event loop (so a stuck loop stops the pings and systemd restarts the service);
- :meth:`Notifier.reloading` on SIGHUP, then :meth:`Notifier.ready` when the new config
  is in force (systemd keeps the unit "reloading" until then);
- :meth:`Notifier.stopping` on SIGTERM, before the in-flight work is wound down.

A failed send is logged once at WARNING (later ones at DEBUG) and never raised: losing a
notification must not take the feeds down.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"
_KEYS = (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID)


class Notifier:
    """Sends sd_notify messages to ``$NOTIFY_SOCKET``; a no-op when it is not set.

    ``env`` defaults to a snapshot of ``os.environ`` taken now. ``clock`` must be
    CLOCK_MONOTONIC in seconds (systemd compares ``MONOTONIC_USEC`` with its own clock).
    No socket is opened before the first message.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        source = os.environ if env is None else env
        self._env = {key: source[key] for key in _KEYS if key in source}
        self._clock = clock
        self._address = _socket_address(self._env.get(NOTIFY_SOCKET, ""))
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when ``$NOTIFY_SOCKET`` names a socket (a path or ``@abstract``)."""
        return self._address is not None

    def ready(self, status: str | None = None) -> None:
        """Startup (or a reload) is complete: ``READY=1``, plus ``STATUS=`` when given."""
        lines = ["READY=1"]
        if status is not None:
            lines.append(_status_line(status))
        self._send(lines)

    def reloading(self) -> None:
        """The config is being re-read; call :meth:`ready` when it is in force."""
        usec = round(self._clock() * 1_000_000)
        self._send(["RELOADING=1", f"MONOTONIC_USEC={usec}"])

    def stopping(self) -> None:
        """Shutdown has begun."""
        self._send(["STOPPING=1"])

    def watchdog(self) -> None:
        """Still alive: resets systemd's watchdog timer."""
        self._send(["WATCHDOG=1"])

    def status(self, text: str) -> None:
        """A one-line status shown by ``systemctl status``."""
        self._send([_status_line(text)])

    def watchdog_interval(self) -> float | None:
        """Seconds between two :meth:`watchdog` calls: half of ``$WATCHDOG_USEC``.

        None when there is nothing to ping: no notify socket, no (or an invalid)
        ``$WATCHDOG_USEC``, or ``$WATCHDOG_PID`` naming another process (the watchdog
        belongs to a parent, e.g. a wrapper script).
        """
        raw = self._env.get(WATCHDOG_USEC)
        if not self.enabled or not raw:
            return None
        try:
            usec = int(raw)
        except ValueError:
            log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", raw)
            return None
        if usec <= 0:
            return None
        pid = self._env.get(WATCHDOG_PID)
        if pid and pid != str(os.getpid()):
            return None
        return usec / 2_000_000

    def close(self) -> None:
        """Close the socket (a later message opens a new one)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _send(self, lines: list[str]) -> None:
        if self._address is None:
            return
        payload = "\n".join(lines).encode("utf-8")
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                # Never block the event loop: a full queue means systemd is not reading,
                # and a dropped ping is better than a frozen daemon.
                sock.setblocking(False)
                self._sock = sock
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            self._report(exc, lines[0])

    def _report(self, exc: OSError, first_line: str) -> None:
        reason = exc.strerror or type(exc).__name__
        where = _printable(self._address)
        if self._warned:
            log.debug("systemd notification %s to %s failed: %s", first_line, where, reason)
            return
        self._warned = True
        log.warning(
            "systemd notification %s to %s failed: %s (further failures are logged at debug)",
            first_line,
            where,
            reason,
        )


def _socket_address(value: str) -> str | None:
    """The AF_UNIX address for ``$NOTIFY_SOCKET``, or None when it names no unix socket."""
    if not value:
        return None
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        # Linux abstract namespace: a leading NUL byte instead of a path.
        return "\0" + value[1:]
    log.warning(
        "NOTIFY_SOCKET=%r is neither an absolute path nor @name: systemd notifications are off",
        value,
    )
    return None


def _status_line(text: str) -> str:
    # A newline would start a new assignment that systemd would try to interpret.
    return "STATUS=" + " ".join(text.splitlines())


def _printable(address: str | None) -> str:
    if address is not None and address.startswith("\0"):
        return "@" + address[1:]
    return str(address)

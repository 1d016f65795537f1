"""How the last reload (SIGHUP) went, for the log, systemd's STATUS and ``/healthz``.

A reload is all or nothing (``Daemon.reload``): everything the new config needs is built
first, then swapped in; any error before or during the swap puts the old config back,
and the refusal is said here in one line per problem.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from icsbridge.config.errors import ConfigError, IcsbridgeError
from icsbridge.config.settings import Settings
from icsbridge.daemon.service import preflight
from icsbridge.daemon.web.binding import QuietServer
from icsbridge.daemon.web.tls import renew_certificate

log = logging.getLogger("icsbridge.daemon")


@dataclass(frozen=True)
class ReloadStatus:
    """The last reload: when, and the problems that refused it (none: it took effect)."""

    at: datetime
    refused: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The ``reload`` entry of ``/healthz``."""
        return {"ok": not self.refused, "at": self.at.isoformat(), "refused": self.refused}

    def status_line(self, sources: int) -> str:
        """systemd's STATUS after it."""
        if not self.refused:
            return f"reloaded: {sources} sources"
        more = len(self.refused) - 1
        rest = f" (and {more} more problem{'s' * (more > 1)}, see the log)" if more else ""
        return f"reload refused, the old config stays: {self.refused[0]}{rest}"


def read_reload(path: Path, current: Settings) -> Settings:
    """The config at ``path`` as a reload of ``current``, or the error that refuses it.

    It reads the file, every secret (each read gives up after a few seconds), the feed
    tokens, and resolves a new listen address: blocking work, so the daemon runs it in a
    worker thread, and the loop serving feeds (and taking SIGTERM) never waits on it."""
    fresh = preflight.read_config(path)
    error = preflight.reload_error(fresh, current)
    if error is not None:
        raise error
    return fresh


def refusal_lines(exc: BaseException) -> list[str]:
    """What refused a reload, one line per problem; an error nobody expected is named by
    its type (its traceback goes to the debug log)."""
    if isinstance(exc, ConfigError):
        return list(exc.problems)
    if isinstance(exc, IcsbridgeError):
        return [str(exc)]
    log.debug("the reload failed with", exc_info=exc)
    return [f"internal error {type(exc).__name__}: {exc}; please report it"]


def refused(exc: BaseException, at: datetime) -> ReloadStatus:
    """Log the refusal (one error line per problem) and return its status."""
    status = ReloadStatus(at, refusal_lines(exc))
    for line in status.refused:
        log.error("reload refused, the old config stays: %s", line)
    return status


def apply_to_server(fresh: Settings, previous: Settings, server: QuietServer | None) -> None:
    """What a reload changes in the running server: the TLS certificate and key are read
    again (``preflight.reload_error`` checked them), so a renewed certificate serves from
    the next connection on; what cannot change in place is said (``warn_restart_needed``)."""
    warn_restart_needed(fresh, previous)
    serving = None if server is None else server.config.ssl
    tls = fresh.daemon.tls
    if serving is None or tls is None:
        return
    try:
        renew_certificate(serving, *tls)
    except IcsbridgeError as exc:  # changed since the check: the old certificate serves on
        log.error("the TLS certificate was not renewed, the old one serves on: %s", exc)


def warn_restart_needed(fresh: Settings, previous: Settings) -> None:
    """The server's socket and the state stay open: a new listen or state waits, and so
    does turning TLS on or off (the socket speaks one or the other)."""
    moved = [
        k for k in ("listen", "state") if getattr(fresh.daemon, k) != getattr(previous.daemon, k)
    ]
    if (fresh.daemon.tls is None) != (previous.daemon.tls is None):
        moved.append("TLS")
    if moved:
        verb = "take" if len(moved) > 1 else "takes"
        log.warning("[daemon] %s %s effect at the next restart", " and ".join(moved), verb)

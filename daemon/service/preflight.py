"""What ``icsbridge run`` refuses to start with, one function per check.

``run`` meets each problem where it would fail (reading the config, binding the socket,
opening the state, giving the feeds their tokens) and stops at the first; ``check``
calls :func:`run_problems` to find them all without starting anything; a reload calls
the ones a running daemon can still fail. Each check is the same function everywhere,
so a problem reads the same in ``check``, ``run`` and the reload's log:

- the config and its secrets: :func:`read_config` (``config.loader``);
- the ``[[feeds]]`` tokens (short, not URL-safe, shared): :func:`token_error`
  (``daemon.feeds.tokens.configured_problem``);
- ``[daemon].listen``: :func:`listen_error` (``daemon.web.binding.bind``; resolvable,
  free, ours to bind);
- ``[daemon].state``: :func:`state_error` (``daemon.store.opening.reach_problem``; a SQLite
  file: not a folder, readable and writable, of a schema this icsbridge reads; a
  PostgreSQL database: answers the connection ``run`` makes, with such a schema);
- ``[daemon].tls_certificate`` and ``tls_key``: :func:`tls_error`
  (``daemon.web.tls.tls_problem``; readable, PEM, one pair, no passphrase), which
  ``binding.feed_server`` also raises before uvicorn loads them.
"""

from __future__ import annotations

from pathlib import Path

from icsbridge.config.errors import ConfigError, IcsbridgeError
from icsbridge.config.loader import load_settings, resolve_secrets
from icsbridge.config.settings import Settings
from icsbridge.daemon.feeds.tokens import configured_problem
from icsbridge.daemon.store.opening import reach_problem
from icsbridge.daemon.store.state import StateError
from icsbridge.daemon.web.binding import ListenError, check_listen
from icsbridge.daemon.web.tls import TlsError, tls_problem


def read_config(path: Path) -> Settings:
    """The config at ``path`` with every secret readable, or ConfigError."""
    settings = load_settings(path)
    problems = resolve_secrets(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def configured_tokens(settings: Settings) -> dict[str, str]:
    """The ``[[feeds]]`` tokens given in the config, read, by feed name; a token that
    cannot be read is left out (``resolve_secrets`` names it)."""
    tokens: dict[str, str] = {}
    for feed in settings.feeds:
        if feed.token is None:
            continue
        try:
            tokens[feed.name] = feed.token.resolve()
        except ConfigError:
            continue
    return tokens


def token_error(settings: Settings) -> ConfigError | None:
    """A configured feed token unfit for a URL, or shared by two feeds."""
    problem = configured_problem(configured_tokens(settings))
    return None if problem is None else ConfigError([f"{settings.path}: {problem}"])


def listen_error(settings: Settings) -> ListenError | None:
    """Why the feed server could not listen on ``[daemon].listen`` now (bound, then closed)."""
    try:
        check_listen(settings.daemon.host, settings.daemon.port)
    except ListenError as exc:
        return exc
    return None


def state_error(settings: Settings) -> StateError | None:
    """Why ``[daemon].state`` cannot be opened (nothing is created: a SQLite file is
    looked at, a PostgreSQL database connected to and read)."""
    problem = reach_problem(settings.daemon.state)
    return None if problem is None else StateError(problem)


def tls_error(settings: Settings) -> TlsError | None:
    """Why the TLS certificate and key could not serve HTTPS (None without TLS)."""
    tls = settings.daemon.tls
    return None if tls is None else tls_problem(*tls)


def run_problems(settings: Settings) -> list[IcsbridgeError]:
    """Every error ``run`` would stop at with ``settings`` (already loaded), in the order
    it meets them: secrets, listen, state, feed tokens, TLS files."""
    errors: list[IcsbridgeError] = []
    secrets = resolve_secrets(settings)
    if secrets:
        errors.append(ConfigError(secrets))
    checks = (listen_error, state_error, token_error, tls_error)
    for error in (check(settings) for check in checks):
        if error is not None:
            errors.append(error)
    return errors


def reload_error(fresh: Settings, current: Settings) -> IcsbridgeError | None:
    """What refuses ``fresh`` (read by :func:`read_config`) as a reload of ``current``:
    its feed tokens, its TLS files (read again: a renewed certificate takes effect now),
    and a changed listen or state that the next start would refuse (they take effect
    then, and a daemon that cannot start again is worse than a refused reload)."""
    error: IcsbridgeError | None = token_error(fresh) or tls_error(fresh)
    if error is None and fresh.daemon.listen != current.daemon.listen:
        error = listen_error(fresh)
        if isinstance(error, ListenError) and error.in_use:
            # Most likely by this daemon ("127.0.0.1:8080" -> "0.0.0.0:8080"), which frees
            # it before the restart; something else would have it on the old one too.
            error = None if fresh.daemon.port == current.daemon.port else error
    if error is None and fresh.daemon.state != current.daemon.state:
        error = state_error(fresh)
    return error

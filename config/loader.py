"""Read the TOML config file into :class:`~icsbridge.config.settings.Settings`.

Every problem in the file is reported in one :class:`~icsbridge.config.errors.ConfigError`, one
line each, prefixed by the file name as the user gave it::

    config.toml: source "hq": field "interval": "5x" is not a duration (e.g. "15m", "1h30m")
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from icsbridge.config.errors import ConfigError
from icsbridge.config.problems import describe_errors, known_top_level_keys, unknown_key_line
from icsbridge.config.secrets import SecretRef
from icsbridge.config.settings import Settings

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)$")


def load_settings(path: Path) -> Settings:
    """Read, parse and validate the config file at ``path``.

    Relative paths in the file (``state``, ``output_dir``, ``file:`` secrets) are made
    absolute against the file's directory; ``Settings.path`` is the file's absolute path.
    Secrets are not read (see :func:`resolve_secrets`). Raises ConfigError listing every
    problem found.
    """
    shown = str(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([f"{shown}: cannot read the config file: {reason}"]) from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{shown}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"]
        ) from None
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{shown}: {_toml_problem(str(exc), text)}"]) from None
    except ValueError:  # an integer of more than 4300 digits: int() refuses it
        raise ConfigError(
            [f"{shown}: a number in the file is too long to read; no setting takes one that long"]
        ) from None

    problems: list[str] = []
    config_file = Path(os.path.abspath(path))
    data = {key: value for key, value in raw.items() if key != "path"}
    data["path"] = config_file
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data, context={"base_dir": config_file.parent})
    except ValidationError as exc:
        problems.extend(describe_errors(exc, raw))
    if "path" in raw:
        # Settings.path is the file's own location; the file may not set it.
        problems.append(unknown_key_line("path", known_top_level_keys(), None))
    if problems or settings is None:
        raise ConfigError([f"{shown}: {line}" for line in problems])
    return settings


def resolve_secrets(settings: Settings) -> list[str]:
    """Try to read every secret the settings refer to; return one line per failure.

    For ``icsbridge check``: an empty list means every secret can be read now. The
    values read are dropped at once; they are never kept or returned.
    """
    problems: list[str] = []
    users = settings.caldav.users if settings.caldav is not None else []
    for entry in [settings.daemon, *settings.sources, *settings.feeds, *users]:
        for name in type(entry).model_fields:
            ref = getattr(entry, name)
            if not isinstance(ref, SecretRef):
                continue
            try:
                ref.resolve()
            except ConfigError as exc:
                problems.extend(f"{settings.path}: {line}" for line in exc.problems)
    return problems


def _toml_problem(message: str, text: str) -> str:
    """``line 7: <what tomllib says> (column 5)`` from a TOMLDecodeError message."""
    position = _TOML_POSITION.search(message)
    if position:
        what = message[: position.start()]
        return f"line {position[1]}: {what} (column {position[2]})"
    at_end = _TOML_AT_END.search(message)
    if at_end:
        last_line = max(1, len(text.splitlines()))
        return f"line {last_line}: {message[: at_end.start()]} (at the end of the file)"
    return message

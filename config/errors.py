"""The one error hierarchy of icsbridge.

Every error a user can act on derives from :class:`IcsbridgeError`; ``str(err)`` is
one line saying what is wrong and what to do. The CLI prints that line and exits with
``exit_code``; a traceback is shown only with ``--debug``.

It lives in ``config`` because that is the bottom layer: converters and daemon both
import it, and it imports nothing of theirs.
"""

from __future__ import annotations


class IcsbridgeError(Exception):
    """A problem the user can act on. ``str(self)`` is one actionable line."""

    exit_code: int = 1


class ConfigError(IcsbridgeError):
    """The config file is wrong. Holds every problem found, one line each."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Problems(IcsbridgeError):
    """Several errors found in one pass (``icsbridge check``): each is shown as it would
    be alone (:func:`error_lines`), and the exit status is the highest of theirs."""

    def __init__(self, errors: list[IcsbridgeError]) -> None:
        self.errors = list(errors)
        self.exit_code = max((e.exit_code for e in self.errors), default=1)
        super().__init__("\n".join(str(e) for e in self.errors))


def error_lines(exc: IcsbridgeError) -> list[str]:
    """The lines the CLI prints for ``exc``: a config's problems as they are (they start
    with the file name), any other error as ``icsbridge: <line>``."""
    if isinstance(exc, Problems):
        return [line for error in exc.errors for line in error_lines(error)]
    if isinstance(exc, ConfigError):
        return list(exc.problems)
    return [f"icsbridge: {exc}"]

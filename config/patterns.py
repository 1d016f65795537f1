"""Patterns over calendar keys (``"<source>/<path>"``), as ``[[feeds]]`` and
``[[caldav.users]]`` write them: fnmatch patterns whose first segment names a source."""

from __future__ import annotations

import fnmatch

from icsbridge.config import fields
from icsbridge.config.wording import quote, toml_type


def check_patterns(value: object) -> list[str]:
    """A non-empty array of patterns, each reaching calendars (not naming a source)."""
    if not isinstance(value, list):
        raise fields.problem(f'expected an array of patterns like ["hq/*"], got {toml_type(value)}')
    if not value:
        raise fields.problem('no pattern given; list the calendars to merge (e.g. ["hq/*"])')
    for number, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise fields.problem(f"item {number}: expected a pattern string, got {toml_type(item)}")
        if not item.strip():
            raise fields.problem(f"item {number} is empty; give a pattern or remove it")
        if names_a_source(item):
            raise fields.problem(
                f"{quote(item)} names a source, not calendars (calendar keys are "
                f"source/path: write {quote(item + '/*')} for all of them)"
            )
    return list(value)


def names_a_source(pattern: str) -> bool:
    """``"hq"`` can match no calendar: keys are ``"<source>/<path>"``."""
    return "/" not in pattern and not any(char in pattern for char in "*?[")


def reaches(pattern: str, source: str) -> bool:
    """True when ``pattern`` can match some calendar of ``source``."""
    # A key is "<source>/<path>", so the pattern's first segment must match the source
    # name; fnmatch's "*" also matches "/", so a "*" before the first "/" reaches any
    # source that the text up to and including that "*" matches.
    star, slash = pattern.find("*"), pattern.find("/")
    if star != -1 and (slash == -1 or star < slash):
        return fnmatch.fnmatchcase(source, pattern[: star + 1])
    return fnmatch.fnmatchcase(source, pattern if slash == -1 else pattern[:slash])


def matches(patterns: list[str], key: str) -> bool:
    """True when calendar ``key`` matches one of ``patterns``."""
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)

"""Durations as users write them: "30s", "15m", "1h30m", "1d".

The grammar is deliberately small: whole numbers followed by a unit, units in the
order d, h, m, s, each at most once, no spaces. :func:`format_duration` writes the
same grammar back, so ``parse_duration(format_duration(n))`` gives ``n`` seconds.
"""

from __future__ import annotations

import re
from datetime import timedelta

from icsbridge.config.wording import quote

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
DURATION_EXAMPLES = '(e.g. "15m", "1h30m")'


def parse_duration(text: str) -> timedelta:
    """Parse "1h30m"-style text.

    Raises ValueError whose message is one user-facing phrase, e.g.
    ``"5x" is not a duration (e.g. "15m", "1h30m")``.
    """
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{quote(text)} is not a duration {DURATION_EXAMPLES}")
    try:
        # int() refuses more than 4300 digits (ValueError), timedelta() more than
        # 999999999 days (OverflowError): both are the same mistake to the user.
        days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except (OverflowError, ValueError):
        raise ValueError(f"{quote(text)} is too long a duration") from None


def format_duration(seconds: int) -> str:
    """Write a whole number of seconds the way users write durations: 5400 -> "1h30m"."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    rest = seconds
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)

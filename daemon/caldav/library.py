"""Whether the CalDAV extra (xandikos) is installed: ``[caldav]`` without it is one line."""

from __future__ import annotations

import importlib.util

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import Settings

_MODULES = ("xandikos.webdav", "xandikos.caldav", "xandikos.sync")


class CaldavUnavailable(IcsbridgeError):
    """``[caldav]`` is configured but its library is not installed."""


def caldav_problem(settings: Settings) -> CaldavUnavailable | None:
    """Why ``[caldav]`` cannot be served, or None (also when it is not configured)."""
    if settings.caldav is None:
        return None
    try:
        missing = [m for m in _MODULES if importlib.util.find_spec(m) is None]
    except ImportError:  # the parent package itself is missing
        missing = list(_MODULES)
    if not missing:
        return None
    return CaldavUnavailable(
        f"{settings.path}: [caldav] is set, but the CalDAV extra is not installed; run "
        "`pip install 'icsbridge[caldav]'` (scripts/setup.sh does) or remove [caldav]"
    )

"""API sources behind one interface (see :class:`daemon.sources.base.Source`).

Importing this package registers every concrete source in ``SOURCE_KINDS``.
"""

from __future__ import annotations

from . import (
    apio,  # noqa: F401  (registers kind "apio")
    b2core,  # noqa: F401  (registers kind "b2core")
    webex,  # noqa: F401  (registers kind "webex")
    wordbee,  # noqa: F401  (registers kind "wordbee")
)
from .base import SOURCE_KINDS, PulledCalendar, Source, TokenStore, source_for

__all__ = ["SOURCE_KINDS", "PulledCalendar", "Source", "TokenStore", "source_for"]

"""Windows (.NET) time zone ids -> IANA zones, from icalendar's copy of the CLDR table.

APIs built on .NET (Wordbee...) name zones like ``"Romance Standard Time"``. CLDR's
windowsZones.xml maps each to its "001" (golden) IANA zone; icalendar ships that table,
generated from CLDR, as ``icalendar.timezone.windows_to_olson.WINDOWS_TO_OLSON``. We use
it rather than keeping a copy that would age on its own.

Nothing here guesses: an id that is neither in the table nor an IANA key gives None, and
the caller decides (a configured fallback, said out loud, or an error).
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone import windows_to_olson
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

__all__ = ["TABLE_VERSION", "iana_zone"]

TABLE_VERSION: str = f"CLDR windowsZones.xml of {windows_to_olson.version_date}"
"""Which table this is, for ``icsbridge check`` and log lines."""


@cache
def _folded() -> dict[str, str]:
    """The table keyed by case-folded, space-normalised id (some APIs vary the case)."""
    return {" ".join(key.split()).casefold(): value for key, value in WINDOWS_TO_OLSON.items()}


def iana_zone(zone_id: str) -> str | None:
    """The IANA key for a Windows zone id, or ``zone_id`` itself when it is an IANA key.

    None when it is neither (unknown Windows id, empty text, a bare offset...).
    """
    text = " ".join(zone_id.split())
    if not text:
        return None
    mapped = WINDOWS_TO_OLSON.get(text) or _folded().get(text.casefold())
    if mapped is not None:
        return mapped
    if "/" in text or text == "UTC":
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a dir
            return None
        return text
    return None

"""Calendar keys (``<source>/<path>``) from API names: safe as file paths, unique per source.

Shared by every source: the key becomes a file path under the output directory, so each
segment is cleaned, and two calendars of one source never get the same key.
"""

from __future__ import annotations

import hashlib
import itertools
import re

_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")


def safe_segment(text: str) -> str:
    """``text`` as one path segment: ``/``, ``\\``, control characters and leading dots
    become ``_`` (so no segment is empty, ``.`` or ``..``, or hidden)."""
    cleaned = _UNSAFE.sub("_", text)
    stripped = cleaned.lstrip(".")
    return ("_" * (len(cleaned) - len(stripped)) + stripped) or "_"


def unique_key(key: str, native_id: str, taken: set[str]) -> str:
    """``key``, or ``key~<first 6 hex of sha1(native_id)>`` when taken; records the result.

    Call it in a deterministic order (e.g. sorted by key, then id) so the same data
    always gives the same keys. Keys are compared case-folded: they become file names,
    and some file systems fold case. The longer forms only serve a name that happens to
    end like a suffix, or ids that are not unique across owners.
    """
    folded = key.casefold()
    if folded not in taken:  # the usual case: no digest to compute (every calendar, every sync)
        taken.add(folded)
        return key
    digest = hashlib.sha1(native_id.encode("utf-8")).hexdigest()
    candidates = itertools.chain(
        (f"{key}~{digest[:n]}" for n in (6, 12, 40)),
        (f"{key}~{digest[:6]}-{n}" for n in itertools.count(2)),
    )
    chosen = next(c for c in candidates if c.casefold() not in taken)
    taken.add(chosen.casefold())
    return chosen

"""How deep the components of an upload nest, found in the raw text before parsing."""

from __future__ import annotations

import re

MAX_NESTING = 10
"""How deep components may nest (VCALENDAR > VEVENT > VALARM is 3). icalendar parses,
copies and writes components recursively: hundreds of levels end in a RecursionError."""
# Where components begin and end, found in the raw text in one pass (unfolding 20 MB
# first costs seconds). icalendar unfolds ``(\r?\n)+[ \t]`` (so a line starting with a
# blank or tab is always a continuation), splits lines at ``\r?\n``, ends a name at the
# first ``;`` or ``:``, strips it and drops blanks and tabs in it. A BEGIN is matched
# loosely (folds and blanks anywhere, parameters): counting one the parser would not see
# only refuses a freak upload. An END is matched strictly (no folds, no parameters):
# counting one the parser would not see would let nesting through. Each fold is pinned
# to the first line break of its run, as icalendar does, so no input makes this slow.
_FOLD = r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*+[ \t]"
_GAP = rf"(?:[^\S\n]|{_FOLD})*+"  # what a name may be stripped of, folds included
_IN = rf"(?:[ \t]|{_FOLD})*+"  # blanks, tabs and folds inside a name
_BEGIN = _GAP + "(?P<begin>" + _IN.join("BEGIN") + ")" + _GAP + "[;:]"
_END = r"[^\S\n]*+" + r"[ \t]*+".join(("[Ee]", "[Nn]", "[Dd]")) + r"[ \t]*+:"
_BEGIN_OR_END = re.compile(rf"^(?![ \t])(?:(?i:{_BEGIN})|{_END})", re.MULTILINE)


def too_deep(text: str) -> int | None:
    """The line of the first BEGIN nested deeper than :data:`MAX_NESTING`, or None
    (see ``_BEGIN_OR_END`` for how BEGIN and END lines are told)."""
    depth = 0
    for found in _BEGIN_OR_END.finditer(text):
        if found.group("begin") is None:
            depth = max(depth - 1, 0)
            continue
        depth += 1
        if depth > MAX_NESTING:
            return text.count("\n", 0, found.start("begin")) + 1
    return None

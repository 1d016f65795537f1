"""``validate_feed``: the checks of ICALENDAR.md as a pure function over feed bytes.

Every problem is one line starting with where it is: ``event "<UID>"`` (or the line
number when the event has no UID), ``VTIMEZONE "<TZID>"``, ``calendar``, or ``line N``.
It never raises on bad input: whatever cannot be read becomes a problem line too.
"""

from __future__ import annotations

import re

from icsbridge.converters.ical.feedcheck.events import check_events
from icsbridge.converters.ical.feedcheck.model import Node, label
from icsbridge.converters.ical.text import MAX_OCTETS, ContentLine, parse_content_line

_UTC_NAMES = frozenset({"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "UCT", "ETC/UCT", "ZULU"})


def validate_feed(data: bytes) -> list[str]:
    """Problems that keep some calendar app from reading ``data`` right; [] when none."""
    if not data:
        return ["feed: empty (not even BEGIN:VCALENDAR)"]
    physical, line_problems = _physical_lines(data)
    groups = _unfold(physical)
    line_problems += _logical_problems(groups)
    root, owners, tree_problems = _build_tree(groups)
    group_of = {
        number: index
        for index, (first, pieces) in enumerate(groups)
        for number in range(first, first + len(pieces))
    }
    problems: list[str] = []
    for number, message in sorted(line_problems, key=lambda item: item[0]):
        owner = owners.get(group_of.get(number, -1))
        where = label(owner) if owner is not None else "feed"
        problems.append(f"{where}: line {number}: {message}")
    problems += [f"{label(node)}: {message}" for node, message in tree_problems]
    calendars = [node for node in root.children if node.name == "VCALENDAR"]
    if len(calendars) != 1:
        problems.append(f"feed: {len(calendars)} VCALENDAR objects (a feed holds one)")
    for calendar in calendars:
        _check_calendar(calendar, problems)
        _check_timezones(calendar, problems)
        check_events(calendar, problems)
    _check_values(root, problems)
    return problems


_Located = list[tuple[int, str]]  # (physical line number, problem)


def _physical_lines(data: bytes) -> tuple[list[bytes], _Located]:
    pieces = re.split(rb"(\r\n|\n|\r)", data)
    lines, endings = pieces[0::2], pieces[1::2]
    problems: _Located = []
    bare = [number for number, end in enumerate(endings, start=1) if end != b"\r\n"]
    if bare:
        more = f" (and {len(bare) - 1} more lines)" if len(bare) > 1 else ""
        problems.append((bare[0], f"ends in a bare LF or CR, not CRLF{more}"))
    if lines[-1] == b"":
        lines.pop()
    else:
        problems.append((len(lines), "the last line does not end in CRLF"))
    return lines, problems


_Group = tuple[int, list[bytes]]  # first physical line number, its folded pieces


def _unfold(physical: list[bytes]) -> list[_Group]:
    groups: list[_Group] = []
    for number, piece in enumerate(physical, start=1):
        if piece[:1] in (b" ", b"\t") and groups:
            groups[-1][1].append(piece)
        else:
            groups.append((number, [piece]))
    return groups


def _joined(pieces: list[bytes]) -> bytes:
    return pieces[0] + b"".join(piece[1:] for piece in pieces[1:])


def _logical_problems(groups: list[_Group]) -> _Located:
    problems: _Located = []
    for number, pieces in groups:
        try:
            _joined(pieces).decode("utf-8")
        except UnicodeDecodeError:
            problems.append((number, "not valid UTF-8"))
        else:
            for offset, piece in enumerate(pieces):
                try:
                    piece.decode("utf-8")
                except UnicodeDecodeError:
                    problems.append((number + offset, "folded inside a UTF-8 sequence"))
                    break
        problems.extend(
            (number + offset, f"{len(piece)} octets (fold at 75)")
            for offset, piece in enumerate(pieces)
            if len(piece) > MAX_OCTETS
        )
        if not pieces[0]:
            problems.append((number, "blank line"))
    return problems


def _build_tree(
    groups: list[_Group],
) -> tuple[Node, dict[int, Node], list[tuple[Node, str]]]:
    """The component tree, the component owning each logical line, structure problems."""
    root = Node("", 0)
    stack = [root]
    owners: dict[int, Node] = {}
    problems: list[tuple[Node, str]] = []
    for index, (number, pieces) in enumerate(groups):
        owners[index] = stack[-1]
        text = _joined(pieces).decode("utf-8", errors="replace")
        if not text:
            continue
        line = parse_content_line(text, number)
        if line is None:
            problems.append((stack[-1], f"line {number}: not a content line"))
        elif line.name == "BEGIN":
            node = Node(line.value.upper(), number, parent=stack[-1])
            stack[-1].children.append(node)
            stack.append(node)
            owners[index] = node
        elif line.name == "END":
            if len(stack) > 1 and stack[-1].name == line.value.upper():
                stack.pop()
            else:
                problems.append((stack[-1], f"line {number}: END:{line.value} out of place"))
        elif len(stack) == 1:
            problems.append((root, f"line {number}: {line.name} outside any component"))
        else:
            stack[-1].lines.append(line)
    for node in stack[1:]:
        problems.append((node, f"BEGIN:{node.name} at line {node.lineno} has no END"))
    return root, owners, problems


def _check_calendar(calendar: Node, problems: list[str]) -> None:
    for name in ("PRODID", "VERSION"):
        count = len(calendar.all(name))
        if count != 1:
            problems.append(f"calendar: {name} appears {count} times (must be once)")
    version = calendar.one("VERSION")
    if version is not None and version.value != "2.0":
        problems.append(f'calendar: VERSION is "{version.value}", not 2.0')
    for method in calendar.all("METHOD"):
        problems.append(
            f"calendar: METHOD:{method.value} present (a feed has none: Outlook reads it "
            "as an invitation)"
        )
    refresh = calendar.one("REFRESH-INTERVAL")
    if refresh is not None and (refresh.param("VALUE") or "").upper() != "DURATION":
        problems.append("calendar: REFRESH-INTERVAL lacks VALUE=DURATION (RFC 7986)")
    ttl = calendar.one("X-PUBLISHED-TTL")
    if refresh is not None and ttl is not None and ttl.value != refresh.value:
        problems.append(
            f"calendar: X-PUBLISHED-TTL {ttl.value} differs from REFRESH-INTERVAL {refresh.value}"
        )


def _check_timezones(calendar: Node, problems: list[str]) -> None:
    defined: dict[str, int] = {}
    for zone in calendar.children:
        if zone.name != "VTIMEZONE":
            continue
        tzid_line = zone.one("TZID")
        if tzid_line is None:
            problems.append(f"{label(zone)}: VTIMEZONE without TZID")
            continue
        defined[tzid_line.value] = defined.get(tzid_line.value, 0) + 1
        blocks = [child for child in zone.children if child.name in ("STANDARD", "DAYLIGHT")]
        if not blocks:
            problems.append(f"{label(zone)}: no STANDARD or DAYLIGHT block")
        for block in blocks:
            for rule in block.all("RRULE"):
                until = re.search(r"UNTIL=([^;]*)", rule.value)
                if until and not until.group(1).endswith("Z"):
                    problems.append(
                        f"{label(zone)}: line {rule.lineno}: RRULE UNTIL {until.group(1)} in "
                        f"{block.name} is not UTC (RFC 5545 wants Z in a VTIMEZONE)"
                    )
            for rdate in block.all("RDATE"):
                if "," in rdate.value:
                    problems.append(
                        f"{label(zone)}: line {rdate.lineno}: RDATE list in {block.name} "
                        "(ical.js reads only its first value; use RRULE blocks)"
                    )
    for tzid, count in sorted(defined.items()):
        if count > 1:
            problems.append(f'VTIMEZONE "{tzid}": defined {count} times')
    missing: dict[tuple[int, str], tuple[Node, list[str]]] = {}
    for node, line in _tzid_uses(calendar):
        used = line.param("TZID") or ""
        if used.upper() in _UTC_NAMES:
            problems.append(
                f"{label(node)}: line {line.lineno}: {line.name};TZID={used} "
                "(write UTC times with Z, never a TZID)"
            )
        elif used not in defined:
            top = _top(node)
            missing.setdefault((top.lineno, used), (top, []))[1].append(line.name)
    for (_, used), (top, names) in missing.items():
        problems.append(f'{label(top)}: TZID "{used}" has no VTIMEZONE ({", ".join(names)})')


def _top(node: Node) -> Node:
    while node.parent is not None and node.parent.name not in ("", "VCALENDAR"):
        node = node.parent
    return node


def _tzid_uses(calendar: Node) -> list[tuple[Node, ContentLine]]:
    uses: list[tuple[Node, ContentLine]] = []
    pending = [child for child in calendar.children if child.name != "VTIMEZONE"]
    while pending:
        node = pending.pop()
        uses.extend((node, line) for line in node.lines if line.param("TZID") is not None)
        pending.extend(node.children)
    return sorted(uses, key=lambda use: use[1].lineno)


# TEXT properties (RFC 5545 3.3.11, RFC 7986) whose value is one text; CATEGORIES and
# RESOURCES are comma-separated lists of texts.
_TEXT = frozenset(
    {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "CONTACT", "TZNAME", "NAME"}
    | {"X-WR-CALNAME", "X-WR-CALDESC"}
)
_TEXT_LISTS = frozenset({"CATEGORIES", "RESOURCES"})


def _text_problem(line: ContentLine) -> str | None:
    """What is wrong with the escaping of a TEXT value, if anything."""
    separators = "," if line.name in _TEXT_LISTS else ""
    chars = iter(line.value)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in ("\\", ";", ",", "n", "N"):
                return f"{line.name} has a bare backslash (escape it as \\\\)"
        elif char in ",;" and char not in separators:
            word = "comma" if char == "," else "semicolon"
            return f"{line.name} has a bare {word} (escape it as \\{char})"
    return None


def _check_values(root: Node, problems: list[str]) -> None:
    """Empty values and TEXT escaping, anywhere in the feed."""
    pending = list(root.children)
    found: list[tuple[int, Node, str]] = []
    while pending:
        node = pending.pop()
        for line in node.lines:
            if line.value == "":
                found.append((line.lineno, node, f"{line.name} is empty (leave the property out)"))
            elif line.name in _TEXT or line.name in _TEXT_LISTS:
                text_problem = _text_problem(line)
                if text_problem is not None:
                    found.append((line.lineno, node, text_problem))
        pending.extend(node.children)
    for lineno, node, message in sorted(found, key=lambda item: item[0]):
        problems.append(f"{label(node)}: line {lineno}: {message}")

"""Where in an uploaded file a problem is: the line, and the event or zone around it.

icalendar says what it could not read (``Expected time, got: garbage``) but not where; a
user with a 4,000-event export needs the line and the event. Only the error paths use
this module, so it reads the text a second time rather than slow every parse down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FOLDED = re.compile(r"\r\n|\n|\r")
_PARTS = re.compile(r"Content line could not be parsed into parts: '(.*)': (.*)$", re.S)
_VALUE = re.compile(r"(?:got|format|value):? '?(.*?)'?$")
_WORDS = {
    "time": "a date or date-time",
    "utc offset": "a UTC offset such as +0100",
    "period format": "a period such as 20261201T090000Z/PT1H",
    "'float;float'": "two numbers such as 48.85;2.35",
}


@dataclass
class Line:
    """One content line, unfolded: where it starts, and what it belongs to."""

    number: int
    text: str
    path: tuple[str, ...] = ()
    owner: str | None = None

    @property
    def name(self) -> str:
        return re.split(r"[;:]", self.text, maxsplit=1)[0].upper()

    @property
    def value(self) -> str:
        """The text after the first colon outside a quoted parameter value."""
        quoted = False
        for index, char in enumerate(self.text):
            if char == '"':
                quoted = not quoted
            elif char == ":" and not quoted:
                return self.text[index + 1 :]
        return ""

    def where(self) -> str:
        """``line 12 (event "standup@example.com", in its VALARM)``."""
        inner = list(self.path[self._owner_depth() + 1 :])
        parts = [self.owner] if self.owner else []
        parts += [f"in its {name}" for name in inner[-1:]]
        return f"line {self.number}" + (f" ({', '.join(parts)})" if parts else "")

    def _owner_depth(self) -> int:
        for depth in range(len(self.path) - 1, -1, -1):
            if self.path[depth] in _OWNERS:
                return depth
        return len(self.path) - 1


_OWNERS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE")


@dataclass
class _Frame:
    name: str
    begin: int
    lines: list[Line] = field(default_factory=list)
    props: dict[str, str] = field(default_factory=dict)

    def label(self) -> str | None:
        if self.name == "VTIMEZONE":
            return f'VTIMEZONE "{self.props["TZID"]}"' if "TZID" in self.props else None
        if self.name not in _OWNERS:
            return None
        kind = "event" if self.name == "VEVENT" else self.name
        for key in ("UID", "SUMMARY"):
            if self.props.get(key, "").strip():
                return f'{kind} "{self.props[key].strip()}"'
        return f"{kind} at line {self.begin}"


def content_lines(text: str) -> tuple[list[Line], list[_Frame]]:
    """Every content line of ``text`` (unfolded), and the components left open at the end."""
    found: list[Line] = []
    for number, physical in enumerate(_FOLDED.split(text), start=1):
        if physical[:1] in (" ", "\t") and found:
            found[-1].text += physical[1:]
        elif physical:
            found.append(Line(number, physical))
    stack: list[_Frame] = []
    for line in found:
        name = line.name
        if name == "BEGIN":
            stack.append(_Frame(line.value.strip().upper(), line.number))
        line.path = tuple(frame.name for frame in stack)
        for frame in stack:
            frame.lines.append(line)
        if stack and name in ("UID", "SUMMARY", "TZID") and name not in stack[-1].props:
            stack[-1].props[name] = line.value
        if name == "END" and stack:
            _close(stack.pop())
    for frame in reversed(stack):
        _close(frame)
    return found, stack


def _close(frame: _Frame) -> None:
    label = frame.label()
    for line in frame.lines:
        if line.owner is None and label is not None:
            line.owner = label


def blocks(text: str, name: str) -> list[tuple[str, str]]:
    """Each ``name`` block of ``text`` as (its TZID or UID, its lines joined by CRLF)."""
    found: list[tuple[str, str]] = []
    inside: list[Line] = []
    depth = 0
    for line in content_lines(text)[0]:
        opens = line.name == "BEGIN" and line.value.strip().upper() == name
        if opens or depth:
            inside.append(line)
            depth += {"BEGIN": 1, "END": -1}.get(line.name, 0)
            if depth == 0:
                key = next((ln.value for ln in inside if ln.name in ("TZID", "UID")), "")
                found.append((key, "\r\n".join(ln.text for ln in inside) + "\r\n"))
                inside = []
    return found


def find(lines: list[Line], text: str) -> Line | None:
    return next((line for line in lines if line.text == text), None)


def unclosed(text: str) -> str | None:
    """The first block that is not closed, in words: an END that closes another block
    (``END:VCALENDAR at line 9 closes BEGIN:VEVENT of line 4``), or a BEGIN with no END."""
    found, open_frames = content_lines(text)
    stack: list[Line] = []
    for line in found:
        if line.name == "BEGIN":
            stack.append(line)
        elif line.name == "END" and stack:
            begin = stack.pop()
            opened, closed = begin.value.strip().upper(), line.value.strip().upper()
            if opened != closed:
                return (
                    f"line {line.number}: END:{closed} closes BEGIN:{opened} of line "
                    f"{begin.number} (an END:{opened} is missing)"
                )
    if not open_frames:
        return None
    frame = open_frames[0]
    return f"BEGIN:{frame.name} at line {frame.begin} has no END:{frame.name}"


def explain(text: str, message: str) -> str:
    """What icalendar's ``message`` means, with the line it is about when it can be found."""
    lines, _ = content_lines(text)
    parts = _PARTS.match(message)
    if parts is not None:
        line = find(lines, parts.group(1))
        if line is not None:
            return (
                f"{line.where()}: {_shown(line.text)} is not a property (NAME:VALUE or "
                "NAME;PARAMETER=...:VALUE)"
            )
    if message.startswith("END encountered without an accompanying BEGIN"):
        depth = 0
        for line in lines:
            depth += {"BEGIN": 1, "END": -1}.get(line.name, 0)
            if depth < 0:
                return f"line {line.number}: {_shown(line.text)} has no BEGIN before it"
    outside = re.match(r'Property "(.+)" does not have a parent component', message)
    if outside is not None:
        for line in lines:
            if not line.path and line.name == outside.group(1).upper():
                return f"line {line.number}: {line.name} is outside any BEGIN:... END:... block"
    value = _VALUE.search(message)
    if value is not None and value.group(1):
        line = next((ln for ln in lines if ln.value == value.group(1)), None)
        if line is not None:
            return (
                f"{line.where()}: {line.name} cannot be read ({_shown(line.value)}; expected "
                f"{_expected(message)})"
            )
    return f"not iCalendar data ({message})"


def _expected(message: str) -> str:
    head = message.split(",")[0].removeprefix("Expected ").strip().lower()
    return _WORDS.get(head, head or "another form")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")

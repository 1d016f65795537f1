"""Hold .ics output against real calendar parsers: ical.js, libical and icalendar+dateutil.

Each ``occurrences_*`` function answers the same question in the same shape: for the feed
``ics``, which occurrences START in the window ``[start, end)``? The answer maps each UID to
the sorted list of its occurrence starts (overrides applied, EXDATEs removed); UIDs with no
occurrence in the window are left out, so two answers compare with ``==``.

Conventions shared by all three, so that their answers are comparable:
- A timed start is an aware UTC ``datetime``. An all-day start (``VALUE=DATE``) is that date at
  00:00 UTC; the window test uses that same instant.
- A feed is refused (``FeedRejected``) rather than guessed at when it uses a TZID with no
  VTIMEZONE in the calendar, a floating time (no TZID, no ``Z``), an override without its
  master, a RECURRENCE-ID that matches no occurrence, or ``RANGE=THISANDFUTURE``.
- ical.js and libical convert TZID times with the calendar's own VTIMEZONEs; the Python route
  (icalendar 7) resolves IANA TZIDs with tzdata instead. So a VTIMEZONE that disagrees with
  tzdata shows up as a disagreement between the Python route and the other two.
- Overrides are looked for up to ``HORIZON_MARGIN`` after ``end``, so an occurrence moved into
  the window from shortly after it is still seen.
- The Python route follows RFC 5545 to the letter where the real parsers differ from it.

Known disagreements (pinned in test_harness.py; a feed must avoid these shapes):
- DTSTART that the RRULE does not produce: RFC and the Python route count it, ical.js 2.2 and
  libical 3.0 drop it. Put DTSTART on the first real occurrence.
- RDATE without RRULE: ical.js 2.2 drops DTSTART.
- Wall times inside a DST gap or fold (02:30 Europe/Paris on change days): all three differ;
  libical 3.0 also stays an hour late on the days after a gap.
- A local (no ``Z``) UNTIL with a TZID DTSTART: only the Python route (dateutil) refuses it.

ical.js runs under node (tests/realclients/icaljs_occurrences.mjs), libical under Debian's
/usr/bin/python3 through gir1.2-ical-3.0 (tests/realclients/libical_occurrences.py); each gets
the feed on stdin and answers JSON on stdout. A missing parser raises ``RealClientUnavailable``
(never a skip): run scripts/install-test-deps.sh.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
from dateutil.rrule import rrulestr

HERE = Path(__file__).resolve().parent
ICALJS_HELPER = HERE / "icaljs_occurrences.mjs"
LIBICAL_HELPER = HERE / "libical_occurrences.py"
SYSTEM_PYTHON = "/usr/bin/python3"
SUBPROCESS_TIMEOUT_S = 60
HORIZON_MARGIN = timedelta(days=31)
MAX_OCCURRENCES = 200_000
INSTALL_HINT = "run scripts/install-test-deps.sh"

Occurrences = dict[str, list[datetime]]


class RealClientError(Exception):
    """A real-client check could not give an answer."""


class RealClientUnavailable(RealClientError):
    """The parser is not installed here; the fix is the install script, not a skip."""


class FeedRejected(RealClientError):
    """The parser (or a rule of this harness) refused the feed; the message says which."""


# --- subprocess plumbing ---------------------------------------------------------------------


def _run_helper(parser: str, argv: list[str], ics: bytes) -> Any:
    try:
        proc = subprocess.run(
            argv,
            input=ics,
            capture_output=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            cwd=HERE,
            check=False,
        )
    except FileNotFoundError as exc:
        raise RealClientUnavailable(f"{parser}: {argv[0]} not found: {INSTALL_HINT}") from exc
    except subprocess.TimeoutExpired as exc:
        raise RealClientError(f"{parser}: no answer within {SUBPROCESS_TIMEOUT_S} s") from exc
    message = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == 3:
        raise RealClientUnavailable(message or f"{parser} is not installed: {INSTALL_HINT}")
    if proc.returncode != 0:
        raise FeedRejected(message or f"{parser}: exited with status {proc.returncode}")
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        raise RealClientError(f"{parser}: answered something that is not JSON: {exc}") from exc


def _icaljs(ics: bytes, *args: str) -> Any:
    node = shutil.which("node")
    if node is None:
        raise RealClientUnavailable(f"ical.js: node is not on PATH: {INSTALL_HINT}")
    if not (HERE / "node_modules" / "ical.js" / "package.json").is_file():
        raise RealClientUnavailable(
            f"ical.js: not installed in {HERE / 'node_modules'}: {INSTALL_HINT}"
        )
    return _run_helper("ical.js", [node, str(ICALJS_HELPER), *args], ics)


def _libical(ics: bytes, *args: str) -> Any:
    if not Path(SYSTEM_PYTHON).is_file():
        raise RealClientUnavailable(f"libical: {SYSTEM_PYTHON} not found: {INSTALL_HINT}")
    return _run_helper("libical", [SYSTEM_PYTHON, str(LIBICAL_HELPER), *args], ics)


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the window needs aware datetimes (e.g. tzinfo=UTC)")
    if not start < end:
        raise ValueError(f"empty window: start {start} is not before end {end}")


def _parse_start(parser: str, uid: str, text: str) -> datetime:
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    if not text.endswith("Z"):
        raise FeedRejected(f"{parser}: UID {uid}: floating time {text} (no TZID, no Z)")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _in_window(answer: dict[str, list[datetime]], start: datetime, end: datetime) -> Occurrences:
    window = {uid: sorted(s for s in starts if start <= s < end) for uid, starts in answer.items()}
    return {uid: starts for uid, starts in window.items() if starts}


def _from_helper(
    parser: str, raw: dict[str, list[str]], start: datetime, end: datetime
) -> Occurrences:
    parsed = {uid: [_parse_start(parser, uid, s) for s in starts] for uid, starts in raw.items()}
    return _in_window(parsed, start, end)


# --- the three routes ------------------------------------------------------------------------


def occurrences_icaljs(ics: bytes, start: datetime, end: datetime) -> Occurrences:
    """Occurrence starts in [start, end) per ical.js (ICAL.Event iterator, zones registered)."""
    _check_window(start, end)
    horizon = (end + HORIZON_MARGIN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _from_helper("ical.js", _icaljs(ics, "occurrences", horizon), start, end)


def occurrences_libical(ics: bytes, start: datetime, end: datetime) -> Occurrences:
    """Occurrence starts in [start, end) per libical (icalcomponent_foreach_recurrence)."""
    _check_window(start, end)
    horizon = (end + HORIZON_MARGIN).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return _from_helper("libical", _libical(ics, "occurrences", horizon), start, end)


def parse_errors_icaljs(ics: bytes) -> list[str]:
    """What ical.js throws while parsing the feed and reading every value; [] when clean."""
    errors: list[str] = _icaljs(ics, "errors")
    return errors


def parse_errors_libical(ics: bytes) -> list[str]:
    """libical's X-LIC-ERRORs: from parsing, then from its restriction check; [] when clean."""
    errors: list[str] = _libical(ics, "errors")
    return errors


def occurrences_python(ics: bytes, start: datetime, end: datetime) -> Occurrences:
    """Occurrence starts in [start, end) per icalendar + python-dateutil, expanded here.

    The recurrence set follows RFC 5545 3.8.5: DTSTART, plus RRULE instances, plus RDATEs,
    minus EXDATEs; then each RECURRENCE-ID override replaces the instance it names.
    """
    _check_window(start, end)
    horizon = end + HORIZON_MARGIN
    calendar = _parse_python(ics)
    errors = _icalendar_errors(calendar)
    if errors:
        raise FeedRejected("; ".join(errors))
    known_tzids = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    masters: dict[str, icalendar.Component] = {}
    overrides: dict[str, dict[datetime, icalendar.Component]] = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID") or "")
        if not uid:
            raise FeedRejected("python: a VEVENT has no UID")
        _check_tzids(uid, event, known_tzids)
        rid: Any = event.get("RECURRENCE-ID")
        if rid is None:
            if uid in masters:
                raise FeedRejected(f"python: UID {uid}: more than one VEVENT without RECURRENCE-ID")
            masters[uid] = event
        elif "RANGE" in rid.params:
            raise FeedRejected(f"python: UID {uid}: RECURRENCE-ID;RANGE=... is not supported")
        else:
            overrides.setdefault(uid, {})[_instant(uid, rid.dt)] = event
    orphans = sorted(set(overrides) - set(masters))
    if orphans:
        raise FeedRejected(f"python: UID {orphans[0]}: RECURRENCE-ID override without its master")

    answer: dict[str, list[datetime]] = {}
    for uid, master in masters.items():
        pending = dict(overrides.get(uid, {}))
        starts = []
        for instance in _recurrence_set(uid, master, horizon):
            override = pending.pop(instance, None)
            starts.append(instance if override is None else _instant(uid, _dtstart(uid, override)))
        late = sorted(rid for rid in pending if rid < horizon)
        if late:
            rid = late[0].strftime("%Y-%m-%dT%H:%M:%SZ")
            raise FeedRejected(f"python: UID {uid}: RECURRENCE-ID {rid} matches no occurrence")
        answer[uid] = starts
    return _in_window(answer, start, end)


def parse_errors_python(ics: bytes) -> list[str]:
    """What icalendar could not parse (it keeps going and records it per component)."""
    try:
        return _icalendar_errors(_parse_python(ics))
    except FeedRejected as exc:
        return [str(exc)]


def _parse_python(ics: bytes) -> icalendar.Calendar:
    try:
        return icalendar.Calendar.from_ical(ics)
    except ValueError as exc:
        raise FeedRejected(f"python: icalendar cannot parse the feed: {exc}") from exc


def _icalendar_errors(calendar: icalendar.Calendar) -> list[str]:
    return [
        f"python: {component.name}: {name or 'line'}: {message}"
        for component in calendar.walk()
        for name, message in component.errors
    ]


def _check_tzids(uid: str, event: icalendar.Component, known: set[str]) -> None:
    for name, value in event.property_items(recursive=False):
        tzid = getattr(value, "params", {}).get("TZID")
        if tzid is not None and tzid not in known:
            raise FeedRejected(
                f"python: UID {uid}: {name} uses TZID={tzid} "
                "but the calendar has no VTIMEZONE with that TZID"
            )


def _instant(uid: str, value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time(), UTC)
    if value.tzinfo is None:
        raise FeedRejected(f"python: UID {uid}: floating time {value.isoformat()} (no TZID, no Z)")
    return value.astimezone(UTC)


def _values(prop: Any) -> list[Any]:
    """The date/datetime values of a (possibly repeated) RDATE/EXDATE property."""
    props = prop if isinstance(prop, list) else [prop] if prop is not None else []
    # A PERIOD value is a (start, end-or-duration) tuple: its start is the instance.
    return [d.dt[0] if isinstance(d.dt, tuple) else d.dt for p in props for d in p.dts]


def _dtstart(uid: str, event: icalendar.Component) -> date | datetime:
    prop: Any = event.get("DTSTART")
    value = getattr(prop, "dt", None)
    if not isinstance(value, date):
        raise FeedRejected(f"python: UID {uid}: no DTSTART date or date-time")
    return value


def _recurrence_set(uid: str, master: icalendar.Component, horizon: datetime) -> list[datetime]:
    dtstart = _dtstart(uid, master)
    first = _instant(uid, dtstart)
    is_date = not isinstance(dtstart, datetime)
    instances = {first}
    rules: Any = master.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        text = rule.to_ical().decode()
        base = datetime.combine(dtstart, datetime.min.time()) if is_date else dtstart
        try:
            expansion = rrulestr(text, dtstart=base)
        except ValueError as exc:
            raise FeedRejected(f"python: UID {uid}: RRULE {text}: {exc}") from exc
        for count, occurrence in enumerate(expansion):
            instant = _instant(uid, occurrence.date() if is_date else occurrence)
            if instant >= horizon:
                break
            if count >= MAX_OCCURRENCES:
                raise FeedRejected(f"python: UID {uid}: more than {MAX_OCCURRENCES} occurrences")
            instances.add(instant)
    for name, sign in (("RDATE", 1), ("EXDATE", -1)):
        for value in _values(master.get(name)):
            if isinstance(value, datetime) == is_date:
                raise FeedRejected(f"python: UID {uid}: {name} {value} has not DTSTART's type")
            if sign > 0:
                instances.add(_instant(uid, value))
            else:
                instances.discard(_instant(uid, value))
    return sorted(i for i in instances if i < horizon)


# --- comparing the three ---------------------------------------------------------------------

PARSERS: dict[str, Callable[[bytes, datetime, datetime], Occurrences]] = {
    "ical.js": occurrences_icaljs,
    "libical": occurrences_libical,
    "python": occurrences_python,
}


def occurrences_all(ics: bytes, start: datetime, end: datetime) -> dict[str, Occurrences]:
    """Every parser's answer, keyed by parser name."""
    return {name: route(ics, start, end) for name, route in PARSERS.items()}


def assert_parsers_agree(ics: bytes, start: datetime, end: datetime) -> Occurrences:
    """The common answer of all parsers; AssertionError naming each UID they differ on."""
    answers = occurrences_all(ics, start, end)
    reference = answers["python"]
    uids = sorted({uid for answer in answers.values() for uid in answer})
    differences = [
        f"UID {uid}: "
        + "; ".join(
            f"{name}: {[s.isoformat() for s in answer.get(uid, [])]}"
            for name, answer in answers.items()
        )
        for uid in uids
        if len({tuple(answer.get(uid, [])) for answer in answers.values()}) > 1
    ]
    if differences:
        raise AssertionError("parsers disagree:\n" + "\n".join(differences))
    return reference


def parse_problems(ics: bytes) -> list[str]:
    """Every complaint about a feed: our checker, then icalendar, ical.js and libical.

    Each line is prefixed with who made it, so ``assert parse_problems(data) == []`` says
    at once which reader objected.
    """
    from icsbridge.converters.ical.feedcheck.validate import validate_feed

    return [
        *(f"validate_feed: {p}" for p in validate_feed(ics)),
        *(f"icalendar: {p}" for p in parse_errors_python(ics)),
        *(f"ical.js: {p}" for p in parse_errors_icaljs(ics)),
        *(f"libical: {p}" for p in parse_errors_libical(ics)),
    ]


def by_summary(ics: bytes, by_uid: Occurrences) -> Occurrences:
    """An answer keyed by each event's SUMMARY instead of its UID (what oracles know).

    Events sharing a SUMMARY are merged, never overwritten, so a missing one still shows.
    """
    names = {
        str(ev["UID"]): str(ev["SUMMARY"])
        for ev in icalendar.Calendar.from_ical(ics).walk("VEVENT")
    }
    out: dict[str, list[datetime]] = {}
    for uid, starts in by_uid.items():
        out.setdefault(names[uid], []).extend(starts)
    return {name: sorted(starts) for name, starts in out.items()}

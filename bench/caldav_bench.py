"""Benchmark (issue 15): CalDAV reads of one 1,000-event calendar, side by side.

Two requests, each timed on every server in the same run, rounds interleaved (server A,
server B, A, B, ...), medians printed:

- **multiget**: one ``calendar-multiget`` REPORT naming all 1,000 hrefs, asking for
  ``getetag`` and ``calendar-data`` (what a client sends after discovering new hrefs);
- **sync, no change**: one ``sync-collection`` REPORT with the token of the previous
  sync (what every client sends on each poll: nothing changed, nothing to send);
- **first multiget**: the multiget above, once, the first a fresh server answers (what a
  client's first sync costs: nothing cached yet).

The client is httpx with one kept-alive connection and raw REPORT bodies, so no client
library's parsing is timed; each answer is checked (207, 1,000 responses with
calendar-data for the multiget, none for the sync) before its time counts.

Servers, each on loopback: ``icsbridge`` (``--icsbridge``): ``icsbridge run`` with
``[caldav]``, in front of the Webex simulator (on a thread here; the REPORTs never reach
it) holding one schedule of 1,000 events (the bulk org's shapes: weekly, daily with a
count, timed, all-day, in a person's zone); Radicale (PyPI, filesystem storage, its
default logging): given the bytes icsbridge serves for those 1,000 events, written as
its storage files (one ``.ics`` per event), so both serve the very same objects;
without ``--icsbridge`` it holds the bench's own 1,000 events. ``--server NAME=URL``
adds any other calendar collection holding the same events, with ``--user`` and
``--password`` (``env:NAME`` reads a variable). ``--no-radicale`` leaves Radicale out.

Run: .venv/bin/python bench/caldav_bench.py --icsbridge [--rounds 7]
About 40 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.davclients.radicale import Radicale  # noqa: E402

from bench.caldav_ours import icsbridge_target, radicale_files  # noqa: E402

EVENTS = 1000
USER = "bench"
PASSWORD = "bench-password"
DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
REPORT_HEADERS = {"Content-Type": "application/xml; charset=utf-8", "Depth": "1"}

SYNC_BODY = """<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:">
  <D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/></D:prop>
</D:sync-collection>
"""


def multiget_body(hrefs: list[str]) -> str:
    listed = "".join(f"<D:href>{href}</D:href>" for href in hrefs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{listed}</C:calendar-multiget>"
    )


def event_ics(number: int) -> str:
    """Event ``number`` of the calendar: a weekday working-hours block, as the APIs give
    them (one hour, a location, a description), the same bytes on every server."""
    day = 1 + number % 28
    hour = 8 + number % 9
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//icsbridge bench//EN\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:bench-{number:04d}@icsbridge.test\r\n"
        "DTSTAMP:20261201T000000Z\r\n"
        f"DTSTART:202701{day:02d}T{hour:02d}0000Z\r\n"
        f"DTEND:202701{day:02d}T{hour + 1:02d}0000Z\r\n"
        f"SUMMARY:Support desk shift {number}\r\n"
        "LOCATION:Paris HQ\\, floor 3\r\n"
        f"DESCRIPTION:Shift {number} of the support rota\\, as the scheduling API "
        "keeps it.\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@dataclass
class Target:
    """One server's calendar collection holding the 1,000 events."""

    name: str
    calendar_url: str
    user: str
    password: str
    verify: bool | str = True
    hrefs: list[str] = field(default_factory=list)
    token: str = ""
    times: dict[str, list[float]] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return httpx.Client(
            auth=(self.user, self.password),
            timeout=120,
            trust_env=False,
            verify=self.verify,
            headers={"Accept-Encoding": "identity"},
        )


def _responses(answer: httpx.Response) -> list[ET.Element]:
    if answer.status_code != 207:
        raise SystemExit(f"{answer.request.url}: {answer.status_code} {answer.text[:300]}")
    return ET.fromstring(answer.content).findall(f"{DAV}response")


def prepare(target: Target, client: httpx.Client) -> None:
    """The collection's hrefs (a first sync-collection from no token) and its token."""
    answer = client.request(
        "REPORT", target.calendar_url, content=SYNC_BODY.format(token=""), headers=REPORT_HEADERS
    )
    root_path = urlsplit(target.calendar_url).path
    target.hrefs = sorted(
        href
        for r in _responses(answer)
        if (href := r.findtext(f"{DAV}href") or "") and href.rstrip("/") != root_path.rstrip("/")
    )
    target.token = ET.fromstring(answer.content).findtext(f"{DAV}sync-token") or ""
    if len(target.hrefs) != EVENTS or not target.token:
        raise SystemExit(
            f"{target.name}: expected {EVENTS} events and a sync token, got "
            f"{len(target.hrefs)} hrefs and token {target.token!r}"
        )


def time_multiget(target: Target, client: httpx.Client) -> tuple[float, int]:
    body = multiget_body(target.hrefs)
    started = time.perf_counter()
    answer = client.request("REPORT", target.calendar_url, content=body, headers=REPORT_HEADERS)
    elapsed = time.perf_counter() - started
    found = _responses(answer)
    with_data = [r for r in found if r.find(f".//{CALDAV}calendar-data") is not None]
    if len(with_data) != EVENTS:
        raise SystemExit(f"{target.name}: multiget gave {len(with_data)} events of {EVENTS}")
    return elapsed, len(answer.content)


def time_sync(target: Target, client: httpx.Client) -> tuple[float, int]:
    body = SYNC_BODY.format(token=target.token)
    started = time.perf_counter()
    answer = client.request("REPORT", target.calendar_url, content=body, headers=REPORT_HEADERS)
    elapsed = time.perf_counter() - started
    if changed := _responses(answer):
        raise SystemExit(f"{target.name}: a no-change sync listed {len(changed)} changes")
    return elapsed, len(answer.content)


def fetch_objects(target: Target, client: httpx.Client) -> dict[str, bytes]:
    """Each event's object as ``target`` serves it: resource name -> calendar-data."""
    prepare(target, client)
    started = time.perf_counter()
    answer = client.request(
        "REPORT",
        target.calendar_url,
        content=multiget_body(target.hrefs),
        headers=REPORT_HEADERS,
    )
    target.times["first multiget"] = [time.perf_counter() - started]
    objects: dict[str, bytes] = {}
    for response in _responses(answer):
        href = response.findtext(f"{DAV}href") or ""
        data = response.findtext(f".//{CALDAV}calendar-data") or ""
        objects[href.rstrip("/").rsplit("/", 1)[1]] = data.encode()
    return objects


def whole_calendar() -> str:
    """The 1,000 events as one VCALENDAR (one PUT of a whole collection)."""
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//icsbridge bench//EN\r\n"
    tail = "END:VCALENDAR\r\n"
    inner = (event_ics(n).removeprefix(head).removesuffix(tail) for n in range(EVENTS))
    return head + "".join(inner) + tail


@contextmanager
def radicale_target(folder: Path) -> Iterator[Target]:
    """Radicale on loopback with the 1,000 events, given in one PUT of the whole calendar
    (Radicale stores one item per UID, as 1,000 PUTs would, in a second instead of a
    minute)."""
    with Radicale(folder, {USER: PASSWORD}) as server:
        with server.client(USER) as http:
            http.put(
                f"/{USER}/bench/",
                content=whole_calendar().encode(),
                headers={"Content-Type": "text/calendar; charset=utf-8"},
            ).raise_for_status()
        yield Target("radicale", f"{server.url}/{USER}/bench/", USER, PASSWORD)


def _secret(value: str) -> str:
    return os.environ[value[4:]] if value.startswith("env:") else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--server", action="append", default=[], metavar="NAME=URL")
    parser.add_argument("--user", default=USER)
    parser.add_argument("--password", default=PASSWORD, help="or env:NAME")
    parser.add_argument("--ca-file", default=None, help="CA of an https server")
    parser.add_argument("--no-radicale", action="store_true")
    parser.add_argument("--icsbridge", action="store_true", help="serve ours beside Radicale")
    args = parser.parse_args()

    with ExitStack() as stack:
        targets: list[Target] = []
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        ours: Target | None = None
        if args.icsbridge:
            url, user, password = stack.enter_context(icsbridge_target(folder / "icsbridge"))
            ours = Target("icsbridge", url, user, password)
        if not args.no_radicale:
            if ours is not None:
                with ours.client() as http:
                    objects = fetch_objects(ours, http)
                radicale = radicale_files(folder / "radicale", USER, PASSWORD, objects)
                server = stack.enter_context(radicale)
                targets.append(Target("radicale", f"{server.url}/{USER}/bench/", USER, PASSWORD))
            else:
                targets.append(stack.enter_context(radicale_target(folder / "radicale")))
        if ours is not None:
            targets.append(ours)
        for spec in args.server:
            name, _, url = spec.partition("=")
            verify: bool | str = args.ca_file or True
            targets.append(Target(name, url, args.user, _secret(args.password), verify))
        if not targets:
            raise SystemExit("nothing to measure: give --server NAME=URL or drop --no-radicale")
        clients = {t.name: stack.enter_context(t.client()) for t in targets}
        sizes: dict[tuple[str, str], int] = {}
        for target in targets:
            prepare(target, clients[target.name])
            if "first multiget" not in target.times:  # ours had its first in fetch_objects
                first_time, _size = time_multiget(target, clients[target.name])
                target.times["first multiget"] = [first_time]
            for timer in (time_multiget, time_sync):
                timer(target, clients[target.name])  # warm-up: caches, connection
        for _ in range(args.rounds):
            for target in targets:  # interleaved: drift hits every server alike
                for kind, timer in (("multiget", time_multiget), ("sync", time_sync)):
                    elapsed, size = timer(target, clients[target.name])
                    target.times.setdefault(kind, []).append(elapsed)
                    sizes[(target.name, kind)] = size

    first = targets[0]
    print(f"{EVENTS} events, median of {args.rounds} rounds, one kept-alive connection")
    print(
        f"{'server':<12} {'multiget':>20} {'bytes':>10} {'sync, no change':>20} {'bytes':>7}"
        f" {'first multiget':>20}"
    )
    for target in targets:
        cells = []
        for kind in ("multiget", "sync", "first multiget"):
            median = statistics.median(target.times[kind])
            ratio = median / statistics.median(first.times[kind])
            cells.append(
                f"{median * 1000:.1f} ms" + ("" if target is first else f" ({ratio:.2f}x)")
            )
        multiget, sync, cold = cells
        m_bytes, s_bytes = sizes[(target.name, "multiget")], sizes[(target.name, "sync")]
        print(f"{target.name:<12} {multiget:>20} {m_bytes:>10} {sync:>20} {s_bytes:>7} {cold:>20}")


if __name__ == "__main__":
    main()

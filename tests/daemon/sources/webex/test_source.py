"""WebexSource.pull() against the Webex simulator (httpx.ASGITransport, no sockets)."""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from support.fakes import DictTokens

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import WebexSourceSettings
from icsbridge.converters.errors import PayloadError
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import create_app
from icsbridge.daemon.simulators.webex.state import DEMO_ACCESS_TOKEN
from icsbridge.daemon.sources.calendar_keys import safe_segment, unique_key
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.kinds import SOURCE_KINDS, source_for
from icsbridge.daemon.sources.webex.source import WebexSource

pytestmark = pytest.mark.anyio
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class World:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sim = webex_seed.demo_state(now=lambda: NOW)
        self.delays: list[float] = []
        monkeypatch.setenv("WEBEX_TEST_TOKEN", DEMO_ACCESS_TOKEN)

    def person(self, display_name: str) -> str:
        return next(p.id for p in self.sim.people.values() if p.display_name == display_name)

    def location(self, name: str) -> str:
        return next(loc.id for loc in self.sim.locations.values() if loc.name == name)

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def source(self, **config: Any) -> WebexSource:
        raw = {
            "name": "hq",
            "kind": "webex",
            "interval": "15m",
            "base_url": "https://webex.sim/v1",
            "token": "env:WEBEX_TEST_TOKEN",
            **config,
        }
        settings = WebexSourceSettings.model_validate(raw)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.sim)))
        source = source_for(
            settings,
            client,
            tokens=DictTokens(),
            sleep=self.sleep,
            rng=random.Random(1),
            clock=lambda: NOW,
        )
        assert isinstance(source, WebexSource)
        return source

    def gets(self, contains: str) -> list[str]:
        return [
            unquote(r.path)
            for r in self.sim.requests
            if r.method == "GET" and contains in unquote(r.path)
        ]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch)


ALL_KEYS = {
    "hq/locations/New York/businessHours/NY Office Hours",
    "hq/locations/New York/holidays/US Holidays",
    "hq/locations/Paris HQ/businessHours/Office Hours",
    "hq/locations/Paris HQ/businessHours/Reception Hours",
    "hq/locations/Paris HQ/holidays/French Holidays",
    "hq/people/Alice Martin/businessHours/Shifts",
    "hq/people/Alice Martin/holidays/Alice Leave",
    "hq/people/Bruno Lefevre/businessHours/Night Shift",
    "hq/people/Bruno Lefevre/businessHours/Reviews",
    "hq/people/Carol Johnson/businessHours/Carol Hours",
    "hq/people/Carol Johnson/holidays/Carol PTO",
}
PEOPLE = ["Alice Martin", "Bruno Lefevre", "Carol Johnson"]


def schedule_reads(world: World) -> Counter[str]:
    """GETs of one schedule (not of a list), by path."""
    return Counter(
        p.split("?")[0] for p in world.gets("/") if "/businessHours/" in p or "/holidays/" in p
    )


async def test_registered_kind() -> None:
    assert SOURCE_KINDS["webex"] is WebexSource


async def test_pull_the_whole_demo_org(world: World) -> None:
    source = world.source(people=[world.person(n) for n in PEOPLE], locations="all")
    calendars = await source.pull()
    assert [c.meta.key for c in calendars] == sorted(ALL_KEYS)
    assert sum(len(c.events) for c in calendars) == 26
    # Every schedule read exactly once, although Paris HQ is listed by Alice, by Bruno and
    # by GET /locations; and never through the person endpoint (that answers 404).
    reads = schedule_reads(world)
    assert len(reads) == 11
    assert set(reads.values()) == {1}
    assert all(r.status == 200 for r in world.sim.requests)


async def test_shared_location_schedules_read_once_per_location(world: World) -> None:
    paris = world.location("Paris HQ")
    source = world.source(
        people=[world.person("Alice Martin"), world.person("Bruno Lefevre")], locations=[paris]
    )
    keys = {c.meta.key for c in await source.pull()}
    assert keys == {k for k in ALL_KEYS if "Paris HQ" in k or "Alice" in k or "Bruno" in k}
    paris_reads = [p for p in schedule_reads(world) if f"/locations/{paris}/schedules/" in p]
    assert len(paris_reads) == 3
    assert set(schedule_reads(world).values()) == {1}
    assert len(world.gets(f"/v1/locations/{paris}")) == 1  # the location itself: cached


async def test_calendar_meta_ref_and_events(world: World) -> None:
    alice = world.person("Alice Martin")
    calendars = {c.meta.key: c for c in await world.source(people=[alice]).pull()}
    office = calendars["hq/locations/Paris HQ/businessHours/Office Hours"]
    assert office.meta.name == "Office Hours (Paris HQ)"
    assert office.meta.description == (
        'Webex Calling business hours schedule "Office Hours" of location Paris HQ '
        "(time zone Europe/Paris)"
    )
    assert office.meta.timezone == "Europe/Paris"
    assert office.meta.refresh_seconds == 900
    paris = world.location("Paris HQ")
    sched = next(s for s in world.sim.locations[paris].schedules if s.name == "Office Hours")
    from icsbridge.daemon.simulators.webex.store import schedule_id_of

    assert office.ref == {
        "level": "LOCATION",
        "owner_id": paris,
        "type": "businessHours",
        "schedule_id": schedule_id_of(world.sim.locations[paris], sched),
        "tz": "Europe/Paris",
    }
    assert sorted(str(e.component["SUMMARY"]) for e in office.events) == [
        "Saturday Morning",
        "Weekdays",
    ]
    start = office.events[0].component.decoded("DTSTART")
    assert isinstance(start, datetime)
    assert str(start.tzinfo) == "Europe/Paris"

    shifts = calendars["hq/people/Alice Martin/businessHours/Shifts"]
    assert shifts.meta.name == "Shifts (Alice Martin)"
    assert shifts.ref["level"] == "PEOPLE" and shifts.ref["owner_id"] == alice
    assert shifts.meta.description.endswith('"Shifts" of Alice Martin (time zone Europe/Paris)')


async def test_paging_with_small_pages_gives_the_same_result(world: World) -> None:
    people = [world.person(n) for n in PEOPLE]
    keys = [c.meta.key for c in await world.source(people=people, locations="all").pull()]
    before = len(world.sim.requests)
    small = world.source(people=people, locations="all", page_size=1)
    assert [c.meta.key for c in await small.pull()] == keys
    assert len(world.sim.requests) - before > before  # it really paged
    assert any("start=" in r.path for r in world.sim.requests[before:])


async def test_org_id_and_tracking_id_on_every_request(world: World) -> None:
    source = world.source(
        people=[world.person("Carol Johnson")], org_id=world.sim.org_id, page_size=1
    )
    await source.pull()
    assert any("start=" in r.path for r in world.sim.requests)  # next links too
    for request in world.sim.requests:
        assert request.query.get("orgId") == world.sim.org_id, request.path
        assert request.headers["trackingid"].startswith("ICSBRIDGE_")


async def test_wrong_org_id_is_one_line(world: World) -> None:
    source = world.source(people=[world.person("Carol Johnson")], org_id="OTHER")
    with pytest.raises(SourceError) as info:
        await source.pull()
    text = str(info.value)
    assert text.startswith('source "hq": GET /people/')
    assert text.endswith(
        ": 403 Forbidden: orgId OTHER is not an organization this token can access "
        f"[errorCode 0] (trackingId {world.sim.requests[0].headers['trackingid']}); "
        "check the admin scopes / orgId"
    )
    assert "\n" not in text


async def test_unknown_person_says_check_the_id(world: World) -> None:
    with pytest.raises(SourceError, match=r"404 Not Found: person nobody not found .*"):
        await world.source(people=["nobody"]).pull()
    with pytest.raises(SourceError) as info:
        await world.source(people=["nobody"]).pull()
    assert str(info.value).endswith("; check the id in the config")


async def test_rate_limit_is_waited_out(world: World) -> None:
    world.sim.inject(429, times=2, retry_after=7, path_contains="/schedules")
    source = world.source(people=[world.person("Carol Johnson")])
    assert len(await source.pull()) == 4
    assert world.delays == [7.0, 7.0]


# -- time zones ------------------------------------------------------------------------


def zones(calendars: list[Any]) -> dict[str, str]:
    return {c.meta.key: c.ref["tz"] for c in calendars}


async def test_zone_of_person_schedule_falls_back_to_calling_zone(world: World) -> None:
    paris = world.location("Paris HQ")
    world.sim.locations[paris].time_zone = None
    source = world.source(people=[world.person("Alice Martin")], timezone="Asia/Tokyo")
    got = zones(await source.pull())
    # Alice's own zone for her schedules; the config's for the location's (never hers).
    assert got["hq/people/Alice Martin/businessHours/Shifts"] == "Europe/Paris"
    assert got["hq/locations/Paris HQ/businessHours/Office Hours"] == "Asia/Tokyo"


async def test_zone_falls_back_to_the_config(world: World) -> None:
    world.sim.locations[world.location("Paris HQ")].time_zone = None
    source = world.source(people=[world.person("Bruno Lefevre")], timezone="Asia/Tokyo")
    assert set(zones(await source.pull()).values()) == {"Asia/Tokyo"}


async def test_no_zone_anywhere_fails_with_what_to_do(world: World) -> None:
    world.sim.locations[world.location("Paris HQ")].time_zone = None
    source = world.source(people=[world.person("Bruno Lefevre")])
    with pytest.raises(SourceError) as info:
        await source.pull()
    assert str(info.value) == (
        'source "hq": schedule "Night Shift" (businessHours) of Bruno Lefevre: the Webex API '
        "gives no time zone for it; set timezone in the config for this source "
        '(e.g. timezone = "Europe/Paris")'
    )


async def test_unknown_zone_from_the_api_is_a_payload_error(world: World) -> None:
    world.sim.locations[world.location("New York")].time_zone = "Mars/Olympus"
    with pytest.raises(PayloadError) as info:
        await world.source(people=[world.person("Carol Johnson")]).pull()
    assert str(info.value) == (
        'source "hq": webex: location New York: timeZone "Mars/Olympus" is not a known IANA '
        "time zone"
    )


async def test_zone_choice_is_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "icsbridge.webex"):
        await world.source(people=[world.person("Carol Johnson")]).pull()
    assert (
        'source "hq": schedule "Carol PTO" (holidays) of Carol Johnson: time zone '
        "America/New_York from location New York"
    ) in caplog.text


# -- payload problems --------------------------------------------------------------------


async def test_bad_schedule_payload_fails_the_source(world: World) -> None:
    def break_time(body: Any) -> Any:
        body["events"][0]["startTime"] = "25:00"
        return body

    world.sim.mangle(break_time, path_contains="/holidays/")
    with pytest.raises(PayloadError) as info:
        await world.source(people=[world.person("Carol Johnson")]).pull()
    assert str(info.value) == (
        'source "hq": webex: schedule "Carol PTO" (holidays) of Carol Johnson: '
        'event "Thanksgiving Trip 2025": field "startTime": "25:00" is not a time HH:MM (24 h)'
    )


async def test_a_schedule_answer_without_events_fails_the_source_not_empties_it(
    world: World,
) -> None:
    # Read as "no events", such answers published holiday feeds empty with health 200.
    def drop_events(body: Any) -> Any:
        return {k: v for k, v in body.items() if k != "events"}

    world.sim.mangle(drop_events, path_contains="/holidays/")
    with pytest.raises(PayloadError) as info:
        await world.source(people=[world.person("Carol Johnson")]).pull()
    assert str(info.value) == (
        'source "hq": webex: schedule "Carol PTO" (holidays) of Carol Johnson: '
        'field "events": missing'
    )


async def test_person_without_display_name(world: World) -> None:
    world.sim.mangle(lambda body: {**body, "displayName": None}, path_contains="callingData")
    carol = world.person("Carol Johnson")
    with pytest.raises(PayloadError) as info:
        await world.source(people=[carol]).pull()
    assert str(info.value) == (
        f'source "hq": webex: person {carol}: field "displayName" is missing or not text'
    )


async def test_not_json_answer(world: World) -> None:
    world.sim.inject(200, body=b"<html>", path_contains="/telephony/config/people/")
    with pytest.raises(SourceError) as info:
        await world.source(people=[world.person("Carol Johnson")]).pull()
    assert str(info.value).startswith('source "hq": GET /telephony/config/people/')
    assert str(info.value).endswith(": the answer is not JSON (Expecting value)")


# -- calendar keys -----------------------------------------------------------------------


def test_safe_segment() -> None:
    assert safe_segment("R&D / Ops\\Lab") == "R&D _ Ops_Lab"
    assert safe_segment("..hidden") == "__hidden"
    assert safe_segment("tab\there\x00\x7f") == "tab_here__"
    assert safe_segment("") == "_"
    assert safe_segment("Café ~ été") == "Café ~ été"


async def test_colliding_keys_get_a_stable_suffix(world: World) -> None:
    paris = world.location("Paris HQ")
    person = world.sim.add_person(
        "../R&D / Ops", "rd@example.com", location_id=paris, time_zone="Europe/Paris"
    )
    ids = {name: world.sim.add_schedule(person, "holidays", name) for name in NAMES}
    calendars = await world.source(people=[person]).pull()
    got = {c.ref["schedule_id"]: c.meta.key for c in calendars if c.ref["owner_id"] == person}

    def suffix(name: str) -> str:
        return "~" + hashlib.sha1(ids[name].encode()).hexdigest()[:6]

    folder = "hq/people/___R&D _ Ops/holidays"
    # "A_B", "a/b" and "a_b" share a key once sanitised and case-folded: the first in
    # (key, schedule id) order keeps it, the later ones get the suffix of their id.
    later = sorted(["a/b", "a_b"], key=lambda name: ids[name])
    assert got == {
        ids[".x"]: f"{folder}/_x",
        ids["A_B"]: f"{folder}/A_B",
        ids[later[0]]: f"{folder}/a_b{suffix(later[0])}",
        ids[later[1]]: f"{folder}/a_b{suffix(later[1])}",
    }
    # Same data, same keys: the suffixes do not depend on the order of the answers.
    world.sim.people[person].schedules.reverse()
    again = await world.source(people=[person]).pull()
    assert [c.meta.key for c in again] == [c.meta.key for c in calendars]


NAMES = ("a/b", "a_b", "A_B", ".x")


# -- describe ------------------------------------------------------------------------------


async def test_describe_does_no_io(world: World) -> None:
    source = world.source(people=["P1"], locations="all", org_id="ORG1", timezone="UTC")
    assert source.describe() == [
        "auth: bearer token",
        "organisation (orgId): ORG1",
        "person P1: personal schedules and their location's shared schedules",
        "every location of the organisation: its schedules",
        "time zone when the API gives none: UTC",
    ]
    assert world.sim.requests == []
    assert repr(source) == "WebexSource(name='hq')"


def test_unique_key_falls_back_when_ids_repeat() -> None:
    taken: set[str] = set()
    keys = [unique_key("hq/a", "same-id", taken) for _ in range(4)]
    digest = hashlib.sha1(b"same-id").hexdigest()
    assert keys == [
        "hq/a",
        f"hq/a~{digest[:6]}",
        f"hq/a~{digest[:12]}",
        f"hq/a~{digest}",
    ]
    assert unique_key("hq/A", "same-id", taken) == f"hq/A~{digest[:6]}-2"


async def test_location_schedule_of_a_person_without_location(world: World) -> None:
    world.sim.mangle(
        lambda body: {k: v for k, v in body.items() if k != "locationId"},
        path_contains="callingData",
    )
    with pytest.raises(PayloadError) as info:
        await world.source(people=[world.person("Carol Johnson")]).pull()
    assert str(info.value) == (
        'source "hq": webex: Carol Johnson lists location schedule "NY Office Hours" '
        "but has no locationId"
    )


async def test_unknown_schedule_level(world: World) -> None:
    def odd_level(body: Any) -> Any:
        body["schedules"][0]["level"] = "ORGANIZATION"
        return body

    world.sim.mangle(odd_level, path_contains="/features/schedules?")
    with pytest.raises(PayloadError) as info:
        await world.source(people=[world.person("Carol Johnson")]).pull()
    assert str(info.value) == (
        'source "hq": webex: schedule list of Carol Johnson: schedule "Carol Hours": '
        "field \"level\": 'ORGANIZATION' is not PEOPLE or LOCATION"
    )


async def test_unknown_schedule_type_is_skipped_with_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    def odd_type(body: Any) -> Any:
        body["schedules"][0]["type"] = "afterHours"
        return body

    world.sim.mangle(odd_type, path_contains="/schedules?")
    with caplog.at_level(logging.WARNING, "icsbridge.webex"):
        calendars = await world.source(locations=[world.location("New York")]).pull()
    assert [c.meta.key for c in calendars] == ["hq/locations/New York/holidays/US Holidays"]
    assert (
        'webex: schedule list of New York: schedule "NY Office Hours" has unknown type '
        "'afterHours'; skipped"
    ) in caplog.text


async def test_a_person_listed_twice_is_read_once(world: World) -> None:
    carol = world.person("Carol Johnson")
    calendars = await world.source(people=[carol, carol]).pull()
    assert len(calendars) == 4
    assert len(world.gets(f"/v1/people/{carol}?")) == 1


def test_unknown_kind_is_one_line() -> None:
    class Other:
        name = "mail"
        kind = "exchange"

    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(IcsbridgeError) as info:
        source_for(Other(), client, tokens=DictTokens())
    assert str(info.value) == (
        'source "mail": kind "exchange" is not supported yet '
        "(supported: apio, b2core, webex, wordbee)"
    )


def test_a_free_calendar_key_computes_no_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every calendar asks for its key at every sync; only a taken key needs the id's
    digest (issue 18: the digest was computed for all of them)."""
    from icsbridge.daemon.sources import calendar_keys

    taken: set[str] = set()
    real = calendar_keys.hashlib.sha1
    monkeypatch.setattr(calendar_keys.hashlib, "sha1", None)
    assert unique_key("hq/a", "id-1", taken) == "hq/a"
    monkeypatch.setattr(calendar_keys.hashlib, "sha1", real)
    assert unique_key("hq/A", "id-2", taken).startswith("hq/A~")

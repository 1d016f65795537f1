"""Calendar apps read the calendars over CalDAV: discovery from the bare host, listing,
time ranges, multiget and sync-collection, against `icsbridge run` on loopback."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import unquote

import httpx
from support.caldav_world import PASSWORD, VIEWER_PASSWORD, World
from support.dav_requests import PROPS, calendar_named, client, dav, holiday, hrefs, sync, token_of

RECEPTION = ("reception", PASSWORD)
FRENCH = "French Holidays (Paris HQ)"


def _vdir_files(world: World) -> dict[str, bytes]:
    folder = world.folder / "feeds/vdir/webex-demo/locations/Paris HQ/holidays/French Holidays"
    return {p.name: p.read_bytes() for p in folder.glob("*.ics")}


def test_an_app_given_only_the_host_finds_the_principal_and_the_calendars(world: World) -> None:
    principal = client(world.host + "/", *RECEPTION).principal()
    assert str(principal.url) == f"{world.dav}reception/"
    names = {c.get_display_name() for c in principal.calendars()}
    assert FRENCH in names
    assert any("Wordbee" in n or "work" in n.lower() for n in names if n), names
    redirect = httpx.get(world.host + "/.well-known/caldav", trust_env=False)
    assert (redirect.status_code, redirect.headers["location"]) == (301, "/dav/")
    home = dav(
        "PROPFIND",
        f"{world.dav}reception/",
        RECEPTION,
        PROPS.format(
            props='<principal-URL/><C:calendar-home-set xmlns:C="urn:ietf:params:xml:ns:caldav"/>'
        ),
        Depth="0",
    )
    assert home.status_code == 207
    assert hrefs(home).count("/dav/reception/") == 3  # the response, principal, home


def test_events_are_byte_for_byte_the_vdir_files_and_time_ranges_pick_them(
    world: World,
) -> None:
    cal = calendar_named(client(world.dav, *RECEPTION).principal(), FRENCH)
    files = _vdir_files(world)
    events = cal.events()
    assert len(events) == len(files) >= 3
    for event in events:
        name = unquote(str(event.url).rsplit("/", 1)[1])
        got = httpx.get(str(event.url), auth=RECEPTION, trust_env=False)
        assert got.content == files[name]
        assert got.headers["etag"].startswith('"')
    december = cal.search(
        start=datetime(2026, 12, 1), end=datetime(2027, 1, 1), event=True, expand=False
    )
    assert 0 < len(december) < len(events)
    urls = [e.url for e in events[:2]]
    fetched = cal.multiget(urls)
    assert sorted(unquote(str(e.url)) for e in fetched) == sorted(unquote(str(u)) for u in urls)
    assert all(e.data for e in fetched)


def test_sync_tokens_report_exactly_the_changes_and_survive_a_restart(world: World) -> None:
    cal = calendar_named(client(world.dav, *RECEPTION).principal(), FRENCH)
    url = str(cal.url)
    first = sync(url, RECEPTION)
    assert first.status_code == 207
    token = token_of(first)
    assert len(hrefs(first)) == len(_vdir_files(world))
    unchanged = sync(url, RECEPTION, token)
    assert (hrefs(unchanged), token_of(unchanged)) == ([], token)

    world.stop()
    world.start()
    after_restart = sync(url, RECEPTION, token)
    assert after_restart.status_code == 207, after_restart.text
    assert (hrefs(after_restart), token_of(after_restart)) == ([], token)

    cal.save_event(holiday("Staff party", "20261218"))
    changed = sync(url, RECEPTION, token)
    [href] = hrefs(changed)
    assert token_of(changed) != token and href.startswith("/dav/reception/")

    unknown = sync(url, RECEPTION, "0000000000000000-1")
    assert unknown.status_code == 403
    assert "valid-sync-token" in unknown.text


def test_a_calendar_not_visible_is_the_same_404_as_one_that_does_not_exist(
    world: World,
) -> None:
    viewer = ("viewer", VIEWER_PASSWORD)
    reception = client(world.dav, *RECEPTION).principal()
    wordbee = next(c for c in reception.calendars() if "wordbee-demo" in str(c.url))
    hidden = dav("PROPFIND", str(wordbee.url).replace("/reception/", "/viewer/"), viewer, Depth="0")
    missing = dav("PROPFIND", f"{world.dav}viewer/no-such-calendar/", viewer, Depth="0")
    other_user = dav("PROPFIND", str(wordbee.url), viewer, Depth="0")
    assert hidden.status_code == missing.status_code == other_user.status_code == 404
    put_hidden = dav(
        "PUT",
        str(wordbee.url).replace("/reception/", "/viewer/") + "x.ics",
        viewer,
        holiday("x", "20261201"),
        **{"Content-Type": "text/calendar"},
    )
    assert (put_hidden.status_code, put_hidden.text) == (404, missing.text)
    collection = httpx.get(str(wordbee.url), auth=RECEPTION, trust_env=False)
    assert collection.status_code == 405 and "PROPFIND" in collection.headers["allow"]
    names = {c.get_display_name() for c in client(world.dav, *viewer).principal().calendars()}
    assert FRENCH in names and len(names) < len(reception.calendars())


def test_each_calendar_says_its_name_description_and_components(world: World) -> None:
    asked = PROPS.format(
        props='<displayname/><C:calendar-description xmlns:C="urn:ietf:params:xml:ns:caldav"/>'
        '<C:supported-calendar-component-set xmlns:C="urn:ietf:params:xml:ns:caldav"/>'
    )
    home = dav("PROPFIND", f"{world.dav}reception/", RECEPTION, asked, Depth="1")
    responses = home.text.split("<ns0:response>")[2:]
    work = next(r for r in responses if "work-items" in r)
    french = next(r for r in responses if "French_Ho" in r)
    assert 'name="VTODO"' in work
    assert 'name="VEVENT"' in french and 'name="VTODO"' not in french
    assert f"<ns0:displayname>{FRENCH}</ns0:displayname>" in french
    assert "calendar-description>" in french


def test_a_user_at_availability_sees_busy_times_under_other_uids_read_only(world: World) -> None:
    # Issue 16: a CalDAV user follows the same details rule as a feed URL.
    guest = ("guest", PASSWORD)
    full = calendar_named(client(world.dav, *RECEPTION).principal(), FRENCH)
    shown = calendar_named(client(world.dav, *guest).principal(), FRENCH)
    full_events = [e.icalendar_component for e in full.events()]
    busy_events = [e.icalendar_component for e in shown.events()]
    assert len(busy_events) == len(full_events) >= 3
    assert {str(e["SUMMARY"]) for e in busy_events} == {"Busy"}
    assert all("DESCRIPTION" not in e for e in busy_events)
    starts = sorted(e["DTSTART"].dt for e in busy_events)
    assert starts == sorted(e["DTSTART"].dt for e in full_events)
    assert not {str(e["UID"]) for e in busy_events} & {str(e["UID"]) for e in full_events}
    privileges = dav(
        "PROPFIND",
        str(shown.url),
        guest,
        PROPS.format(props="<current-user-privilege-set/>"),
        Depth="0",
    )
    assert "write" not in privileges.text and "read" in privileges.text
    event = shown.events()[0]
    refused = httpx.put(
        str(event.url),
        content=event.data,
        auth=guest,
        trust_env=False,
        headers={"content-type": "text/calendar"},
    )
    assert refused.status_code == 403
    assert 'sees "availability" details' in refused.text

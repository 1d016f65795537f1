"""Calendar apps edit over CalDAV: every write goes through the push engine (each checked
in the simulator, exactly once), and every refusal comes back with its status and
precondition, the engine's reason in the body."""

from __future__ import annotations

from collections import Counter

import httpx
from support.caldav_world import PASSWORD, VIEWER_PASSWORD, World
from support.dav_requests import PROPS, calendar_named, client, dav, holiday

RECEPTION = ("reception", PASSWORD)
VIEWER = ("viewer", VIEWER_PASSWORD)
FRENCH = "French Holidays (Paris HQ)"
PRIVILEGES = PROPS.format(props="<current-user-privilege-set/>")


def _event_names(world: World) -> Counter[str]:
    """How many schedules of the simulated org hold an event of each name."""

    def count() -> Counter[str]:
        owners = [*world.sim.people.values(), *world.sim.locations.values()]
        return Counter(n for o in owners for sched in o.schedules for n in sched.events)

    result: Counter[str] = world.webex.call(count)
    return result


def _french_url(world: World) -> str:
    return str(calendar_named(client(world.dav, *RECEPTION).principal(), FRENCH).url)


def test_create_update_delete_each_reach_webex_exactly_once(world: World) -> None:
    calendar = _french_url(world)
    url = f"{calendar}3F2C1A9E-APPLE-PICKED-NAME.ics"  # the client's own resource name
    created = dav(
        "PUT",
        url,
        RECEPTION,
        holiday("Staff party", "20261218"),
        **{"Content-Type": "text/calendar", "If-None-Match": "*"},
    )
    assert created.status_code == 201, created.text
    # icsbridge re-renders the event (its own PRODID, DTSTAMP...): no ETag (RFC 4791 5.3.4)
    assert "etag" not in created.headers
    assert _event_names(world)["Staff party"] == 1
    fetched = httpx.get(url, auth=RECEPTION, trust_env=False)
    assert fetched.status_code == 200 and b"SUMMARY:Staff party" in fetched.content

    edited = fetched.content.replace(b"SUMMARY:Staff party", b"SUMMARY:Staff party moved")
    updated = dav(
        "PUT",
        url,
        RECEPTION,
        edited,
        **{"Content-Type": "text/calendar", "If-Match": fetched.headers["etag"]},
    )
    assert updated.status_code == 204, updated.text
    names = _event_names(world)
    assert (names["Staff party"], names["Staff party moved"]) == (0, 1)

    stale = dav(
        "PUT",
        url,
        RECEPTION,
        edited,
        **{"Content-Type": "text/calendar", "If-Match": fetched.headers["etag"]},
    )
    assert stale.status_code == 412

    current = httpx.get(url, auth=RECEPTION, trust_env=False)
    deleted = dav("DELETE", url, RECEPTION, **{"If-Match": current.headers["etag"]})
    assert deleted.status_code == 204, deleted.text
    assert _event_names(world)["Staff party moved"] == 0
    assert httpx.get(url, auth=RECEPTION, trust_env=False).status_code == 404


def test_the_python_caldav_client_saves_and_deletes_through_the_engine(world: World) -> None:
    cal = calendar_named(client(world.dav, *RECEPTION).principal(), FRENCH)
    event = cal.save_event(holiday("Inventory day", "20261222"))
    assert _event_names(world)["Inventory day"] == 1
    event.load()
    event.delete()
    assert _event_names(world)["Inventory day"] == 0


def test_what_the_api_cannot_hold_is_403_with_the_engines_reason(world: World) -> None:
    url = _french_url(world) + "monthly.ics"
    monthly = holiday("Month end", "20261230", extra="RRULE:FREQ=MONTHLY;BYMONTHDAY=30\r\n")
    refused = dav("PUT", url, RECEPTION, monthly, **{"Content-Type": "text/calendar"})
    assert refused.status_code == 403
    assert "valid-calendar-object-resource" in refused.text
    assert "webex" in refused.text.lower()  # the engine's one line, naming the API
    unreadable = dav(
        "PUT",
        url,
        RECEPTION,
        b"BEGIN:VCALENDAR\r\nnonsense\r\n",
        **{"Content-Type": "text/calendar"},
    )
    assert unreadable.status_code == 403 and "valid-calendar-data" in unreadable.text
    assert _event_names(world)["Month end"] == 0


def test_read_only_calendars_refuse_writes_and_say_read_only(world: World) -> None:
    french = _french_url(world)
    as_viewer = french.replace("/reception/", "/viewer/")
    wordbee = next(
        str(c.url)
        for c in client(world.dav, *RECEPTION).principal().calendars()
        if "wordbee-demo" in str(c.url)
    )
    body = holiday("Not allowed", "20261224")
    for url, auth, why in [
        (as_viewer, VIEWER, 'user "viewer" has write = false'),
        (wordbee, RECEPTION, 'source "wordbee-demo" is read-only'),
    ]:
        refused = dav("PUT", url + "x.ics", auth, body, **{"Content-Type": "text/calendar"})
        assert refused.status_code == 403, refused.text
        assert "need-privileges" in refused.text and why in refused.text
        privileges = dav("PROPFIND", url, auth, PRIVILEGES, Depth="0")
        assert "<ns0:read />" in privileges.text and "write" not in privileges.text
    writable = dav("PROPFIND", french, RECEPTION, PRIVILEGES, Depth="0")
    assert "write-content" in writable.text
    assert _event_names(world)["Not allowed"] == 0


def test_what_the_apis_hold_cannot_be_created_moved_or_renamed(world: World) -> None:
    french = _french_url(world)
    for method, url in [
        ("MKCALENDAR", f"{world.dav}reception/new/"),
        ("MKCOL", f"{world.dav}reception/new/"),
        ("PROPPATCH", french),
        ("MOVE", french),
        ("POST", french),
    ]:
        answer = dav(method, url, RECEPTION, Destination=f"{world.dav}reception/other/")
        assert answer.status_code == 403, (method, answer.status_code)
        assert answer.text.strip(), method  # says why


def test_an_alarm_the_user_adds_is_served_back_to_that_user_only(world: World) -> None:
    calendar = _french_url(world)
    url = f"{calendar}alarm-test.ics"
    alarm = (
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
    )
    body = holiday("Fire drill", "20261216", extra=alarm)
    created = dav("PUT", url, RECEPTION, body, **{"Content-Type": "text/calendar"})
    assert created.status_code == 201, created.text
    assert _event_names(world)["Fire drill"] == 1
    mine = httpx.get(url, auth=RECEPTION, trust_env=False)
    assert b"TRIGGER:-PT15M" in mine.content
    theirs = httpx.get(url.replace("/reception/", "/viewer/"), auth=VIEWER, trust_env=False)
    assert theirs.status_code == 200 and b"VALARM" not in theirs.content
    assert mine.headers["etag"] != theirs.headers["etag"]
    # Saved again without it: the alarm is gone, for this user too.
    plain = mine.content.replace(alarm.encode(), b"")
    again = dav(
        "PUT",
        url,
        RECEPTION,
        plain,
        **{"Content-Type": "text/calendar", "If-Match": mine.headers["etag"]},
    )
    assert again.status_code == 204, again.text
    assert b"VALARM" not in httpx.get(url, auth=RECEPTION, trust_env=False).content
    assert _event_names(world)["Fire drill"] == 1


def test_an_event_changed_in_webex_as_well_is_412_and_webex_keeps_its_version(
    world: World,
) -> None:
    cal = calendar_named(client(world.dav, *RECEPTION).principal(), FRENCH)
    event = next(e for e in cal.events() if "SUMMARY:Fete du Travail 2025" in e.data)
    url = str(event.url)
    fetched = httpx.get(url, auth=RECEPTION, trust_env=False)
    paris = next(i for i, loc in world.sim.locations.items() if loc.name == "Paris HQ")
    world.webex.call(
        lambda: world.sim.rename_event(
            paris, "holidays", "French Holidays", "Fete du Travail 2025", "Labour Day 2025"
        )
    )
    edited = fetched.content.replace(b"SUMMARY:Fete du Travail 2025", b"SUMMARY:May Day")
    answer = dav(
        "PUT",
        url,
        RECEPTION,
        edited,
        **{"Content-Type": "text/calendar", "If-Match": fetched.headers["etag"]},
    )
    assert answer.status_code == 412, answer.text
    assert "changed" in answer.text
    names = _event_names(world)
    assert (names["Labour Day 2025"], names["May Day"]) == (1, 0)

"""The Webex simulator behaves like the documented API (the icsbridge wire contract)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from support.paths import REPO

from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import create_app
from icsbridge.daemon.simulators.webex.events import ApiError, event_id, schedule_id, validate_event
from icsbridge.daemon.simulators.webex.seed import read_demo
from icsbridge.daemon.simulators.webex.state import WebexSimState
from icsbridge.daemon.simulators.webex.store import Owner

SEED = REPO.parent / "shared" / "seeds" / "000_df24826e5cfaa800.txt"
SEED_EVENT_ID = "Y2lzY29zcGFyazovL3VzL1VTRVJfU0NIRURVTEVfRVZFTlQvUkdGNVgxTm9hV1ow"
AUTH = {"Authorization": "Bearer demo-token"}


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> WebexSimState:
    return webex_seed.demo_state(now=clock)


@pytest.fixture
async def client(state: WebexSimState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(
        transport=transport, base_url="https://webexapis.com", headers=AUTH
    ) as http:
        yield http


def person_id(state: WebexSimState, name: str) -> str:
    return next(p.id for p in state.people.values() if p.display_name == name)


def location_id(state: WebexSimState, name: str) -> str:
    return next(loc.id for loc in state.locations.values() if loc.name == name)


def people_prefix(state: WebexSimState, name: str = "Alice Martin") -> str:
    return f"/v1/people/{person_id(state, name)}/features/schedules"


def location_prefix(state: WebexSimState, name: str = "Paris HQ") -> str:
    return f"/v1/telephony/config/locations/{location_id(state, name)}/schedules"


def error_of(response: httpx.Response) -> tuple[int, str, int]:
    body = response.json()
    assert set(body) == {"message", "errors", "trackingId"}
    (entry,) = body["errors"]
    return response.status_code, entry["description"], entry["errorCode"]


def weekly_event(name: str, start: str, end: str, **days: bool) -> dict[str, Any]:
    return {
        "name": name,
        "startDate": start,
        "endDate": end,
        "startTime": "22:00",
        "endTime": "06:00",
        "allDayEnabled": False,
        "recurrence": {"recurForEver": True, "recurWeekly": {"recurInterval": 1, **days}},
    }


# ---- ids and demo data -----------------------------------------------------------------
def test_event_ids_follow_the_documented_shape() -> None:
    assert SEED_EVENT_ID in SEED.read_text()
    assert event_id("PEOPLE", "Day_Shift") == SEED_EVENT_ID
    assert schedule_id("PEOPLE", "holidays", "X") != schedule_id("PEOPLE", "businessHours", "X")


def test_demo_seed_is_stored_unchanged(state: WebexSimState) -> None:
    data = read_demo()
    person = data["people"][0]
    owner = person_id(state, person["displayName"])
    for schedule in person["schedules"]:
        for event in schedule["events"]:
            stored = state.get_event(owner, schedule["type"], schedule["name"], event["name"])
            assert stored == {"id": event_id("PEOPLE", event["name"]), **event}


def test_bulk_is_deterministic_and_well_formed() -> None:
    first, second = webex_seed.bulk_state(60, 3, 8), webex_seed.bulk_state(60, 3, 8)
    assert list(first.people) == list(second.people)
    assert len(first.people) == 60 and len(first.locations) == 2
    owners: list[Owner] = [*first.people.values(), *first.locations.values()]
    for owner in owners:
        twin = second.owner(owner.id)
        assert owner.schedules == twin.schedules
        for schedule in owner.schedules:
            for event in schedule.events.values():
                assert validate_event(event, owner.level) == event


# ---- paging --------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_paging_follows_link_and_keeps_query_params(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    url: str | None = f"{people_prefix(state)}?orgId={state.org_id}&max=2"
    pages: list[list[dict[str, Any]]] = []
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        pages.append(response.json()["schedules"])
        url = response.links.get("next", {}).get("url")
        if url:
            assert url.startswith("https://webexapis.com/v1/people/")
            query = httpx.URL(url).params
            assert query["orgId"] == state.org_id and query["max"] == "2"
    assert [len(page) for page in pages] == [2, 2, 1]
    names = [(row["name"], row["level"]) for page in pages for row in page]
    whole = (await client.get(people_prefix(state))).json()["schedules"]
    assert names == [(row["name"], row["level"]) for row in whole]
    assert ("Shifts", "PEOPLE") in names and ("Office Hours", "LOCATION") in names
    assert "start=4" in state.requests[-2].path


@pytest.mark.anyio
async def test_filters_ride_in_the_next_link(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    response = await client.get(location_prefix(state), params={"type": "businessHours", "max": 1})
    assert [row["name"] for row in response.json()["schedules"]] == ["Office Hours"]
    assert response.json()["schedules"][0]["locationName"] == "Paris HQ"
    next_url = response.links["next"]["url"]
    assert "type=businessHours" in next_url
    last = await client.get(next_url)
    assert [row["name"] for row in last.json()["schedules"]] == ["Reception Hours"]
    assert "link" not in last.headers


@pytest.mark.anyio
async def test_locations_are_paged(client: httpx.AsyncClient) -> None:
    first = await client.get("/v1/locations", params={"max": 1})
    assert [loc["name"] for loc in first.json()["items"]] == ["Paris HQ"]
    second = await client.get(first.links["next"]["url"])
    assert second.json()["items"][0]["timeZone"] == "America/New_York"
    assert (await client.get("/v1/locations", params={"max": 0})).status_code == 400


# ---- directory -------------------------------------------------------------------------
@pytest.mark.anyio
async def test_person_location_and_calling_zone(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    bruno = person_id(state, "Bruno Lefevre")
    person = (await client.get(f"/v1/people/{bruno}", params={"callingData": "true"})).json()
    assert person["locationId"] == location_id(state, "Paris HQ")
    assert person["orgId"] == state.org_id
    assert (await client.get(f"/v1/telephony/config/people/{bruno}")).json() == {}
    location = (await client.get(f"/v1/locations/{person['locationId']}")).json()
    assert location["timeZone"] == "Europe/Paris"


# ---- auth, org, tracking ----------------------------------------------------------------
@pytest.mark.anyio
async def test_bad_token_401_and_foreign_org_403(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    no_token = await client.get("/v1/locations", headers={"Authorization": ""})
    assert error_of(no_token)[:2] == (401, no_token.json()["message"])
    assert "valid access token" in no_token.json()["message"]
    wrong = await client.get("/v1/locations", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    foreign = await client.get("/v1/locations", params={"orgId": "someone-else"})
    assert foreign.status_code == 403
    assert "someone-else" in error_of(foreign)[1]


@pytest.mark.anyio
async def test_tracking_id_is_echoed(client: httpx.AsyncClient, state: WebexSimState) -> None:
    tracking = "ICSBRIDGE_1f1c4a5e-0000-4000-8000-000000000000"
    ok = await client.get("/v1/locations", headers={"TrackingID": tracking})
    assert ok.headers["trackingid"] == tracking
    missing = await client.get("/v1/locations/unknown", headers={"TrackingID": tracking})
    assert missing.status_code == 404 and missing.json()["trackingId"] == tracking
    assert (await client.get("/v1/locations")).headers["trackingid"].startswith("SIMULATOR_")
    assert state.requests[0].headers["trackingid"] == tracking
    assert state.requests[0].headers["authorization"] == "<redacted>"


@pytest.mark.anyio
async def test_refresh_rotates_and_access_tokens_expire(
    client: httpx.AsyncClient, state: WebexSimState, clock: Clock
) -> None:
    state.auth.rotate_refresh_tokens = True
    form = {
        "grant_type": "refresh_token",
        "client_id": "demo-client-id",
        "client_secret": "demo-client-secret",
        "refresh_token": "demo-refresh-token",
    }
    granted = (await client.post("/v1/access_token", data=form)).json()
    assert granted["token_type"] == "Bearer" and granted["refresh_token"] != "demo-refresh-token"
    reused = await client.post("/v1/access_token", data=form)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {granted['access_token']}"}
    assert (await client.get("/v1/locations", headers=bearer)).status_code == 200
    clock.current += timedelta(seconds=granted["expires_in"])
    expired = await client.get("/v1/locations", headers=bearer)
    assert error_of(expired)[:2] == (401, "The access token has expired; refresh it.")
    again = await client.post(
        "/v1/access_token", data={**form, "refresh_token": granted["refresh_token"]}
    )
    assert again.status_code == 200
    bad_secret = await client.post("/v1/access_token", data={**form, "client_secret": "x"})
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert b"demo-client-secret" not in b"".join(r.body for r in state.requests)


# ---- schedules and events --------------------------------------------------------------
@pytest.mark.anyio
async def test_location_schedule_through_person_endpoint_is_404(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    office = schedule_id("LOCATION", "businessHours", "Office Hours")
    via_person = await client.get(f"{people_prefix(state)}/businessHours/{office}")
    status, description, _ = error_of(via_person)
    assert status == 404 and "location schedule" in description
    via_location = await client.get(f"{location_prefix(state)}/businessHours/{office}")
    assert [e["name"] for e in via_location.json()["events"]] == ["Weekdays", "Saturday Morning"]
    wrong_type = await client.get(f"{location_prefix(state)}/holidays/{office}")
    assert wrong_type.status_code == 404


@pytest.mark.anyio
async def test_day_shift_reads_like_the_docs(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    shifts = schedule_id("PEOPLE", "businessHours", "Shifts")
    event = (
        await client.get(f"{people_prefix(state)}/businessHours/{shifts}/events/{SEED_EVENT_ID}")
    ).json()
    assert event["id"] == SEED_EVENT_ID
    assert (event["startDate"], event["startTime"], event["endTime"]) == (
        "2020-03-18",
        "08:00",
        "17:00",
    )
    assert event["recurrence"]["recurForEver"] is True
    assert event["recurrence"]["recurWeekly"]["wednesday"] is True


@pytest.mark.anyio
async def test_names_are_unique_and_location_names_are_reserved(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    taken = await client.post(
        people_prefix(state), json={"name": "Shifts", "type": "businessHours"}
    )
    assert error_of(taken) == (409, "a businessHours schedule named 'Shifts' already exists", 25034)
    clash = await client.post(
        people_prefix(state), json={"name": "Office Hours", "type": "businessHours"}
    )
    assert error_of(clash)[0::2] == (409, 25030)
    assert "Paris HQ" in error_of(clash)[1]
    other_type = await client.post(
        people_prefix(state), json={"name": "Office Hours", "type": "holidays"}
    )
    assert other_type.status_code == 200


@pytest.mark.parametrize(
    ("level", "recurrence", "expected"),
    [
        (
            "PEOPLE",
            {"recurForEver": True, "recurYearlyByDate": {"dayOfMonth": 1, "month": "MAY"}},
            "recurYearlyByDate is not supported for person schedules",
        ),
        (
            "LOCATION",
            {"recurForEver": True, "recurDaily": {"recurInterval": 1}},
            "recurDaily is not supported for location schedules",
        ),
        (
            "LOCATION",
            {"recurEndOccurrence": 3, "recurWeekly": {"recurInterval": 1, "monday": True}},
            "recurEndOccurrence is not supported for location schedules",
        ),
        (
            "LOCATION",
            {"recurForEver": True, "recurWeekly": {"recurInterval": 2, "monday": True}},
            "recurWeekly.recurInterval must be 1 for location schedules",
        ),
        ("PEOPLE", {"recurDaily": {"recurInterval": 1}}, "recurrence needs exactly one of"),
        (
            "PEOPLE",
            {"recurForEver": True, "recurDaily": {"recurInterval": 1}, "recurWeekly": {}},
            "recurrence needs exactly one of",
        ),
    ],
)
def test_capabilities_per_level(level: Any, recurrence: dict[str, Any], expected: str) -> None:
    event = {
        "name": "E",
        "startDate": "2025-01-06",
        "endDate": "2025-01-06",
        "startTime": "09:00",
        "endTime": "10:00",
        "recurrence": recurrence,
    }
    with pytest.raises(ApiError) as caught:
        validate_event(event, level)
    assert caught.value.status == 400 and expected in caught.value.description


@pytest.mark.anyio
async def test_validation_errors_are_400_with_a_clear_description(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    shifts = schedule_id("PEOPLE", "businessHours", "Shifts")
    events = f"{people_prefix(state)}/businessHours/{shifts}/events"
    bad_time = {
        "name": "X",
        "startDate": "2025-01-06",
        "endDate": "2025-01-06",
        "startTime": "9:00",
        "endTime": "10:00",
    }
    assert (
        "startTime is required in the format HH:MM"
        in error_of(await client.post(events, json=bad_time))[1]
    )
    backwards = {**bad_time, "startTime": "11:00"}
    assert error_of(await client.post(events, json=backwards))[1] == (
        "event 'X': the end (2025-01-06 10:00) is not after the start"
    )
    all_day_backwards = {
        "name": "Y",
        "startDate": "2025-01-06",
        "endDate": "2025-01-05",
        "allDayEnabled": True,
    }
    assert error_of(await client.post(events, json=all_day_backwards))[0] == 400
    yearly = {
        **bad_time,
        "startTime": "08:00",
        "recurrence": {
            "recurForEver": True,
            "recurYearlyByDay": {"day": "MONDAY", "week": "LAST", "month": "MAY"},
        },
    }
    status, description, _ = error_of(await client.post(events, json=yearly))
    assert status == 400 and "recurYearlyByDay is not supported for person schedules" in description
    not_json = await client.post(
        events, content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert error_of(not_json)[:2] == (400, "the request body is not valid JSON")
    assert state.writes()[-1].status == 400


@pytest.mark.anyio
async def test_all_day_end_date_is_inclusive(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    holidays = schedule_id("LOCATION", "holidays", "French Holidays")
    url = f"{location_prefix(state)}/holidays/{holidays}/events"
    one_day = {
        "name": "Toussaint 2025",
        "startDate": "2025-11-01",
        "endDate": "2025-11-01",
        "allDayEnabled": True,
        "startTime": "00:00",
    }
    new_id = (await client.post(url, json=one_day)).json()["id"]
    stored = (await client.get(f"{url}/{new_id}")).json()
    assert stored == {
        "id": new_id,
        "name": "Toussaint 2025",
        "startDate": "2025-11-01",
        "endDate": "2025-11-01",
        "allDayEnabled": True,
    }


@pytest.mark.anyio
async def test_server_moves_start_to_first_occurrence(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    shifts = schedule_id("PEOPLE", "businessHours", "Shifts")
    url = f"{people_prefix(state)}/businessHours/{shifts}/events"
    # Monday 2025-01-06 22:00 -> Tuesday 06:00, but the rule says Wednesdays only.
    night = weekly_event("Wednesday Night", "2025-01-06", "2025-01-07", wednesday=True)
    new_id = (await client.post(url, json=night)).json()["id"]
    stored = (await client.get(f"{url}/{new_id}")).json()
    assert (stored["startDate"], stored["endDate"]) == ("2025-01-08", "2025-01-09")
    thanksgiving = {
        "name": "Thanksgiving 2025+",
        "startDate": "2025-01-01",
        "endDate": "2025-01-01",
        "allDayEnabled": True,
        "recurrence": {
            "recurForEver": True,
            "recurYearlyByDay": {"day": "THURSDAY", "week": "FOURTH", "month": "NOVEMBER"},
        },
    }
    state.set_event(location_id(state, "New York"), "holidays", "US Holidays", thanksgiving)
    moved = state.get_event(
        location_id(state, "New York"), "holidays", "US Holidays", "Thanksgiving 2025+"
    )
    assert (moved["startDate"], moved["endDate"]) == ("2025-11-27", "2025-11-27")


@pytest.mark.anyio
async def test_renaming_changes_ids_and_old_ids_404(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    old_schedule = schedule_id("PEOPLE", "businessHours", "Shifts")
    renamed = await client.put(
        f"{people_prefix(state)}/businessHours/{old_schedule}",
        json={"name": "Shifts", "newName": "Rota"},
    )
    new_schedule = renamed.json()["id"]
    assert new_schedule == schedule_id("PEOPLE", "businessHours", "Rota") != old_schedule
    assert (
        await client.get(f"{people_prefix(state)}/businessHours/{old_schedule}")
    ).status_code == 404
    base = f"{people_prefix(state)}/businessHours/{new_schedule}/events"
    day_shift = state.get_event(
        person_id(state, "Alice Martin"), "businessHours", "Rota", "Day_Shift"
    )
    put = await client.put(f"{base}/{SEED_EVENT_ID}", json={**day_shift, "newName": "Early Shift"})
    assert put.json()["id"] == event_id("PEOPLE", "Early Shift")
    assert (await client.get(f"{base}/{SEED_EVENT_ID}")).status_code == 404
    alice = person_id(state, "Alice Martin")
    admin_id = state.rename_event(alice, "businessHours", "Rota", "Early Shift", "Morning")
    assert (await client.get(f"{base}/{admin_id}")).json()["name"] == "Morning"
    wrong_name = await client.put(f"{base}/{admin_id}", json={**day_shift, "name": "Other"})
    assert "send newName to rename" in error_of(wrong_name)[1]


@pytest.mark.anyio
async def test_delete_then_404(client: httpx.AsyncClient, state: WebexSimState) -> None:
    leave = schedule_id("PEOPLE", "holidays", "Alice Leave")
    url = f"{people_prefix(state)}/holidays/{leave}"
    dentist = event_id("PEOPLE", "Dentist")
    assert (await client.delete(f"{url}/events/{dentist}")).status_code == 204
    assert (await client.get(f"{url}/events/{dentist}")).status_code == 404
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert [r.method for r in state.writes()] == ["DELETE", "DELETE"]


# ---- fault injection -------------------------------------------------------------------
@pytest.mark.anyio
async def test_429_carries_retry_after_then_recovers(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    state.inject(429, times=2, retry_after=7, path_contains="/locations")
    assert (await client.get(people_prefix(state))).status_code == 200
    for _ in range(2):
        limited = await client.get("/v1/locations")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
        assert error_of(limited)[0] == 429
    assert (await client.get("/v1/locations")).status_code == 200


@pytest.mark.anyio
async def test_broken_json_and_missing_field(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    shifts = (
        f"{people_prefix(state)}/businessHours/{schedule_id('PEOPLE', 'businessHours', 'Shifts')}"
    )
    state.inject(200, body=b'{"id": ', path_contains="/businessHours/", method="GET")
    broken = await client.get(shifts)
    assert broken.status_code == 200 and broken.content == b'{"id": '
    state.mangle(
        lambda body: {k: v for k, v in body.items() if k != "events"},
        path_contains="/businessHours/",
    )
    assert "events" not in (await client.get(shifts)).json()
    assert "events" in (await client.get(shifts)).json()


@pytest.mark.anyio
async def test_unknown_route_and_method_get_error_bodies(client: httpx.AsyncClient) -> None:
    assert error_of(await client.get("/v1/nothing"))[0] == 404
    assert error_of(await client.patch("/v1/locations"))[0] == 405
    assert re.match(
        r"SIMULATOR_[0-9a-f-]{36}$", (await client.get("/v1/nothing")).json()["trackingId"]
    )


@pytest.mark.anyio
async def test_put_schedule_replaces_events_and_refuses_duplicates(
    client: httpx.AsyncClient, state: WebexSimState
) -> None:
    reviews = schedule_id("PEOPLE", "businessHours", "Reviews")
    url = f"{people_prefix(state, 'Bruno Lefevre')}/businessHours/{reviews}"
    night = weekly_event("Night", "2025-01-06", "2025-01-07", monday=True)
    twice = await client.put(url, json={"name": "Reviews", "events": [night, night]})
    assert error_of(twice)[:2] == (409, "an event named 'Night' already exists in this schedule")
    assert (await client.put(url, json={"name": "Reviews", "events": [night]})).json()[
        "id"
    ] == reviews
    assert [e["name"] for e in (await client.get(url)).json()["events"]] == ["Night"]
    unknown = schedule_id("PEOPLE", "businessHours", "Nope")
    assert (await client.get(url.replace(reviews, unknown))).status_code == 404


def test_control_hub_edits_are_validated_like_the_api(state: WebexSimState) -> None:
    paris = location_id(state, "Paris HQ")
    daily = {
        "name": "Daily",
        "startDate": "2025-01-06",
        "endDate": "2025-01-06",
        "startTime": "09:00",
        "endTime": "10:00",
        "recurrence": {"recurForEver": True, "recurDaily": {"recurInterval": 1}},
    }
    with pytest.raises(ApiError, match="recurDaily is not supported for location schedules"):
        state.add_schedule(paris, "businessHours", "Extra", [daily])
    with pytest.raises(ApiError, match="already exists"):
        state.add_schedule(paris, "holidays", "French Holidays", [])
    new_id = state.rename_schedule(paris, "holidays", "French Holidays", "Jours Feries")
    assert new_id == schedule_id("LOCATION", "holidays", "Jours Feries")


def test_every_other_week_counts_weeks_from_sunday() -> None:
    """Weeks start on Sunday, as converters/webex/convert.py assumes (WKST=SU).

    Entered on Monday 2026-01-05 for every other Sunday: the week of that Monday began on
    Sunday 01-04 (already past), so the first Sunday is two weeks on (01-18). With weeks
    starting on Monday it would be 01-11.
    """
    from icsbridge.daemon.simulators.webex.events import first_occurrence

    weekly = dict.fromkeys(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday"), False
    )
    recurrence = {
        "recurForEver": True,
        "recurWeekly": {"recurInterval": 2, "sunday": True, **weekly},
    }
    assert first_occurrence(recurrence, date(2026, 1, 5)) == date(2026, 1, 18)

"""Calendar files written by `icsbridge export` and `icsbridge push` (feeds.files.write_files)
hold what the daemon's feed of that calendar publishes: the source's level applies."""

from __future__ import annotations

from pathlib import Path

from support.demo_world import NOW, demo_store

from icsbridge.daemon.feeds.files import ExportReport, calendar_path, write_files
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar


def test_an_exported_file_leaves_out_the_attendees_the_daemons_feed_leaves_out(
    tmp_path: Path,
) -> None:
    # export and push wrote the sync's own bytes, attendees' addresses included, over the
    # daemon's file of the same calendar at the same path.
    settings, store = demo_store(tmp_path, "", NOW)
    results: dict[str, list[RenderedCalendar]] = {}
    for source in settings.sources:
        keys = [name for name in store.names() if name.startswith(source.name + "/")]
        results[source.name] = [cal for key in keys if (cal := store.rendered(key))]
    people = [cal for cal in results["b2core-demo"] if b"ATTENDEE" in cal.data]
    assert people, "the demo's B2CORE calendars name recipients"
    folder = tmp_path / "export"
    with StateStore(settings.daemon.state) as state:
        write_files(folder, state, results, ExportReport(), sources=settings.sources)
    for calendars in results.values():
        for cal in calendars:
            written = calendar_path(folder, cal.meta.key).read_bytes()
            served = store.get(cal.meta.key)
            assert served is not None
            assert written == served.data, cal.meta.key
    for cal in people:
        assert b"ATTENDEE" not in calendar_path(folder, cal.meta.key).read_bytes()

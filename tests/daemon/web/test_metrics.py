"""Metrics: the Prometheus text exposition format and the values behind it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.store.backend import process_name
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.web.app import create_app
from icsbridge.daemon.web.health import daemons_by_source
from icsbridge.daemon.web.metrics import Metrics

_SAMPLE = re.compile(
    r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?:\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)\})?'
    r" (?P<value>[-+]?(?:[0-9.e+-]+|Inf|NaN))"
)
_COMMENT = re.compile(
    r"# (?:HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
    r"(?:counter|gauge|histogram|summary|untyped))"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every line is a sample or a HELP/TYPE comment; returns the samples."""
    assert text.endswith("\n")
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    typed: set[str] = set()
    for line in text[:-1].split("\n"):
        if line.startswith("#"):
            assert _COMMENT.fullmatch(line), line
            if line.startswith("# TYPE "):
                typed.add(line.split()[2])
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, line
        assert match["name"] in typed, f"{match['name']} sampled before its TYPE"
        labels = tuple(
            (k, v.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\"))
            for k, v in _LABEL.findall(match["labels"] or "")
        )
        key = (match["name"], labels)
        assert key not in samples, f"duplicate series {key}"
        samples[key] = float(match["value"])
    return samples


def test_empty_metrics_still_declare_every_family() -> None:
    text = Metrics().render()
    assert parse(text) == {}
    for name, kind in [
        ("icsbridge_sync_duration_seconds", "gauge"),
        ("icsbridge_syncs_total", "counter"),
        ("icsbridge_feed_events", "gauge"),
        ("icsbridge_feed_bytes", "gauge"),
        ("icsbridge_http_requests_total", "counter"),
    ]:
        assert f"# TYPE {name} {kind}\n" in text


def test_syncs_count_per_outcome_and_keep_the_last_duration() -> None:
    metrics = Metrics()
    metrics.sync_finished("hq", 1.5, ok=True)
    metrics.sync_finished("hq", 0.25, ok=False)
    metrics.sync_finished("hq", 2.0, ok=True)
    metrics.sync_finished("east", 3.0, ok=True)
    samples = parse(metrics.render())
    assert samples[("icsbridge_sync_duration_seconds", (("source", "hq"),))] == 2.0
    assert samples[("icsbridge_syncs_total", (("source", "hq"), ("outcome", "ok")))] == 2
    assert samples[("icsbridge_syncs_total", (("source", "hq"), ("outcome", "error")))] == 1
    # The error series exists from the first sync on, so rate() sees the first failure.
    assert samples[("icsbridge_syncs_total", (("source", "east"), ("outcome", "error")))] == 0


def test_feeds_are_set_replaced_and_dropped() -> None:
    metrics = Metrics()
    metrics.set_feed("support-hours", 10, 2048)
    metrics.set_feed("support-hours", 12, 4096)
    metrics.set_feed("hq/locations/Paris HQ/holidays/French Holidays", 3, 900)
    samples = parse(metrics.render())
    assert samples[("icsbridge_feed_events", (("feed", "support-hours"),))] == 12
    assert samples[("icsbridge_feed_bytes", (("feed", "support-hours"),))] == 4096
    paris = (("feed", "hq/locations/Paris HQ/holidays/French Holidays"),)
    assert samples[("icsbridge_feed_bytes", paris)] == 900
    metrics.drop_feed("support-hours")
    metrics.drop_feed("never-there")
    samples = parse(metrics.render())
    assert ("icsbridge_feed_events", (("feed", "support-hours"),)) not in samples
    assert samples[("icsbridge_feed_events", paris)] == 3


def test_http_requests_count_by_status() -> None:
    metrics = Metrics()
    for status in (200, 200, 304, 404):
        metrics.http_request(status)
    samples = parse(metrics.render())
    assert samples[("icsbridge_http_requests_total", (("status", "200"),))] == 2
    assert samples[("icsbridge_http_requests_total", (("status", "304"),))] == 1
    assert samples[("icsbridge_http_requests_total", (("status", "404"),))] == 1


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    awkward = 'a "quoted"\\back\nslash'
    metrics.set_feed(awkward, 1, 2)
    text = metrics.render()
    assert 'icsbridge_feed_events{feed="a \\"quoted\\"\\\\back\\nslash"} 1\n' in text
    assert parse(text)[("icsbridge_feed_events", (("feed", awkward),))] == 1


def test_odd_floats_render_in_prometheus_spelling() -> None:
    metrics = Metrics()
    metrics.sync_finished("tiny", 1e-05, ok=True)
    metrics.sync_finished("inf", float("inf"), ok=True)
    metrics.sync_finished("nan", float("nan"), ok=True)
    text = metrics.render()
    assert 'icsbridge_sync_duration_seconds{source="tiny"} 1e-05\n' in text
    assert 'icsbridge_sync_duration_seconds{source="inf"} +Inf\n' in text
    assert 'icsbridge_sync_duration_seconds{source="nan"} NaN\n' in text
    parse(text)


def test_who_synced_and_who_holds_each_source_are_info_gauges_asked_at_each_render() -> None:
    metrics = Metrics()
    now: dict[str, tuple[str | None, str | None]] = {
        "hq": ("node-a:41", "node-b:7"),
        "branch": ("node-b:7", None),
        "new": (None, None),
    }
    metrics.follow_daemons(lambda: now)
    samples = parse(metrics.render())
    synced = {k[1]: v for k, v in samples.items() if k[0] == "icsbridge_source_synced_by"}
    held = {k[1]: v for k, v in samples.items() if k[0] == "icsbridge_source_held_by"}
    assert synced == {
        (("source", "hq"), ("daemon", "node-a:41")): 1,
        (("source", "branch"), ("daemon", "node-b:7")): 1,
    }
    assert held == {(("source", "hq"), ("daemon", "node-b:7")): 1}
    now["hq"] = ("node-b:7", None)  # node-b's sync of hq ended
    samples = parse(metrics.render())
    assert (
        "icsbridge_source_synced_by",
        (("source", "hq"), ("daemon", "node-a:41")),
    ) not in samples
    assert samples[("icsbridge_source_synced_by", (("source", "hq"), ("daemon", "node-b:7")))] == 1
    assert not [k for k in samples if k[0] == "icsbridge_source_held_by"]
    assert "# TYPE icsbridge_source_held_by gauge\n" in metrics.render()


def test_a_sqlite_state_has_one_daemon_and_names_none(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as state:
        state.record_attempt("hq", datetime(2026, 11, 21, tzinfo=UTC), None)
        assert state.synced_by() == {"hq": process_name()}
        with state.source_lock("hq"):
            assert daemons_by_source(state, ["hq"], None) == {}


@pytest.mark.anyio
async def test_metrics_endpoint_serves_the_exposition_and_counts_move(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.sync_finished("hq", 0.5, ok=True)
    metrics.set_feed("support-hours", 4, 321)
    with StateStore(tmp_path / "state.db") as state:
        tokens = FeedTokens(state, clock=lambda: datetime(2026, 11, 21, tzinfo=UTC))
        app = create_app(feeds=_NoFeeds(), tokens=tokens, health=lambda: (200, {}), metrics=metrics)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            first = await client.get("/metrics")
            await client.get("/feeds/nope/nope.ics")
            second = await client.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    before, after = parse(first.text), parse(second.text)
    assert before[("icsbridge_syncs_total", (("source", "hq"), ("outcome", "ok")))] == 1
    assert before[("icsbridge_feed_bytes", (("feed", "support-hours"),))] == 321
    # A scrape is counted once its answer has gone out: it shows in the next one.
    assert ("icsbridge_http_requests_total", (("status", "200"),)) not in before
    assert after[("icsbridge_http_requests_total", (("status", "200"),))] == 1
    assert after[("icsbridge_http_requests_total", (("status", "404"),))] == 1


class _NoFeeds:
    def get(self, name: str) -> None:
        return None

"""The serving bench's checks and report parsing (no timing: the bench is not a test)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from serve_bench_tools import WrkResult

from bench.__main__ import parse_serve

REPORT = Path(__file__).resolve().parents[1] / "fixtures" / "bench" / "serve_report.txt"
FEED = 991_452


def test_every_server_and_ratio_of_the_report_is_read() -> None:
    figures = parse_serve(REPORT.read_text())
    assert figures["icsbridge_304"] == 25_324
    assert figures["granian_200"] == 1_688
    assert figures["floor_304"] == 26_775
    assert figures["nginx-tuned_304"] == 46_074
    assert figures["icsbridge/nginx-debian_304"] == 0.67
    assert figures["granian/nginx-tuned_200"] == 0.75


def test_a_short_run_of_200s_with_responses_in_flight_is_valid() -> None:
    # 3,000 answers of the feed and its headers, and 32 connections each part-way into
    # one more when wrk stopped: what a 2-second warm-up of a fast server looks like.
    requests = 3_000
    run = WrkResult(requests, requests * (FEED + 300) + 32 * FEED, 2.0, 0, 0)
    assert run.problem(FEED, connections=32) is None


def test_a_run_of_error_pages_or_304s_is_not_a_run_of_the_feed() -> None:
    pages = WrkResult(50_000, 50_000 * 200, 2.0, 0, 0)
    assert pages.problem(FEED, connections=32) is not None
    twice = WrkResult(3_000, 3_000 * 2 * FEED, 2.0, 0, 0)
    assert twice.problem(FEED, connections=32) is not None
    assert WrkResult(1_000, 0, 2.0, 0, 1_000).problem(0, connections=32) is not None

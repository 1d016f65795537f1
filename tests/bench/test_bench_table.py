"""The benchmark suite's table code works (no timing here: the suite is not a test)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.__main__ import report
from bench.table import Row, render


def test_verdicts_follow_the_target_direction() -> None:
    assert Row("x", "1", "2", 0.5, 1.0).verdict == "meets"
    assert Row("x", "1", "2", 0.5, 1.0, above=True).verdict == "misses"
    text = render([Row("a. export", "1.00 s", "0.80 s", 1.25, 1.5)])
    assert text.splitlines()[0].split() == [
        "figure",
        "icsbridge",
        "reference",
        "ratio",
        "target",
        "verdict",
    ]
    assert "1.250" in text and "<= 1.5" in text and "meets" in text


# One round's figures of parts (a) and (b), as the suite's children report them.
SNAPSHOT = [{"events": 10040, "changed": 101, "requests": 1017}]
RESYNC = [
    {
        "zero_s": 0.05,
        "one_s": 0.3,
        "one_extra_s": 0.1,
        "cold_s": 3.5,
        "floor_s": 0.04,
        "zero_over_floor": 1.25,
    }
]


def test_report_prints_every_figure() -> None:
    runs = {
        "snapshot": SNAPSHOT,
        "export": [{"wall_s": 4.0}, {"wall_s": 5.0}, {"wall_s": 6.0}],
        "reference": [{"wall_s": 3.0}],
        "resync": RESYNC,
        "network": [
            {
                "wall_s": 15.0,
                "bound_s": 12.0,
                "requests": 4800,
                "floor_s": 14.0,
                "render_s": 1.0,
            }
        ],
        "serve": [{"ratio_200": 1.5, "ratio_304": 0.45, "icsbridge_200": 4000.0}],
        "rss": [
            {
                "peak_rss": 300e6,
                "rss": 250e6,
                "feed_bytes": 50e6,
                "feeds": 4000,
                "first_sync_s": 60.0,
            }
        ],
    }
    text = report(runs, argparse.Namespace(rounds=3, reps=5))
    for figure in (
        "a. full export",
        "1% changed",
        "0% changed",
        "c. sync",
        "200s",
        "304s",
        "e. peak RSS",
    ):
        assert figure in text
    assert "1.667" in text  # 5.0 / 3.0: medians, not the last run
    zero = next(line for line in text.splitlines() if "0% changed" in line)
    assert "httpx floor 0.040 s" in zero and "1.250" in zero and "<= 1.3" in zero
    # issue 18 target 2: what the changed 1% costs over the 0% re-sync, per export
    one = next(line for line in text.splitlines() if "1% changed" in line)
    assert "0% + 0.100 s" in one and "0.020" in one and "<= 0.02" in one  # 0.1 / 5.0
    assert "bare httpx on the same GETs 14.00 s" in text


def test_report_prints_several_daemons_and_the_postgresql_state() -> None:
    runs = {
        "snapshot": SNAPSHOT,
        "export": [{"wall_s": 4.0}],
        "reference": [{"wall_s": 3.0}],
        "resync": RESYNC,
        "several": [
            {
                "one_s": 8.0,
                "three_s": 6.0,
                "ratio": 0.75,
                "cpu_one_s": 9.0,
                "cpu_three_s": 9.5,
                "first_one_s": 25.0,
                "first_three_s": 60.0,
                "split": [80, 70, 50],
                "sources": 200,
                "rounds": 3,
            }
        ],
        "pgstate": [
            {
                kind: {"sqlite_s": 1.0, "postgresql_s": 2.0, "ratio": 2.0}
                for kind in ("cold", "0%", "1%", "cold state", "0% state", "1% state")
            }
        ],
    }
    lines = report(runs, argparse.Namespace(rounds=1, reps=3)).splitlines()
    several = next(line for line in lines if line.startswith("f. sync 200 sources"))
    assert "6.00 s" in several and "1 daemon 8.00 s" in several
    assert several.split()[-4:] == ["0.750", "<=", "1", "meets"]
    cold = next(line for line in lines if line.startswith("g. cold sync, PostgreSQL"))
    assert "SQLite 1.00 s" in cold and "2.000" in cold and "misses" in cold
    assert any(line.startswith("f: second round") and "[80, 70, 50]" in line for line in lines)
    assert any(line.startswith("g: time inside the state backend") for line in lines)

"""The benchmark suite: every figure of issues 8 and 17 in one table, side by side in one run.

``scripts/bench.sh`` (or ``.venv/bin/python -m bench``). Each measurement runs in a child
process; rounds are interleaved (export, reference, re-syncs, network sync, ...) and the
table gives medians. What each part measures: ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.table import Row, render

ROOT = Path(__file__).resolve().parent.parent


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _serve(seconds: int, rounds: int) -> dict[str, float]:
    """bench/serve_bench.py in a shorter mode; its ratios against nginx-debian."""
    cmd = [sys.executable, "bench/serve_bench.py", "--seconds", str(seconds)]
    out = subprocess.run(
        [*cmd, "--rounds", str(rounds)], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return parse_serve(out)


def parse_serve(out: str) -> dict[str, float]:
    """serve_bench.py's report as figures: ``<side>_<kind>`` req/s of every server and
    ``<candidate>/<nginx profile>_<kind>`` ratios."""
    found = re.findall(r"^(icsbridge|granian)/(nginx-\w+) (200|304)s\s+([0-9.]+)", out, re.M)
    rates = re.findall(r"^(icsbridge|granian|floor|nginx-\w+)\s+([0-9,]+)\s+([0-9,]+)", out, re.M)
    result = {f"{side}/{ref}_{kind}": float(value) for side, ref, kind, value in found}
    for side, r200, r304 in rates:
        result[f"{side}_200"] = float(r200.replace(",", ""))
        result[f"{side}_304"] = float(r304.replace(",", ""))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5, help="re-syncs of each kind per round")
    parser.add_argument("--serve-seconds", type=int, default=5)
    parser.add_argument("--rss-people", type=int, default=1000, help="x4 schedules x25 events")
    parser.add_argument("--several-rounds", type=int, default=3, help="f: (1, 3 daemons) pairs")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["network", "serve", "rss", "several"]
    )
    args = parser.parse_args()
    started = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {}

    def step(name: str, *cmd: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {name} ...", file=sys.stderr)
        runs.setdefault(name, []).append(_child(*cmd))

    with tempfile.TemporaryDirectory(prefix="icsbridge-bench-") as folder:
        snap = str(Path(folder) / "snapshot.pickle")
        step("snapshot", "-m", "bench.sync_bench", "snapshot", "--snapshot", snap)
        for _ in range(args.rounds):
            step("export", "-m", "bench.sync_bench", "export", "--snapshot", snap)
            step("reference", "bench/export_bench.py", "--part", "reference")
            step(
                "resync",
                "-m",
                "bench.sync_bench",
                "resync",
                "--snapshot",
                snap,
                "--reps",
                str(args.reps),
            )
            if "network" not in args.skip:
                step("network", "-m", "bench.daemon_bench", "network", "--events", "5")
        if "several" not in args.skip:  # each with its own interleaved rounds
            rounds = str(args.several_rounds)
            step("several", "-m", "bench.several_bench", "scale", "--rounds", rounds)
            step("pgstate", "-m", "bench.several_bench", "state", "--snapshot", snap)
    if "serve" not in args.skip:
        print(f"[{time.perf_counter() - started:6.0f} s] serve ...", file=sys.stderr)
        runs["serve"] = [_serve(args.serve_seconds, 1)]
    if "rss" not in args.skip:
        step(
            "rss",
            "-m",
            "bench.daemon_bench",
            "rss",
            "--people",
            str(args.rss_people),
            "--schedules",
            "4",
        )
    print(report(runs, args))
    return 0


def _med(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def report(runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    """The table (and a few lines of context) from the children's results."""
    snap = runs["snapshot"][0]
    export, ref = _med(runs["export"], "wall_s"), _med(runs["reference"], "wall_s")
    zero, one = _med(runs["resync"], "zero_s"), _med(runs["resync"], "one_s")
    cold, floor = _med(runs["resync"], "cold_s"), _med(runs["resync"], "floor_s")
    extra = _med(runs["resync"], "one_extra_s")
    rows = [
        Row(
            "a. full export, 10k events",
            f"{export:.2f} s",
            f"icalendar {ref:.2f} s",
            export / ref,
            1.5,
        ),
        Row(  # issue 18 target 2: the changed 1% over the 0% re-sync, per export
            f"b. re-sync, 1% changed ({snap['changed']} ev)",
            f"0% + {extra:.3f} s",
            f"export {export:.2f} s",
            extra / export,
            0.02,
        ),
        Row(
            "b. re-sync, 0% changed",
            f"{zero:.3f} s",
            f"httpx floor {floor:.3f} s",
            _med(runs["resync"], "zero_over_floor"),
            1.3,
        ),
    ]
    lines = []
    if "network" in runs:
        net = runs["network"]
        wall, bound = _med(net, "wall_s"), _med(net, "bound_s")
        rows.append(
            Row(
                f"c. sync 1000 people, {net[0]['requests']} req, 20 ms",
                f"{wall:.2f} s",
                f"bound {bound:.2f} s",
                wall / bound,
                1.2,
            )
        )
        floor, render_s = _med(net, "floor_s"), _med(net, "render_s")
        lines.append(
            f"c: bare httpx on the same GETs {floor:.2f} s ({floor / bound:.3f} of the bound), "
            f"ours {wall / floor:.3f} of it; render after the last answer {render_s:.2f} s"
        )
    if "serve" in runs:
        serve = runs["serve"][0]
        for side, kind, target in (
            (side, kind, target)
            for side in ("icsbridge", "granian")
            for kind, target in (("200", 1.0), ("304", 0.8))
        ):
            rows.append(
                Row(
                    f"d. serve 1 MB feed, {kind}s (req/s)"
                    + ("" if side == "icsbridge" else ", granian"),
                    f"{serve.get(f'{side}_{kind}', 0):,.0f}",
                    f"nginx {serve.get(f'nginx-debian_{kind}', 0):,.0f}",
                    serve.get(f"{side}/nginx-debian_{kind}", 0.0),
                    target,
                    above=True,
                )
            )
        lines.append(
            "d: against the tuned nginx "
            + ", ".join(
                f"{side} {kind}s {serve.get(f'{side}/nginx-tuned_{kind}', 0.0):.2f}"
                for side in ("icsbridge", "granian")
                for kind in ("200", "304")
            )
            + "; uvicorn's floor (a bare app) against nginx-debian "
            + ", ".join(
                f"{kind}s {serve.get(f'floor_{kind}', 0) / nginx:.2f}"
                for kind in ("200", "304")
                if (nginx := serve.get(f"nginx-debian_{kind}", 0))
            )
        )
    if "rss" in runs:
        mem = runs["rss"][0]
        allowed = 3 * mem["feed_bytes"] + 80e6
        rows.append(
            Row(
                f"e. peak RSS, {mem['feeds']} feeds",
                f"{mem['peak_rss'] / 1e6:.0f} MB",
                f"3x{mem['feed_bytes'] / 1e6:.0f} MB+80 = {allowed / 1e6:.0f} MB",
                mem["peak_rss"] / allowed,
                1.0,
            )
        )
        lines.append(
            f"e: first sync {mem['first_sync_s']:.0f} s; RSS after it {mem['rss'] / 1e6:.0f} MB"
        )
    if "several" in runs:
        rows_f, lines_f = _several(runs["several"][0], runs["pgstate"][0])
        rows += rows_f
        lines += lines_f
    head = (
        f"icsbridge benchmarks: {args.rounds} interleaved rounds, medians; "
        f"{snap['events']} events, {snap['requests']} requests per sync (a, b)"
    )
    notes = [
        f"b: cold daemon sync {cold:.2f} s; re-syncs: median of {args.reps} per round; "
        f"1% = {one:.3f} s ({one / export:.3f} of the export); "
        f"0% = {zero / export:.3f} of the export; the floor is bare httpx on the same "
        "recorded GETs (JSON decoded), interleaved with the re-syncs, ratio per pair"
    ]
    return "\n".join([head, "", render(rows), "", *notes, *lines])


def _several(scale: dict[str, Any], pg: dict[str, Any]) -> tuple[list[Row], list[str]]:
    """Rows (f) and (g): several daemons on one PostgreSQL, and its state cost."""
    rows = [
        Row(
            f"f. sync {scale['sources']} sources, 20 ms, 3 daemons",
            f"{scale['three_s']:.2f} s",
            f"1 daemon {scale['one_s']:.2f} s",
            scale["ratio"],
            1.0,
        )
    ]
    for kind in ("cold", "1%"):
        rows.append(
            Row(
                f"g. {kind} sync, PostgreSQL state",
                f"{pg[kind]['postgresql_s']:.2f} s",
                f"SQLite {pg[kind]['sqlite_s']:.2f} s",
                pg[kind]["ratio"],
                1.5,
            )
        )
    state = ", ".join(
        f"{kind} {pg[f'{kind} state']['postgresql_s']:.3f} s vs "
        f"{pg[f'{kind} state']['sqlite_s']:.3f} s ({pg[f'{kind} state']['ratio']:.2f})"
        for kind in ("cold", "0%", "1%")
    )
    lines = [
        f"f: second round (each source once, by whichever daemon reaches it first), median "
        f"of {scale['rounds']} (1, 3) pairs; split {scale['split']}; CPU of round two "
        f"{scale['cpu_three_s']:.1f} s in 3 daemons vs {scale['cpu_one_s']:.1f} s in one; "
        f"first round (every daemon syncs every source itself) {scale['first_three_s']:.1f} s "
        f"vs {scale['first_one_s']:.1f} s",
        f"g: time inside the state backend, PostgreSQL vs SQLite: {state}; whole 0% "
        f"re-sync {pg['0%']['postgresql_s']:.2f} s vs {pg['0%']['sqlite_s']:.2f} s "
        f"({pg['0%']['ratio']:.2f})",
    ]
    return rows, lines


if __name__ == "__main__":
    raise SystemExit(main())

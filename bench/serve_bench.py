"""Benchmark: serving a ~1 MB feed, icsbridge's feed server vs nginx, same bytes, same run.

- icsbridge: the real server in a child process (bench/serve_bench_server.py): a merged
  feed built by the real pipeline from the bulk Webex simulator, a FeedTokens URL, and
  ``icsbridge.daemon.web.app.create_app`` on uvicorn (httptools) under uvloop, started like
  ``icsbridge run`` starts it (QuietServer on a socket from ``bind()``);
- granian: the same app in the same kind of child, served by granian's embedded server
  (Rust HTTP/1.1, the app on our event loop), the candidate issue 18 asks to measure;
- floor: uvicorn as the daemon runs it, serving a bare app that holds the feed's answers
  (nothing of ours): how much of each response is the server's own cost;
- nginx: Debian's nginx from a temp prefix on a free port (``daemon off``, worker_processes
  auto, ``etag on``, no access log) serving the very same bytes from a file, twice:
  "nginx-debian" with the file settings of Debian's nginx.conf (sendfile, tcp_nopush) and
  "nginx-tuned" with the fastest settings found for this case (one 1 MB read buffer
  instead of sendfile, open_file_cache). The targets (issue 18: 200s >= 1.0x, 304s >=
  0.8x) are set against the first; the second shows how far a tuned nginx moves them.

wrk loads each on 127.0.0.1 with the same threads and connections, for (a) plain GETs
(200 + the whole feed) and (b) GETs with ``If-None-Match: <that server's own ETag>`` (304).
Runs are interleaved (icsbridge, nginx, icsbridge, nginx, ...) so drift hits both sides;
the figures are medians, with each server's CPU time per response read from /proc. Before
loading, each server is checked with httpx: 200 with the same body (sha256) on all, 304 for
its ETag; during each run, wrk must see no status >= 400 and bytes per response must fit
the answer (see WrkResult.problem). bench/README.md has figures and how to read them.

Run: .venv/bin/python bench/serve_bench.py [--seconds 10 --rounds 3 -t 2 -c 32]
Installs nginx and wrk with apt-get when missing (as root, or with sudo -n). Everything
it starts (nginx, the server child) is stopped at the end. About 3.5 minutes by default.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_bench_tools import (
    NGINX_PROFILES,
    IcsbridgeServer,
    WrkResult,
    ensure_tools,
    icsbridge,
    nginx,
    wrk,
)

# icsbridge req/s as a share of nginx-debian's (issue 18; issue 8's were 0.5 and 0.4).
TARGETS = {"200": 1.0, "304": 0.8}
# The daemon's server (uvicorn), the candidate (granian: the same app, the same process
# layout), uvicorn's floor (a bare app with the feed's answers), then the reference.
CANDIDATES = ("icsbridge", "granian")
SIDES = (*CANDIDATES, "floor", *NGINX_PROFILES)


def _precheck(name: str, url: str, expected_sha: str) -> str:
    """The server's ETag, after checking it answers 200 with the feed and 304 to it."""
    with httpx.Client(timeout=10, trust_env=False) as client:
        full = client.get(url)
        if full.status_code != 200:
            raise SystemExit(f"{name}: GET {url} -> {full.status_code}, expected 200")
        if hashlib.sha256(full.content).hexdigest() != expected_sha:
            raise SystemExit(f"{name}: the body is not the feed's bytes")
        if not full.headers.get("content-type", "").startswith("text/calendar"):
            raise SystemExit(f"{name}: content-type {full.headers.get('content-type')}")
        etag: str | None = full.headers.get("etag")
        if not etag:
            raise SystemExit(f"{name}: no ETag")
        cond = client.get(url, headers={"If-None-Match": etag})
        if cond.status_code != 304 or cond.headers.get("etag") != etag:
            raise SystemExit(f"{name}: If-None-Match {etag} -> {cond.status_code}, expected 304")
    return etag


def _version(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0].split(" Copyright")[0] if text else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-t", "--threads", type=int, default=2)
    parser.add_argument("-c", "--connections", type=int, default=32)
    args = parser.parse_args()
    # A plain SIGTERM would skip the clean-up below and leave nginx and the server running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    tools = ensure_tools()
    with ExitStack() as stack:
        temp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="serve-bench-")))
        temp.chmod(0o755)  # nginx's workers (nobody, when run as root) read under it
        for sub in ("wrk", *SIDES):
            (temp / sub).mkdir(mode=0o700)
        print("building the feed and starting the icsbridge server ...", file=sys.stderr)
        ics = stack.enter_context(icsbridge(temp / "icsbridge"))
        feed = ics.file.read_bytes()
        if len(feed) != ics.size:
            raise SystemExit("the feed file differs from what the server holds")
        urls = {"icsbridge": f"http://127.0.0.1:{ics.port}{ics.path}"}
        pids = {"icsbridge": ics.pid}
        gra = stack.enter_context(icsbridge(temp / "granian", server="granian"))
        urls["granian"] = f"http://127.0.0.1:{gra.port}{gra.path}"
        pids["granian"] = gra.pid
        floor = stack.enter_context(icsbridge(temp / "floor", server="floor"))
        urls["floor"] = f"http://127.0.0.1:{floor.port}{floor.path}"
        pids["floor"] = floor.pid
        for profile in NGINX_PROFILES:
            port, path, pid = stack.enter_context(
                nginx(tools["nginx"], temp / profile, feed, profile=profile)
            )
            urls[profile] = f"http://127.0.0.1:{port}{path}"
            pids[profile] = pid
        sha = hashlib.sha256(feed).hexdigest()
        etags = {side: _precheck(side, urls[side], sha) for side in SIDES}
        for side, server in (("icsbridge", ics), ("granian", gra), ("floor", floor)):
            if etags[side] != ics.etag or server.etag != ics.etag:
                raise SystemExit(f"{side} served another ETag than its feed store holds")

        def load(side: str, kind: str, seconds: int) -> WrkResult:
            result = wrk(
                tools["wrk"],
                urls[side],
                threads=args.threads,
                connections=args.connections,
                seconds=seconds,
                headers={"If-None-Match": etags[side]} if kind == "304" else {},
                folder=temp / "wrk",
                server_pid=pids[side],
            )
            problem = result.problem(len(feed) if kind == "200" else 0, args.connections)
            if problem:
                raise SystemExit(f"{side} {kind}s: invalid run: {problem}")
            return result

        for side in SIDES:  # warm-up, not counted
            for kind in TARGETS:
                load(side, kind, 2)
        runs: dict[tuple[str, str], list[WrkResult]] = {}
        for n in range(args.rounds):
            for kind in TARGETS:
                for side in SIDES:
                    result = load(side, kind, args.seconds)
                    runs.setdefault((side, kind), []).append(result)
                    errors = (
                        f" ({result.socket_errors} socket errors)" if result.socket_errors else ""
                    )
                    print(
                        f"round {n + 1}/{args.rounds} {kind}s {side:<12} "
                        f"{result.rate:>9,.0f} req/s, server CPU "
                        f"{result.server_cpu / result.seconds:.0%} of a core, "
                        f"{result.cpu_per_request:.0f} us/response{errors}",
                        file=sys.stderr,
                    )
    _report(args, (ics, gra), tools, runs, len(feed))
    return 0


def _report(
    args: argparse.Namespace,
    servers: tuple[IcsbridgeServer, IcsbridgeServer],
    tools: dict[str, str],
    runs: dict[tuple[str, str], list[WrkResult]],
    size: int,
) -> None:
    ics, gra = servers
    med = {key: statistics.median(r.rate for r in results) for key, results in runs.items()}
    print(
        f"serve benchmark: one feed of {size:,} bytes ({ics.events} events), "
        f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s on 127.0.0.1, "
        f"{args.rounds} interleaved rounds, median req/s"
    )
    print(
        f"{os.cpu_count()} CPU cores, shared by the server under test and wrk; "
        f"{_version([tools['nginx'], '-v'])}; {_version([tools['wrk'], '-v'])}"
    )
    print(f"icsbridge: daemon.web.app.create_app on uvicorn ({ics.http}, {ics.loop}), one process")
    print(f"granian: the same app on {gra.http} ({gra.loop}), one process")
    print("floor: uvicorn as icsbridge runs it, a bare app answering with the feed's bytes")
    print()
    print(
        f"{'server':<14}{'req/s 200':>11}{'req/s 304':>11}{'MB/s 200':>10}"
        f"{'CPU us 200':>12}{'CPU us 304':>12}   range req/s 200 | 304"
    )
    for side in SIDES:
        rates = {kind: [r.rate for r in runs[(side, kind)]] for kind in TARGETS}
        ranges = " | ".join(f"{min(v):,.0f}-{max(v):,.0f}" for v in rates.values())
        cpu = {
            kind: statistics.median(r.cpu_per_request for r in runs[(side, kind)])
            for kind in TARGETS
        }
        print(
            f"{side:<14}{med[(side, '200')]:>11,.0f}{med[(side, '304')]:>11,.0f}"
            f"{med[(side, '200')] * size / 1e6:>10,.0f}{cpu['200']:>12.0f}{cpu['304']:>12.0f}"
            f"   {ranges}"
        )
    print("(CPU us: the server's CPU time per response, all its processes, median)")
    print()
    print(f"{'ratio':<32}{'value':>7}{'target':>10}  verdict")
    for profile in NGINX_PROFILES:
        for side, kind in ((side, kind) for side in CANDIDATES for kind in TARGETS):
            target = TARGETS[kind]
            ratio = med[(side, kind)] / med[(profile, kind)]
            verdict = "meets" if ratio >= target else "misses"
            label = f"{side}/{profile} {kind}s"
            print(f"{label:<32}{ratio:>7.2f}{'>= ' + format(target, '.2f'):>10}  {verdict}")
    for kind in TARGETS:  # what the server alone leaves of the target
        share = med[("floor", kind)] / med[("nginx-debian", kind)]
        ours = med[("icsbridge", kind)] / med[("floor", kind)]
        print(f"floor/nginx-debian {kind}s {share:>13.2f}   icsbridge/floor {ours:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())

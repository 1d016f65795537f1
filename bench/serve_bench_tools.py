"""Processes for bench/serve_bench.py: installing nginx and wrk, running nginx from a temp
prefix, the icsbridge server child, and one wrk run with its figures checked.

Everything listens on 127.0.0.1 only, and every process started here is stopped by the
context manager that started it.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
_PACKAGES = {"nginx": "nginx", "wrk": "wrk"}  # executable -> Debian package

# wrk reports once, from its main thread, after the run; a `response()` hook would make
# wrk copy every 1 MB body into Lua, so the statuses are checked by other means (see
# WrkResult.problem) and by the pre-check in serve_bench.py.
_WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK-RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.bytes, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def which(name: str) -> str | None:
    """``name`` on PATH or in the sbin folders (nginx lives in /usr/sbin)."""
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + _SBIN)


def ensure_tools() -> dict[str, str]:
    """Paths of nginx and wrk, installing Debian's packages when one is missing."""
    missing = [pkg for exe, pkg in _PACKAGES.items() if which(exe) is None]
    if missing:
        if shutil.which("apt-get") is None:
            raise SystemExit(f"missing {', '.join(missing)} and no apt-get: install them first")
        if os.geteuid() == 0:
            prefix: list[str] = []
        elif shutil.which("sudo"):
            prefix = ["sudo", "-n"]
        else:
            names = " ".join(missing)
            raise SystemExit(f"missing {names}: run as root, or `apt-get install {names}` first")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        print(f"installing {', '.join(missing)} with apt-get ...", file=sys.stderr)
        for cmd in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        ):
            subprocess.run([*prefix, *cmd], check=True, env=env, stdout=subprocess.DEVNULL)
    found = {exe: which(exe) for exe in _PACKAGES}
    absent = [exe for exe, path in found.items() if path is None]
    if absent:
        raise SystemExit(f"still missing after apt-get: {', '.join(absent)}")
    return {exe: path for exe, path in found.items() if path is not None}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live children (nginx's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"not listening on 127.0.0.1:{port} after start-up")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


_NGINX_CONF = """\
daemon off;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ text/calendar ics; }}
    charset utf-8;
    charset_types text/calendar;
    etag on;
    keepalive_timeout 65;
    keepalive_requests 1000000;  # uvicorn keeps a connection for any number of requests
    server_tokens off;
    {tuning}
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
    }}
}}
"""

NGINX_PROFILES = {
    # What Debian's /etc/nginx/nginx.conf sets (its access log aside).
    "nginx-debian": "sendfile on; tcp_nopush on;",
    # The fastest settings found here for one hot 1 MB file on loopback: sendfile was
    # slower than one read into a 1 MB buffer and one write; open_file_cache saves the
    # open() and fstat() of each request, which is most of a 304.
    "nginx-tuned": "sendfile off; output_buffers 1 1m; open_file_cache max=16 inactive=60s;",
}


@contextmanager
def nginx(exe: str, prefix: Path, feed: bytes, *, profile: str) -> Iterator[tuple[int, str, int]]:
    """nginx serving ``feed`` at /bench.ics from ``prefix``; yields (port, path, pid)."""
    # As root, nginx's workers run as nobody: they must be able to read the feed.
    prefix.chmod(0o755)
    www = prefix / "www"
    www.mkdir(mode=0o755)
    (www / "bench.ics").write_bytes(feed)
    (www / "bench.ics").chmod(0o644)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(prefix=prefix, port=port, tuning=NGINX_PROFILES[profile]))
    log = prefix / "error.log"
    cmd = [exe, "-p", str(prefix), "-c", str(conf), "-e", str(log)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        try:
            _wait_listening(port, proc, time.monotonic() + 15)
        except RuntimeError as exc:
            raise SystemExit(f"nginx {exc}\n{_tail(log)}") from None
        yield port, "/bench.ics", proc.pid
    finally:
        _stop(proc)


@dataclass(frozen=True)
class IcsbridgeServer:
    pid: int
    port: int
    path: str
    etag: str
    file: Path
    size: int
    events: int
    loop: str
    http: str


@contextmanager
def icsbridge(
    folder: Path, *, server: str = "uvicorn", timeout: float = 180.0
) -> Iterator[IcsbridgeServer]:
    """The real feed server in a child process (bench/serve_bench_server.py), on uvicorn
    as the daemon runs it, or on ``server="granian"``."""
    log = folder / "server.log"
    cmd = [sys.executable, str(HERE / "serve_bench_server.py"), "--dir", str(folder)]
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [*cmd, "--server", server],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        line = _first_line(proc, time.monotonic() + timeout)
        if line is None:
            raise SystemExit(f"the icsbridge server did not start\n{_tail(log)}")
        info = json.loads(line)
        info["file"] = Path(info["file"])
        yield IcsbridgeServer(pid=proc.pid, **info)
    finally:
        _stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def _first_line(proc: subprocess.Popen[bytes], deadline: float) -> str | None:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline and proc.poll() is None:
            if sel.select(timeout=0.2):
                line = proc.stdout.readline().decode()
                return line if line.strip() else None
    return None


@dataclass(frozen=True)
class WrkResult:
    requests: int
    bytes: int
    seconds: float
    socket_errors: int  # connect + read + write + timeout
    status_errors: int  # wrk counts every status >= 400
    server_cpu: float = 0.0  # CPU seconds the server used during the run

    @property
    def cpu_per_request(self) -> float:
        """The server's CPU time per response, in microseconds."""
        return self.server_cpu / self.requests * 1e6

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def problem(self, body_size: int, connections: int) -> str | None:
        """Why the run does not prove it measured the wanted answer, or None.

        ``body_size``: the feed's size for a run of 200s, 0 for 304s. Each response's
        headers take less than 1 KiB, so bytes per request tell a 200 of the feed from a
        304 (or an error page) without a Lua hook per response. wrk also counts the bytes
        of the responses still arriving when it stops (at most one per connection), so
        those are allowed for too: a short run of 200s would fail without them.
        """
        if self.requests == 0:
            return "no request completed"
        if self.status_errors:
            return f"{self.status_errors} responses with status >= 400"
        per_request = self.bytes / self.requests
        in_flight = connections * (body_size + 1024) / self.requests
        if not body_size <= per_request < body_size + 1024 + in_flight:
            return f"{per_request:.0f} bytes per response, expected {body_size} + headers"
        return None


def wrk(
    exe: str,
    url: str,
    *,
    threads: int,
    connections: int,
    seconds: int,
    headers: dict[str, str],
    folder: Path,
    server_pid: int,
) -> WrkResult:
    script = folder / "report.lua"
    if not script.exists():
        script.write_text(_WRK_LUA)
    cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd += ["-s", str(script), url]
    cpu_before = cpu_seconds(server_pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu = cpu_seconds(server_pid) - cpu_before
    for line in out.stdout.splitlines():
        if line.startswith("WRK-RESULT "):
            n, size, micros, conn, read, write, status, timeouts = map(int, line.split()[1:])
            return WrkResult(n, size, micros / 1e6, conn + read + write + timeouts, status, cpu)
    raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout}{out.stderr}")

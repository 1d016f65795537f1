#!/usr/bin/env bash
# Install the real calendar parsers that tests/realclients holds our .ics output against:
#   - libical through its GObject binding (gir1.2-ical-3.0) for Debian's /usr/bin/python3,
#   - ical.js (npm, pinned by tests/realclients/package-lock.json) via `npm ci`,
# and the CalDAV clients tests/realclients/caldav drives (tests/support/davclients):
#   - Evolution's data server (ECal.Client from /usr/bin/python3, under dbus-run-session
#     with gnome-keyring-daemon); vdirsyncer and Radicale come from PyPI with the venv's
#     test extra (scripts/setup.sh --test);
# and Debian's PostgreSQL server, which tests/support/postgres.py starts as a throwaway
# cluster (no service is started or enabled here; nothing is written to /etc by the tests).
# Debian/Ubuntu only. Idempotent: every step checks first and does nothing when satisfied,
# `apt-get update` runs only when a package must be installed. Runs as root or through sudo.
# Exits non-zero with a one-line reason when something cannot be installed: the test harness
# never skips a real-client check, so a missing parser must be fixed here, not ignored.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$ROOT/tests/realclients"
LOCK_STAMP="$NODE_DIR/node_modules/.icsbridge-lock.sha256"
MIN_NODE_MAJOR=18

step() { printf '[install-test-deps] %s\n' "$*"; }
fail() {
    printf '[install-test-deps] ERROR: %s\n' "$*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        fail "need root to run '$*': run this script as root or install sudo"
    fi
}

deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- Debian packages ----------------------------------------------------------------------
command -v dpkg-query >/dev/null 2>&1 || fail "dpkg-query not found: this script supports Debian/Ubuntu only"

wanted=(python3 python3-gi gir1.2-ical-3.0 postgresql
    evolution-data-server gir1.2-ecal-2.0 gir1.2-edataserver-1.2 gnome-keyring dbus)
# Keep a node that is already on PATH (e.g. NodeSource, which bundles npm and conflicts with
# Debian's npm package); install Debian's only when there is none.
command -v node >/dev/null 2>&1 || wanted+=(nodejs)
command -v npm >/dev/null 2>&1 || wanted+=(npm)

missing=()
for pkg in "${wanted[@]}"; do
    deb_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    step "debian packages: already installed (${wanted[*]})"
else
    step "debian packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq ||
        fail "apt-get update failed: check the network/apt sources, then rerun"
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        fail "apt-get install ${missing[*]} failed: see apt's message above, then rerun"
fi

# --- libical binding, checked with the interpreter the harness uses ------------------------
if ! gi_error="$(/usr/bin/python3 -c '
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib
ICalGLib.Component.new_from_string("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
' 2>&1)"; then
    fail "libical binding unusable from /usr/bin/python3: ${gi_error##*$'\n'}"
fi
step "libical: ICalGLib 3.0 imports in /usr/bin/python3"

# --- Evolution's data server, as tests/support/davclients/eds.py runs it ------------------
if ! gi_error="$(/usr/bin/python3 -c '
import gi
gi.require_version("ECal", "2.0")
gi.require_version("EDataServer", "1.2")
from gi.repository import ECal, EDataServer
' 2>&1)"; then
    fail "EDS binding unusable from /usr/bin/python3: ${gi_error##*$'\n'}"
fi
for program in dbus-run-session gnome-keyring-daemon; do
    command -v "$program" >/dev/null 2>&1 || fail "$program not found after installing dbus and gnome-keyring"
done
step "evolution-data-server: ECal 2.0 imports in /usr/bin/python3, dbus-run-session and gnome-keyring-daemon found"

# --- PostgreSQL: the server binaries the state tests start a cluster with ------------------
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ] ||
    fail "initdb/pg_ctl not found under /usr/lib/postgresql/*/bin after installing postgresql"
id -u postgres >/dev/null 2>&1 || fail "no postgres user after installing postgresql"
step "postgresql: $("$pg_bin/initdb" --version)"

# --- node + ical.js ------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || fail "node not found after installing nodejs"
command -v npm >/dev/null 2>&1 || fail "npm not found after installing npm"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge "$MIN_NODE_MAJOR" ] ||
    fail "node $(node --version) is too old: ical.js needs node >= $MIN_NODE_MAJOR"

[ -f "$NODE_DIR/package-lock.json" ] || fail "missing $NODE_DIR/package-lock.json"
lock_sum="$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)"
if [ -f "$LOCK_STAMP" ] && [ "$(cat "$LOCK_STAMP")" = "$lock_sum" ] &&
    [ -f "$NODE_DIR/node_modules/ical.js/package.json" ]; then
    step "ical.js: node_modules matches package-lock.json (node $(node --version))"
else
    step "ical.js: npm ci in tests/realclients (node $(node --version))"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        fail "npm ci in $NODE_DIR failed: see npm's message above, then rerun"
    printf '%s\n' "$lock_sum" >"$LOCK_STAMP"
fi

ical_version="$(cd "$NODE_DIR" && node -e '
import("ical.js").then(() => {
  const fs = require("fs");
  console.log(JSON.parse(fs.readFileSync("node_modules/ical.js/package.json")).version);
});' 2>&1)" || fail "ical.js does not load in node: ${ical_version##*$'\n'}"
step "ical.js: $ical_version loads in node"

# --- systemd-analyze: tests/daemon/service/test_systemd_units.py checks the units offline ----------
if command -v systemd-analyze >/dev/null 2>&1; then
    step "systemd-analyze: already installed ($(systemd-analyze --version | head -n1))"
else
    step "systemd-analyze: installing Debian's systemd package"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq ||
        fail "apt-get update failed: check the network/apt sources, then rerun"
    as_root apt-get install -y -qq --no-install-recommends systemd >/dev/null ||
        fail "apt-get install systemd failed: see apt's message above, then rerun"
    command -v systemd-analyze >/dev/null 2>&1 ||
        fail "systemd-analyze not found after installing systemd"
fi

step "done"

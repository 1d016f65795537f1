#!/usr/bin/env bash
# Create .venv (if needed) and install icsbridge into it, with the CalDAV extra (xandikos,
# GPL-3.0-or-later; see README "Calendar apps (CalDAV)") and the PostgreSQL one (psycopg).
# Usage: scripts/setup.sh [--test]
# Works on a fresh Debian with Python >= 3.11; installs python3-venv when Debian's python
# lacks it (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi; }

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: $PY is missing or older than 3.11; install Python 3.11+ or set PYTHON=" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c 'import ensurepip' 2>/dev/null; then
    echo "setup: installing python3-venv"
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3-venv >/dev/null
  fi
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
# psycopg (a PostgreSQL state) and CalDAV always; the test tools with --test.
extra="[caldav,postgresql]"
[ "${1:-}" = "--test" ] && extra="[test,caldav,postgresql]"
# Reinstall only when pyproject.toml changed since the last install.
stamp=".venv/.icsbridge-installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing icsbridge$extra into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extra"
  touch "$stamp"
fi
if [ "${1:-}" = "--test" ]; then
  # mypy reads the icsbridge namespace through symlinks (see [tool.mypy] in pyproject.toml).
  mkdir -p .venv/typecheck/icsbridge
  for folder in config converters daemon; do
    ln -sfn "../../../$folder" ".venv/typecheck/icsbridge/$folder"
  done
fi

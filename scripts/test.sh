#!/usr/bin/env bash
# Quick start, part 2: set up everything and run the whole suite, real-client checks
# (ical.js from npm, libical from Debian) included. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/install-test-deps.sh
echo "== ruff";  .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy";  .venv/bin/mypy
echo "== pytest"
.venv/bin/pytest -q -p no:cacheprovider "$@"

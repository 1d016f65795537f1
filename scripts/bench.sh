#!/usr/bin/env bash
# The benchmark suite (issue 8): one table, every figure and its ratio, side by side in one
# run. Sets up .venv like scripts/test.sh, adds the [bench] extra (py-spy, for profiling; granian, measured beside uvicorn),
# and the serving part installs nginx and wrk from Debian when missing. Extra arguments go
# to `python -m bench` (e.g. --rounds 5, --skip rss).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -x .venv/bin/py-spy ] || [ ! -x .venv/bin/granian ]; then
  echo "bench: installing the [bench] extra into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[bench]"
fi
exec .venv/bin/python -m bench "$@"

#!/usr/bin/env bash
# The benchmark suite (issues 8, 17 and 18): one table, every figure and its ratio, side by
# side in one run. Sets up .venv like scripts/test.sh, adds the [bench] extra (py-spy, for
# profiling; granian, measured beside uvicorn), installs Debian's postgresql when missing
# (several daemons and the state's cost start a throwaway cluster of their own, as the
# tests do), and the serving part installs nginx and wrk from Debian when missing. Extra
# arguments go to `python -m bench` (e.g. --rounds 5, --skip rss several).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -x .venv/bin/py-spy ] || [ ! -x .venv/bin/granian ]; then
  echo "bench: installing the [bench] extra into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[bench]"
fi
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "bench: installing Debian's postgresql (its server binaries, for a throwaway cluster)"
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root apt-get install -y -qq postgresql >/dev/null
fi
exec .venv/bin/python -m bench "$@"

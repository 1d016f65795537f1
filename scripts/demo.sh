#!/usr/bin/env bash
# Quick start, part 1: set up and run `icsbridge demo` (offline, built-in simulators).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/icsbridge demo "$@"

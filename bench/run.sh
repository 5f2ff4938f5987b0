#!/usr/bin/env bash
# The benchmark suite at Hanoi scale: builds, loads the demo data set, starts the real server on SQLite and then on
# PostgreSQL, drives it with wrk on this machine and prints one table per backend (see BENCHMARKS.md).
# Usage: bench/run.sh [--members N] [--documents N] [--seconds S] [--backends sqlite,postgres]
# Needs: wrk (apt-get install wrk), python3, psql, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/run.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
exec python3 bench/run.py "$@"

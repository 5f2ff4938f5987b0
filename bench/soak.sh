#!/usr/bin/env bash
# A bounded soak: mixed sync, sign-in, coverage and publish traffic for MINUTES (default 10) on SQLite, counting
# failed answers and sampling RSS. Usage: bench/soak.sh [MINUTES] [MEMBERS]. Needs wrk and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/soak.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
exec python3 bench/soak.py "${1:-10}" "${2:-50000}"

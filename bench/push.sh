#!/usr/bin/env bash
# POST /api/v1/sync/push on the demo data set: 64 connections, each a member's own device, each request a push of 50
# new mutations (bookmarks set and cleared, reading progress, notes, read confirmations; ids unique across the run),
# beside GET /healthz in the same run. Needs wrk, python3 (and psql for postgres).
# Usage: bench/push.sh [MEMBERS] [DOCUMENTS] [SECONDS] [sqlite|postgres]    (defaults 418000 2000 10 sqlite)
# HANDBOOK_BIN=path/to/handbook skips the release build (a quick check with a debug build, say).
# HANDBOOK_BENCH_PG (default postgres://postgres@127.0.0.1:5432) is where the postgres run makes its database.
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-418000}
documents=${2:-2000}
duration=${3:-10}
backend=${4:-sqlite}
command -v wrk >/dev/null || { echo "bench/push.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
if [ -z "${HANDBOOK_BIN:-}" ]; then
    cargo build --release --quiet
    bin=$PWD/target/release/handbook
else
    bin=$HANDBOOK_BIN
fi
work=$(mktemp -d)
port=18384
pg=${HANDBOOK_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
database=""
case "$backend" in
    sqlite) url="sqlite://$work/handbook.db" ;;
    postgres)
        database="handbook_push_bench_$$"
        psql "$pg/postgres" -qc "CREATE DATABASE $database"
        url="$pg/$database" ;;
    *) echo "backend: sqlite or postgres" >&2; exit 2 ;;
esac
cleanup() {
    kill "${server:-}" 2>/dev/null || true
    wait "${server:-}" 2>/dev/null || true
    [ -n "$database" ] && psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
    rm -rf "$work"
}
trap cleanup EXIT

run() { "$bin" --data-dir "$work" --database-url "$url" --log warn "$@"; }
run demo-data --members "$members" --documents "$documents" >/dev/null
echo "bench admin pw" | run admin create --login bench.admin >/dev/null
"$bin" --data-dir "$work" --database-url "$url" --log warn serve --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done

python3 bench/push_setup.py "http://127.0.0.1:$port" "$work" 64

echo "== $backend: GET /healthz, 64 connections (the ceiling of this machine for our stack)"
healthz=$(wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$port/healthz")
echo "$healthz" | grep -E "Requests/sec|50%|99%"
echo "== $backend: POST /api/v1/sync/push, 50 mutations each, 64 connections, $(python3 -c "import json; print(len(json.load(open('$work/devices.json'))))" ) members"
push=$(wrk -t2 -c64 -d"${duration}s" --latency --timeout 30s -s "$work/push.lua" "http://127.0.0.1:$port")
echo "$push" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
python3 - "$healthz" "$push" <<'PY'
import re, sys
rate = lambda out: float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
h, p = rate(sys.argv[1]), rate(sys.argv[2])
if "Non-2xx" in sys.argv[2] or "unfinished" in sys.argv[2]:
    sys.exit("-- push: some pushes failed; the numbers above are not a measurement")
print(f"-- push: {p:.0f} pushes/s = {50 * p:.0f} mutations/s; ratio to /healthz {p / h:.3f} ({h:.0f}/s)")
PY
python3 bench/push_setup.py "http://127.0.0.1:$port" "$work" check
kill -0 "$server" || { echo "the server died:" >&2; tail -5 "$work/server.log" >&2; exit 1; }
echo "-- server RSS: $(ps -o rss= -p "$server" | awk '{printf "%.0f MB", $1/1024}')"

#!/usr/bin/env bash
# Live sync (issue 19) on one backend: (a) "nothing new" polls (304) beside /healthz, 64 connections over 64
# members; (b) HELD polls (wait=60) on one instance: RSS, and the time until the last is answered after one publish
# to all; (c) on PostgreSQL, a second instance on the same database: the polls held on B, the publish on A.
# Needs wrk, python3, curl (and psql for PostgreSQL).
# Usage: bench/live.sh [MEMBERS] [DOCUMENTS] [SECONDS] [HELD]    (defaults 100000 500 8 10000)
# BACKEND=sqlite|postgres (default sqlite); PG=postgres://postgres@127.0.0.1:5432 (the server, no database);
# HANDBOOK_BIN=path/to/handbook: that binary (to compare builds), else the release build;
# ONLY_304=1: scenario (a) only (a build without live sync).
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-100000}
documents=${2:-500}
duration=${3:-8}
count=${4:-10000}
backend=${BACKEND:-sqlite}
if [ -n "${HANDBOOK_BIN:-}" ]; then
  bin=$HANDBOOK_BIN
else
  cargo build --release --quiet
  bin=$PWD/target/release/handbook
fi
work=$(mktemp -d)
port=18391
port_b=18392
database=""
args=(--data-dir "$work" --log warn)
if [ "$backend" = postgres ]; then
  pg=${PG:-postgres://postgres@127.0.0.1:5432}
  database=hb_live_bench_$$
  psql "$pg/postgres" -qc "CREATE DATABASE $database"
  args+=(--database-url "$pg/$database")
fi
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$database" ]; then psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

"$bin" "${args[@]}" demo-data --members "$members" --documents "$documents" >/dev/null
echo "bench admin pw" | "$bin" "${args[@]}" admin create --login bench.admin >/dev/null
if [ -n "$database" ]; then psql "$pg/$database" -qc "VACUUM ANALYZE"; fi
"$bin" "${args[@]}" serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
servers+=($!)
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
python3 bench/sync_setup.py "http://127.0.0.1:$port" "$work" 64 >/dev/null

echo "## $backend, $members members, $documents documents, $(basename "$bin")"
echo "== (a) GET /healthz, 64 connections (load $(load))"
wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|50%|99%"
echo "== (a) GET /api/v1/sync, If-None-Match, nothing new (304), 64 connections, 64 members (load $(load))"
wrk -t2 -c64 -d"${duration}s" --latency -s "$work/poll.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx"
[ -n "${ONLY_304:-}" ] && exit 0

echo "== (b) $count held polls on one instance (load $(load))"
python3 bench/live_polls.py "$work" "$port" "$port" "$count" "$server"
if [ "$backend" = postgres ]; then
  "$bin" "${args[@]}" serve --bind "127.0.0.1:$port_b" >/dev/null 2>&1 &
  servers+=($!)
  second=$!
  until curl -sf "http://127.0.0.1:$port_b/healthz" >/dev/null; do sleep 0.2; done
  # The devices synced before (b)'s publish: bring them up to date first.
  python3 - "$work" "$port" <<'PY'
import json, sys, urllib.request
work, port = sys.argv[1], sys.argv[2]
stored = json.load(open(f"{work}/devices.json"))
for device in stored["devices"]:
    token, installation, cursor, etag = device
    while True:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/sync?limit=1000&cursor={cursor}")
        request.add_header("Authorization", "Bearer " + token)
        request.add_header("X-Installation-Id", installation)
        with urllib.request.urlopen(request) as answer:
            page, etag = json.loads(answer.read()), answer.headers["ETag"]
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    device[2], device[3] = cursor, etag
json.dump(stored, open(f"{work}/devices.json", "w"))
PY
  echo "== (c) polls held on instance B, the publish on instance A (load $(load))"
  python3 bench/live_polls.py "$work" "$port_b" "$port" "$count" "$second"
fi

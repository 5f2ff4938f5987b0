#!/usr/bin/env bash
# The sync feed on the demo data set (SQLite): the 304 path with 64 connections across 64 distinct members,
# and from-scratch syncs of the whole handbook by one device and by 64 at once. Needs wrk and python3.
# Usage: bench/sync.sh [MEMBERS] [DOCUMENTS] [SECONDS]    (defaults 418000 2000 10)
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-418000}
documents=${2:-2000}
duration=${3:-10}
# HANDBOOK_BIN=path/to/handbook: that binary (to compare two builds in one session); else the release build.
if [ -n "${HANDBOOK_BIN:-}" ]; then
  bin=$HANDBOOK_BIN
else
  cargo build --release --quiet
  bin=$PWD/target/release/handbook
fi
work=$(mktemp -d)
port=18383
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" --data-dir "$work" --log warn demo-data --members "$members" --documents "$documents" >/dev/null
echo "bench admin pw" | "$bin" --data-dir "$work" --log warn admin create --login bench.admin >/dev/null
"$bin" --data-dir "$work" --log warn serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done

python3 bench/sync_setup.py "http://127.0.0.1:$port" "$work" 64

echo "== GET /healthz, 64 connections (the ceiling of this machine for our stack)"
wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|50%|99%"
echo "== GET /api/v1/sync with If-None-Match, nothing new (304), 64 connections, 64 members"
wrk -t2 -c64 -d"${duration}s" --latency -s "$work/poll.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "-- server RSS: $(ps -o rss= -p $server | awk '{printf "%.0f MB", $1/1024}')"

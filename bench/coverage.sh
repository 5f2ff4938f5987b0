#!/usr/bin/env bash
# GET /api/v1/coverage (admin, 48 committees) and /api/v1/coverage/{code} (officer) on the 418,000-member demo data,
# on SQLite and on PostgreSQL, beside the naive GROUP BY over members and installations that the counters replace.
# Needs wrk, python3 and psql. Usage: bench/coverage.sh [MEMBERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-418000}
duration=${2:-5}
pg=${HANDBOOK_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
cargo build --release --quiet
bin=$PWD/target/release/handbook
work=$(mktemp -d)
port=18484
db="handbook_bench_cov_$$"
server=
trap 'kill $server 2>/dev/null || true; psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; rm -rf "$work"' EXIT

naive="SELECT m.committee_code, m.unit, m.cell,
  SUM(CASE WHEN m.status = 'eligible' THEN 1 ELSE 0 END),
  SUM(CASE WHEN m.status = 'eligible' AND m.activated_at IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN m.status = 'eligible' AND EXISTS (SELECT 1 FROM installations i WHERE i.member_id = m.id AND i.deleted_at IS NULL) THEN 1 ELSE 0 END)
  FROM members m GROUP BY m.committee_code, m.unit, m.cell"

run() { # backend database-url
  local url=$2
  "$bin" --database-url "$url" --data-dir "$work/$1" --log warn demo-data --members "$members" --documents 20 >/dev/null
  echo "bench admin pw" | "$bin" --database-url "$url" --data-dir "$work/$1" --log warn admin create --login bench.admin >/dev/null
  echo "bench officer pw" | "$bin" --database-url "$url" --data-dir "$work/$1" --log warn admin create --login bench.officer --role officer --committee HK >/dev/null
  "$bin" --database-url "$url" --data-dir "$work/$1" --log warn serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
  server=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
  token() { curl -s "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$2\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
  local admin officer
  admin=$(token bench.admin "bench admin pw")
  officer=$(token bench.officer "bench officer pw")
  echo "== $1: GET /api/v1/coverage as admin (48 committees), 16 connections"
  wrk -t2 -c16 -d"${duration}s" --latency -H "Authorization: Bearer $admin" "http://127.0.0.1:$port/api/v1/coverage" | grep -E "Requests/sec|50%|99%"
  echo "== $1: GET /api/v1/coverage/HK as officer (units and cells), 16 connections"
  wrk -t2 -c16 -d"${duration}s" --latency -H "Authorization: Bearer $officer" "http://127.0.0.1:$port/api/v1/coverage/HK" | grep -E "Requests/sec|50%|99%"
  kill $server; wait $server 2>/dev/null || true
  echo "== $1: the naive GROUP BY over members and installations (median of 5)"
  if [ "$1" = sqlite ]; then
    python3 - "$work/sqlite.db" "$naive" <<'PY'
import sqlite3, statistics, sys, time
db = sqlite3.connect(sys.argv[1])
times = []
for _ in range(5):
    started = time.perf_counter(); db.execute(sys.argv[2]).fetchall(); times.append(time.perf_counter() - started)
print(f"   {statistics.median(times) * 1000:.1f} ms")
PY
  else
    for _ in 1 2 3 4 5; do psql "$url" -qAt -c '\timing on' -c "$naive" | grep -E '^Time' ; done | sed -E 's/Time: ([0-9.]+) ms.*/\1/' | sort -n | sed -n 3p | sed 's/^/   /; s/$/ ms/'
  fi
}

run sqlite "sqlite://$work/sqlite.db"
psql "$pg/postgres" -qc "CREATE DATABASE $db"
run postgres "$pg/$db"

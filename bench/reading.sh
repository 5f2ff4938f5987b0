#!/usr/bin/env bash
# The read-coverage report of one required document (the whole city's audience) on the demo data set with half of its
# eligible members having read it: GET /api/v1/reading/{id} (admin: 48 committees) and GET /api/v1/reading/{id}/HK
# (units and cells), beside GET /healthz in the same run and the naive GROUP BY over members and reads that the
# counters replace. The reads are loaded before the publish that makes the document required, so the publish's own
# recount (one grouped query in its transaction) is timed too. Needs wrk, python3, sqlite3 (and psql for postgres).
# Usage: bench/reading.sh [MEMBERS] [SECONDS] [sqlite|postgres]    (defaults 418000 10 sqlite)
# HANDBOOK_BIN=path/to/handbook skips the release build (a quick check with a debug build, say).
# HANDBOOK_BENCH_PG (default postgres://postgres@127.0.0.1:5432) is where the postgres run makes its database.
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-418000}
duration=${2:-10}
backend=${3:-sqlite}
command -v wrk >/dev/null || { echo "bench/reading.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
if [ -z "${HANDBOOK_BIN:-}" ]; then
    cargo build --release --quiet
    bin=$PWD/target/release/handbook
else
    bin=$HANDBOOK_BIN
fi
work=$(mktemp -d)
port=18394
pg=${HANDBOOK_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
database=""
case "$backend" in
    sqlite) url="sqlite://$work/handbook.db"; sql() { sqlite3 "$work/handbook.db" "$@"; } ;;
    postgres)
        database="handbook_reading_bench_$$"
        psql "$pg/postgres" -qc "CREATE DATABASE $database"
        url="$pg/$database"; sql() { psql "$url" -qAt -c "$@"; } ;;
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
run demo-data --members "$members" --documents 20 >/dev/null
echo "bench admin pw" | run admin create --login bench.admin >/dev/null
"$bin" --data-dir "$work" --database-url "$url" --log warn serve --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
base="http://127.0.0.1:$port"
token=$(curl -s "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"login":"bench.admin","password":"bench admin pw"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
auth="Authorization: Bearer $token"
doc=$(curl -s "$base/api/v1/admin/documents" -H "$auth" -H 'content-type: application/json' \
    -d '{"title":"Nghị quyết (bench)","kind":"nghi_quyet","body":"x","audience":{"all":true},"required":{"due_at":"2099-01-01T00:00:00Z"}}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Half of the members (every other one) have read revision 1.
sql "INSERT INTO member_reads (member_id, document_id, revision, read_at) SELECT id, '$doc', 1, CURRENT_TIMESTAMP FROM members WHERE id % 2 = 0" >/dev/null
started=$(date +%s%N)
curl -sf -X POST "$base/api/v1/admin/documents/$doc/publish" -H "$auth" -H 'content-type: application/json' -d '{}' >/dev/null
echo "-- $backend: the publish that made it required (recount of $(sql "SELECT COUNT(*) FROM member_reads") reads): $(( ($(date +%s%N) - started) / 1000000 )) ms"
curl -sf "$base/api/v1/reading/$doc" -H "$auth" | python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print("-- totals: eligible %(eligible)s, read %(read)s, coverage %(coverage)s" % t)'

echo "== $backend: GET /healthz, 16 connections"
healthz=$(wrk -t2 -c16 -d"${duration}s" --latency "$base/healthz")
echo "$healthz" | grep -E "Requests/sec|50%|99%"
echo "== $backend: GET /api/v1/reading/{id} as admin (48 committees), 16 connections"
city=$(wrk -t2 -c16 -d"${duration}s" --latency -H "$auth" "$base/api/v1/reading/$doc")
echo "$city" | grep -E "Requests/sec|50%|99%|Non-2xx" || true
# Latency without queueing: one connection (under 16, p50 is mostly the wait for a core: 16 / throughput).
echo "== $backend: GET /api/v1/reading/{id} as admin (48 committees), 1 connection"
single=$(wrk -t1 -c1 -d"${duration}s" --latency -H "$auth" "$base/api/v1/reading/$doc")
echo "$single" | grep -E "Requests/sec|50%|99%|Non-2xx" || true
echo "== $backend: GET /api/v1/reading/{id}/HK as admin (units and cells), 1 connection"
wrk -t1 -c1 -d"${duration}s" --latency -H "$auth" "$base/api/v1/reading/$doc/HK" | grep -E "Requests/sec|50%|99%|Non-2xx" || true
echo "== $backend: GET /api/v1/reading/{id}/HK as admin (units and cells), 16 connections"
committee=$(wrk -t2 -c16 -d"${duration}s" --latency -H "$auth" "$base/api/v1/reading/$doc/HK")
echo "$committee" | grep -E "Requests/sec|50%|99%|Non-2xx" || true
kill "$server"; wait "$server" 2>/dev/null || true

naive="SELECT m.committee_code, SUM(CASE WHEN m.status = 'eligible' THEN 1 ELSE 0 END),
  SUM(CASE WHEN m.status = 'eligible' AND r.member_id IS NOT NULL THEN 1 ELSE 0 END)
  FROM members m LEFT JOIN member_reads r ON r.member_id = m.id AND r.document_id = '$doc' AND r.revision >= 1
  GROUP BY m.committee_code"
echo "== $backend: the naive GROUP BY over members and reads (median of 5)"
naive_us=$(for _ in 1 2 3 4 5; do
    started=$(date +%s%N); sql "$naive" >/dev/null; echo $(( ($(date +%s%N) - started) / 1000 ))
done | sort -n | sed -n 3p)
echo "   $naive_us µs (with the client start-up)"
python3 - "$healthz" "$city" "$committee" "$single" "$naive_us" <<'PY'
import re, sys
rate = lambda out: float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p50 = lambda out: re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
h = rate(sys.argv[1])
for name, out in (("per committee", sys.argv[2]), ("one committee", sys.argv[3])):
    print(f"-- {name}: {rate(out):.0f}/s, p50 {p50(out)}; ratio to /healthz {rate(out) / h:.3f} ({h:.0f}/s)")
single, naive = ms(p50(sys.argv[4])), float(sys.argv[5]) / 1000
print(f"-- per committee, one connection: p50 {single:.2f} ms; the naive GROUP BY {naive:.1f} ms = {naive / single:.0f}x")
PY

#!/usr/bin/env bash
# Server time of every console list page on the full demo data set (418,000 members, 100,000 audit entries): the
# release binary serves a data folder loaded by `demo-data`; curl signs in with the console's form as the admin and
# as the officer of HK (cookies kept in a jar) and GETs each page N times over one kept-alive connection, after a few
# warm-up requests. Server time is curl's time to the first byte of the answer on the kept-alive connection
# (time_starttransfer): sending a request over loopback takes microseconds. /healthz is measured the same way in the
# same run, as the baseline. A page another branch has not written yet answers 404: it is listed
# with its status and no figures.
# Needs curl and python3 (psql for --backend postgres).
# Usage: bench/console_pages.sh [--members N] [--audit N] [--requests N] [--backend sqlite|postgres] [--data DIR]
#   --data DIR  load into DIR once (SQLite) and reuse it on later runs; the printed passwords are kept in DIR.passwords
set -euo pipefail
cd "$(dirname "$0")/.."
members=418000
audit=100000
requests=200
backend=sqlite
data=
while [ $# -gt 0 ]; do
  case $1 in
    --members) members=$2; shift 2 ;;
    --audit) audit=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
pg=${HANDBOOK_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
pages=(/dashboard /dashboard/committees/HK /dashboard/documents /dashboard/members "/dashboard/members?q=nguyen"
  /dashboard/audit /dashboard/staff /dashboard/committees/HK/slips)
warmup=5

# HANDBOOK_BENCH_BIN: another binary (a debug build, to try the script out; its figures mean nothing).
bin=${HANDBOOK_BENCH_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=$PWD/target/release/handbook
fi
work=$(mktemp -d)
db="handbook_bench_console_$$"
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ "$backend" = postgres ]; then
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# The binary reads its settings from the environment too: only the flags below count.
unset DATABASE_URL
for variable in $(compgen -e | grep '^HANDBOOK_' | grep -v '^HANDBOOK_BENCH_'); do unset "$variable"; done

if [ "$backend" = postgres ]; then
  [ -z "$data" ] || { echo "--data is for SQLite" >&2; exit 2; }
  psql "$pg/postgres" -qc "CREATE DATABASE $db"
  url="$pg/$db"
else
  url=
fi
data=${data:-$work/data}
passwords="${data%/}.passwords"
args=(--data-dir "$data" --log warn)
[ -n "$url" ] && args=(--database-url "$url" "${args[@]}")

if [ -s "$passwords" ] && [ -z "$url" ] && [ -e "$data/handbook.db" ]; then
  echo "== reusing $data ($(head -1 "$passwords"))"
else
  echo "== loading the demo data set: $members members, $audit audit entries ($backend)"
  started=$(date +%s)
  "$bin" "${args[@]}" demo-data --members "$members" --audit "$audit" > "$work/loaded.txt"
  echo "   loaded in $(( $(date +%s) - started )) s"
  { echo "$members members, $audit audit entries"; cat "$work/loaded.txt"; } > "$passwords"
  chmod 600 "$passwords"
  if [ -n "$url" ]; then
    # This machine's PostgreSQL runs without autovacuum: analyse as it would have by now.
    psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  fi
fi
admin_password=$(sed -n 's/^ *password: *//p' "$passwords" | head -1)
staff_password=$(sed -n 's/^ *demo staff password: *//p' "$passwords" | head -1)
[ -n "$admin_password" ] || { echo "no admin password in $passwords (was the database new?)" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin" "${args[@]}" serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
until curl -sf "$base/healthz" >/dev/null; do sleep 0.2; done

sign_in() { # jar login password
  local status
  status=$(curl -s -o /dev/null -c "$1" -w '%{http_code}' --data-urlencode "login=$2" --data-urlencode "password=$3" \
    "$base/dashboard/login")
  [ "$status" = 303 ] || { echo "signing in as $2 answered $status" >&2; exit 1; }
}
sign_in "$work/admin.jar" admin "$admin_password"
sign_in "$work/officer.jar" canbo.hk "$staff_password"

# measure NAME JAR PATH: one line "name path status p50 p99" (milliseconds of server time).
measure() {
  local urls=() cookies=() n
  for ((n = 0; n < warmup + requests; n++)); do urls+=(-o /dev/null "$base$3"); done
  if [ -n "$2" ]; then cookies=(-b "$2" -c "$2"); fi
  curl -s "${cookies[@]}" -w '%{http_code} %{time_starttransfer}\n' "${urls[@]}" |
    python3 -c '
import statistics, sys
name, path, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [line.split() for line in sys.stdin][warmup:]
statuses = sorted({r[0] for r in rows})
times = sorted(float(r[1]) * 1000 for r in rows)
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(name, path, "/".join(statuses), f"{statistics.median(times):.2f}", f"{p(0.99):.2f}")
' "$1" "$3" "$warmup"
}

{
  measure - "" /healthz
  for page in "${pages[@]}"; do measure admin "$work/admin.jar" "$page"; done
  for page in "${pages[@]}"; do measure officer "$work/officer.jar" "$page"; done
} > "$work/results.txt"

echo "== $backend, $members members, $audit audit entries: server time over $requests requests per page ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$work/results.txt" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
base = float(rows[0][3])
print("| page | as | status | p50 ms | p99 ms | p50 / /healthz p50 | p50 ≤ 20 ms |")
print("|---|---|---|---|---|---|---|")
for name, path, status, p50, p99 in rows:
    ok = status == "200"
    page = name != "-"
    ratio = f"{float(p50) / base:.1f}×" if ok and page and base > 0 else ""
    target = ("yes" if float(p50) <= 20 else "NO") if ok and page else ""
    print(f"| {path} | {name if page else ''} | {status} | {p50 if ok else ''} | {p99 if ok else ''} | {ratio} | {target} |")
PY

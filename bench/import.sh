#!/usr/bin/env bash
# Member import at Hanoi scale through `handbook import-members`, on SQLite and on PostgreSQL.
# Usage: bench/import.sh [ELIGIBLE_MEMBERS]   (default 418000; about 5% exempt members come on top)
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-418000}
pg=${HANDBOOK_BENCH_PG:-postgres://postgres@127.0.0.1:5432}

cargo build --release --quiet
bin=$PWD/target/release/handbook
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" demo-data --members "$members" --csv "$work/members.csv" >/dev/null
rows=$(($(wc -l < "$work/members.csv") - 1))
seconds() { sed -E 's/.* in ([0-9.]+) s$/\1/'; }

run() { # backend url
  local url=$2
  "$bin" --database-url "$url" --log warn committees import "$work/members.committees.csv" >/dev/null
  local first again
  first=$("$bin" --database-url "$url" --log warn import-members "$work/members.csv" | seconds)
  again=$("$bin" --database-url "$url" --log warn import-members "$work/members.csv" | seconds)
  printf '| %-10s | %9d | %14s | %12.0f | %22s |\n' "$1" "$rows" "$first" "$(echo "$rows / $first" | bc -l)" "$again"
}

echo "member import, $rows rows ($members eligible), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "| backend    |      rows | first import s |       rows/s | re-import (unchanged) s |"
echo "|------------|-----------|----------------|--------------|-------------------------|"
run sqlite "sqlite://$work/handbook.db"
db="handbook_bench_$$"
psql "$pg/postgres" -qc "CREATE DATABASE $db"
run postgres "$pg/$db"
psql "$pg/postgres" -qc "DROP DATABASE $db WITH (FORCE)"

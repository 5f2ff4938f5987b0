#!/usr/bin/env bash
# Attachment downloads from the data folder and from object storage (moto's S3 server on loopback, a bucket of its
# own), beside /healthz in the same run: one 10 MB PDF uploaded to each of two servers (SQLite, one with
# HANDBOOK_ATTACHMENT_STORE=file, one with s3://BUCKET/attachments), then downloads of it whole and of its first
# 64 KiB (a viewer's first page), each with wrk for SECONDS. Prints the load average before and after: the machine
# may be shared, so read the ratios.
# Needs wrk, curl, python3 and moto[server] (tests/run.sh installs it).
# Usage: bench/attachments.sh [SECONDS] [CONNECTIONS]    (defaults 10 8)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-8}
# HANDBOOK_BIN=path/to/handbook: that binary; else the release build.
if [ -n "${HANDBOOK_BIN:-}" ]; then
  bin=$HANDBOOK_BIN
else
  cargo build --release --quiet
  bin=$PWD/target/release/handbook
fi
work=$(mktemp -d)
moto_port=18390
file_port=18391
s3_port=18392
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT

if command -v moto_server >/dev/null 2>&1; then
  moto_server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
else
  python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
fi
pids+=($!)
until curl -s -o /dev/null "http://127.0.0.1:$moto_port/"; do sleep 0.2; done
bucket=hb-bench-$$
curl -sf -X PUT "http://127.0.0.1:$moto_port/$bucket" >/dev/null
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench

# A 10 MB PDF: a header, then random bytes.
{ printf '%%PDF-1.4\n'; head -c 10000000 /dev/urandom; } > "$work/big.pdf"
sha=$(sha256sum "$work/big.pdf" | cut -c1-64)

# start NAME PORT STORE: a server on its own data folder, its admin signed in; prints the access token.
start() {
  local name=$1 port=$2 store=$3
  echo "bench admin pw" | "$bin" --data-dir "$work/$name" --log warn admin create --login bench.admin >/dev/null
  HANDBOOK_ATTACHMENT_STORE=$store "$bin" --data-dir "$work/$name" --log warn serve --bind "127.0.0.1:$port" \
    >/dev/null 2>&1 &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
}
token() {
  curl -sf -H 'Content-Type: application/json' -d '{"login":"bench.admin","password":"bench admin pw"}' \
    "http://127.0.0.1:$1/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
start file "$file_port" file
start s3 "$s3_port" "s3://$bucket/attachments"
file_token=$(token "$file_port")
s3_token=$(token "$s3_port")
for pair in "$file_port:$file_token" "$s3_port:$s3_token"; do
  port=${pair%%:*}
  token=${pair#*:}
  curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/pdf' --data-binary @"$work/big.pdf" \
    "http://127.0.0.1:$port/api/v1/admin/attachments?name=big.pdf" >/dev/null
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/attachments/$sha" | cmp - "$work/big.pdf"
done

echo "-- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== GET /healthz, 64 connections (the ceiling of this machine for our stack)"
wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$file_port/healthz" | grep -E "Requests/sec|50%|99%"
for store in file s3; do
  if [ "$store" = file ]; then port=$file_port token=$file_token; else port=$s3_port token=$s3_token; fi
  echo "== $store: GET the 10 MB PDF whole, $connections connections"
  wrk -t2 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/v1/attachments/$sha" | grep -E "Requests/sec|Transfer/sec|50%|99%|Non-2xx"
  echo "== $store: GET its first 64 KiB (Range), $connections connections"
  wrk -t2 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $token" -H "Range: bytes=0-65535" \
    "http://127.0.0.1:$port/api/v1/attachments/$sha" | grep -E "Requests/sec|Transfer/sec|50%|99%|Non-2xx"
done
echo "-- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for port in $file_port $s3_port; do
  pid=$(ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  echo "-- server on :$port RSS: $(ps -o rss= -p "$pid" | awk '{printf "%.0f MB", $1/1024}')"
done

#!/usr/bin/env bash
# Sign-ins per second at the argon2id parameters in force, and /healthz latency alone and during a storm of
# 200 concurrent sign-ins. Needs wrk (apt-get install wrk). Usage: bench/logins.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}
cargo build --release --quiet
bin=$PWD/target/release/handbook
work=$(mktemp -d)
port=18181
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT

# Many accounts: one account has at most one password verification in flight (the others get 429), and 200
# connections of one wrk thread cycling through 256 accounts never name the same one twice at once.
for n in $(seq 0 255); do
  echo "a bench password" | "$bin" --data-dir "$work" --log warn admin create --login "bench.storm$n" >/dev/null
done
"$bin" --data-dir "$work" --log warn --trusted-proxies 127.0.0.1 serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done

cat > "$work/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local n = counter % 256
  local body = string.format('{"login":"bench.storm%d","password":"a bench password"}', n)
  -- 200 members on 256 networks: no address holds more attempts in flight than its 50 free ones.
  return wrk.format(nil, nil, {["Content-Type"] = "application/json", ["X-Forwarded-For"] = string.format("10.77.0.%d", n)}, body)
end
LUA

echo "== /healthz alone (8 connections)"
wrk -t1 -c8 -d"${duration}s" --latency "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|50%|99%"
echo "== 200 concurrent sign-ins, with /healthz (8 connections) measured at the same time"
wrk -t1 -c200 -d"${duration}s" --timeout 30s -s "$work/login.lua" "http://127.0.0.1:$port/api/v1/auth/login" > "$work/logins.txt" &
storm=$!
sleep 1
wrk -t1 -c8 -d"$((duration - 2))s" --latency "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|50%|99%"
wait $storm
echo "-- sign-ins:"
grep -E "Requests/sec|Latency|Non-2xx" "$work/logins.txt"
echo "-- server RSS: $(ps -o rss= -p $server | awk '{printf "%.0f MB", $1/1024}')"

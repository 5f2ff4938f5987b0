"""Signs in 64 members, registers their devices, syncs each from scratch (timing one alone and all at once),
and writes a wrk script that polls with If-None-Match as those members."""
import concurrent.futures
import csv
import gzip
import io
import json
import sys
import time
import urllib.request
import uuid

base, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])


def call(method, path, body=None, token=None, headers=None, raw=False):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request) as answer:
            payload = answer.read()
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, payload if raw else (json.loads(payload) if payload else None)
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


status, _, tokens = call("POST", "/api/v1/auth/login", {"login": "bench.admin", "password": "bench admin pw"})
admin = tokens["access_token"]
status, _, slips = call("POST", "/api/v1/admin/committees/HK/activation-codes", {}, admin, raw=True)
rows = list(csv.DictReader(io.StringIO(slips.decode())))[:count]


def sign_in(row):
    status, _, tokens = call("POST", "/api/v1/auth/activate", {
        "card_number": row["card_number"], "activation_code": row["activation_code"], "new_password": "bench member pw"})
    assert status == 200, (status, tokens)
    installation = str(uuid.uuid4())
    status, _, _ = call("POST", "/api/v1/installations",
                        {"installation_id": installation, "platform": "android", "app_version": "1.0"}, tokens["access_token"])
    assert status == 201
    return tokens["access_token"], installation


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    devices = list(pool.map(sign_in, rows))


def from_scratch(device):
    token, installation = device
    cursor, etag, sent, documents = None, None, 0, 0
    while True:
        path = "/api/v1/sync?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, headers, body = call("GET", path, token=token, raw=True,
                                     headers={"X-Installation-Id": installation, "Accept-Encoding": "gzip"})
        assert status == 200, status
        sent += len(body)
        page = json.loads(gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body)
        documents += len(page["changes"])
        cursor, etag = page["cursor"], headers["etag"]
        if not page["has_more"]:
            return token, installation, cursor, etag, sent, documents


started = time.time()
one = from_scratch(devices[0])
alone = time.time() - started
started = time.time()
with concurrent.futures.ThreadPoolExecutor(64) as pool:
    synced = list(pool.map(from_scratch, devices))
together = time.time() - started
print(f"== from-scratch sync of the handbook: {one[5]} documents, {one[4] / 1e6:.2f} MB sent gzipped")
print(f"   one device: {alone:.2f} s;  64 devices at once: {together:.2f} s ({64 * one[4] / together / 1e6:.1f} MB/s)")

with open(f"{work}/devices.json", "w") as stored:  # for bench/live_polls.py
    json.dump({"admin": admin, "devices": [[t, i, c, e] for t, i, c, e, _, _ in synced]}, stored)

with open(f"{work}/poll.lua", "w") as script:
    script.write("devices = {\n")
    for token, installation, cursor, etag, _, _ in synced:
        script.write(f'  {{"{token}", "{installation}", "{cursor}", {json.dumps(etag)}}},\n')
    script.write("}\ncounter = 0\n")
    script.write("""request = function()
  counter = counter + 1
  local d = devices[(counter % #devices) + 1]
  return wrk.format("GET", "/api/v1/sync?cursor=" .. d[3], {["Authorization"] = "Bearer " .. d[1],
    ["X-Installation-Id"] = d[2], ["If-None-Match"] = d[4]})
end
""")

token = devices[0][0]
for query in ["nghi%20quyet", "sinh%20hoat%20chi%20bo", "khong%20co%20dau%20nay"]:
    started = time.time()
    for _ in range(20):
        status, _, found = call("GET", f"/api/v1/documents?q={query}&limit=20", token=token)
        assert status == 200
    print(f"== search ?q={query}: {(time.time() - started) / 20 * 1000:.1f} ms per query (first page of 20)")

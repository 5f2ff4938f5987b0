"""bench/push.sh's helper. `push_setup.py BASE WORK N`: signs in N members, registers a device for each, checks that
a push of 50 is applied whole, and writes WORK/push.lua (pushes of 50 new mutations each, ids unique across the run)
and WORK/devices.json. `push_setup.py BASE WORK check`: after the load, sends the first push of each wrk thread again
from another device: all 50 mutations of each must answer `duplicate`."""
import concurrent.futures
import json
import sys
import urllib.request
import uuid

base, work, count = sys.argv[1], sys.argv[2], sys.argv[3]


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
            return answer.status, payload if raw else (json.loads(payload) if payload else None)
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def batch(document, ids):
    """The benchmark's mix of 50 mutations on one document: 10 bookmark set/clear pairs' halves, 15 progress, 10
    notes (new each time), 5 read confirmations; `ids` gives 50 mutation ids and 10 note ids."""
    mutations = []
    for n in range(50):
        kind = n % 10
        if kind in (0, 1):
            mutations.append({"type": "bookmark.set" if n % 20 < 10 else "bookmark.clear", "document_id": document})
        elif kind in (2, 3, 4):
            mutations.append({"type": "progress.set", "document_id": document, "position": (n % 7) / 7})
        elif kind in (5, 6):
            mutations.append({"type": "note.set", "note_id": next(ids), "document_id": document, "anchor": f"p:{n}",
                              "text": "Ghi chú học tập nghị quyết, phần " + str(n) + ": " + "nội dung cần nhớ " * 10})
        else:
            mutations.append({"type": "read.mark", "document_id": document, "revision": 1})
    for mutation in mutations:
        mutation["id"] = next(ids)
    return mutations


def push(token, installation, mutations):
    status, answer = call("POST", "/api/v1/sync/push", {"mutations": mutations}, token,
                          {"X-Installation-Id": installation})
    assert status == 200, (status, answer)
    return [result["status"] for result in answer["results"]]


if count == "check":
    with open(f"{work}/devices.json") as file:
        devices = json.load(file)
    token, _, document = devices[0]
    other = str(uuid.uuid4())
    status, _ = call("POST", "/api/v1/installations", {"installation_id": other, "platform": "ios", "app_version": "1.0"}, token)
    assert status == 201, status
    with open(f"{work}/samples.jsonl") as file:
        samples = [json.loads(line) for line in file if line.strip()]
    assert samples, "the run wrote its first pushes"
    for sample in samples:
        statuses = push(token, other, sample["mutations"])
        assert statuses == ["duplicate"] * 50, statuses
    print(f"-- check: a push answered to each of {len(samples)} wrk threads, sent again from another device: 50 duplicates each")
    sys.exit(0)

count = int(count)
status, tokens = call("POST", "/api/v1/auth/login", {"login": "bench.admin", "password": "bench admin pw"})
admin = tokens["access_token"]
# Any eligible members (the demo data has activated many already): a code each resets their password.
status, listed = call("GET", f"/api/v1/admin/members?status=eligible&limit={count}", token=admin)
assert status == 200, (status, listed)


def issue(member):
    status, code = call("POST", f"/api/v1/admin/members/{member['card_number']}/activation-code", {}, admin)
    assert status == 201, (status, code)
    return code


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    rows = list(pool.map(issue, listed["items"]))


def sign_in(row):
    status, tokens = call("POST", "/api/v1/auth/activate", {
        "card_number": row["card_number"], "activation_code": row["activation_code"], "new_password": "bench member pw"})
    assert status == 200, (status, tokens)
    token = tokens["access_token"]
    installation = str(uuid.uuid4())
    status, _ = call("POST", "/api/v1/installations",
                     {"installation_id": installation, "platform": "android", "app_version": "1.0"}, token)
    assert status == 201
    status, documents = call("GET", "/api/v1/documents?limit=1", token=token)
    assert status == 200 and documents["items"], "the member sees no document"
    return token, installation, documents["items"][0]["id"]


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    devices = list(pool.map(sign_in, rows))
with open(f"{work}/devices.json", "w") as file:
    json.dump(devices, file)

token, installation, document = devices[0]
ids = iter(str(uuid.uuid4()) for _ in range(60))
assert push(token, installation, batch(document, ids)) == ["applied"] * 50, "a warm-up push is applied whole"

# ids: <run prefix>-<device>-4<wrk thread>-8<slot in the push>-<the device's push counter in that thread>.
prefix = uuid.uuid4().hex[:8]
with open(f"{work}/push.lua", "w") as script:
    script.write("devices = {\n")
    for index, (token, installation, document) in enumerate(devices, start=1):
        script.write(f'  {{token = "{token}", installation = "{installation}", document = "{document}", index = {index}, pushes = 0}},\n')
    script.write("}\n")
    template = json.dumps(batch("DOCUMENT", iter([f"ID{n:03x}" for n in range(60)])), ensure_ascii=False)
    script.write(f"template = {json.dumps(template, ensure_ascii=False)}\n")
    script.write(f'prefix = "{prefix}"\n')
    script.write(f'samples_file = "{work}/samples.jsonl"\n')
    script.write("""
-- Each wrk thread has a copy of this table and takes devices by turns from its own starting point; the ids carry the
-- thread's number, the device's and a per-thread counter, so they are unique whichever devices the threads share.
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  step = 0
  recent, recent_count = {}, 0
end
request = function()
  local d = devices[(tid * 7 + step) % #devices + 1]
  step = step + 1
  d.pushes = d.pushes + 1
  local body = template:gsub("ID(%x%x%x)", function(n)
    return string.format("%s-%04x-4%03x-8%s-%012x", prefix, d.index, tid, n, d.pushes)
  end):gsub("DOCUMENT", d.document)
  body = '{"mutations": ' .. body .. '}'
  -- The last bodies built, by their first id: `response` keeps the first one the server answered as the sample.
  recent[body:match('"id": "([^"]+)"')] = body
  recent_count = recent_count + 1
  if recent_count > 256 then
    recent, recent_count = {}, 0
  end
  return wrk.format("POST", "/api/v1/sync/push", {["Authorization"] = "Bearer " .. d.token,
    ["X-Installation-Id"] = d.installation, ["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if sample == nil and status == 200 then
    sample = recent[body:match('"id":"([^"]+)"')]
  end
end
-- A push of each thread that the server answered, for the check after the run (sent again: all 50 duplicates).
function done(summary, latency, requests)
  local file = io.open(samples_file, "w")
  for _, thread in ipairs(threads) do
    file:write(thread:get("sample") or "", "\\n")
  end
  file:close()
end
""")
print(f"== {len(devices)} members signed in, one device each; a push of 50 applied whole")

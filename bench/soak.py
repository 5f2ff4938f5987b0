"""The soak behind bench/soak.sh: rounds of 30 s of mixed load until the time is up; then a table."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the suite's helpers: Server, wrk, sync_pages)

minutes, members = float(sys.argv[1]), int(sys.argv[2])
work = tempfile.mkdtemp(prefix="handbook-soak-")
server = run.Server(f"sqlite://{work}/handbook.db", work)
try:
    server.cli("demo-data", "--members", str(members), "--documents", "300")
    server.cli("admin", "create", "--login", "soak.admin", stdin="soak admin pw\n")
    server.start()
    admin = json.loads(server.call("POST", "/api/v1/auth/login", {"login": "soak.admin", "password": "soak admin pw"})[2])["access_token"]
    status, _, slips = server.call("POST", "/api/v1/admin/committees/HK/activation-codes", {}, token=admin)
    import csv
    import io
    devices = []
    for slip in list(csv.DictReader(io.StringIO(slips.decode())))[:32]:
        body = json.loads(server.call("POST", "/api/v1/auth/activate", {"card_number": slip["card_number"],
                          "activation_code": slip["activation_code"], "new_password": "soak member pw"})[2])
        installation = str(uuid.uuid4())
        server.call("POST", "/api/v1/installations", {"installation_id": installation, "platform": "android", "app_version": "1"}, token=body["access_token"])
        devices.append((body["access_token"], installation))
    script = os.path.join(work, "poll.lua")
    login = os.path.join(work, "login.lua")
    with open(login, "w") as lua:
        lua.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                  'wrk.body = \'{"login":"soak.admin","password":"soak admin pw"}\'\n')
    deadline = time.time() + minutes * 60
    rss, failures, requests, rounds, published = [server.rss_mb()], 0, 0, 0, 0
    while time.time() < deadline:
        # Devices catch up (from scratch the first time), then poll with If-None-Match for 30 s.
        synced = [run.sync_pages(server, token, installation) for token, installation in devices]
        with open(script, "w") as lua:
            lua.write("devices = {\n")
            for (token, installation), (cursor, etag, *_rest) in zip(devices, synced):
                lua.write(f'  {{"{token}", "{installation}", "{cursor}", {json.dumps(etag)}}},\n')
            lua.write("}\ncounter = 0\nrequest = function()\n  counter = counter + 1\n  local d = devices[(counter % #devices) + 1]\n"
                      '  return wrk.format("GET", "/api/v1/sync?cursor=" .. d[3], {["Authorization"] = "Bearer " .. d[1],'
                      ' ["X-Installation-Id"] = d[2], ["If-None-Match"] = d[4]})\nend\n')
        results = {}
        jobs = [
            threading.Thread(target=lambda: results.update(sync=run.wrk(server, "/api/v1/sync", 32, 30, script=script))),
            threading.Thread(target=lambda: results.update(login=run.wrk(server, "/api/v1/auth/login", 8, 30, script=login))),
            threading.Thread(target=lambda: results.update(coverage=run.wrk(server, "/api/v1/coverage", 4, 30, headers=[f"Authorization: Bearer {admin}"]))),
        ]
        for job in jobs:
            job.start()
        for _ in range(3):  # a publish every 10 s
            time.sleep(10)
            status, _, body = server.call("POST", "/api/v1/admin/documents", {"title": f"Soak {uuid.uuid4().hex[:8]}", "kind": "tin_tuc",
                                          "section": "Tin tức", "body": "x" * 2000, "audience": {"all": True}}, token=admin)
            ok = status == 201 and server.call("POST", f"/api/v1/admin/documents/{json.loads(body)['id']}/publish", {}, token=admin)[0] == 200
            published += ok
            failures += not ok
        for job in jobs:
            job.join()
        for name, (rate, _p50, _p99, errors) in results.items():
            # Syncs answer 200 or 304, sign-ins and coverage 200: anything else is a failure.
            failures += errors
            requests += int(rate * 30)
        rss.append(server.rss_mb())
        rounds += 1
        # Access tokens live 15 minutes: sign in again each round so that a long soak stays signed in.
        admin = json.loads(server.call("POST", "/api/v1/auth/login", {"login": "soak.admin", "password": "soak admin pw"})[2])["access_token"]
    print(f"soak: {minutes:g} min on SQLite, {members:,} members, {rounds} rounds of 30 s")
    print("| measure | value |\n|---|---|")
    print(f"| requests answered | {requests:,} |")
    print(f"| failed answers (non-2xx/3xx, failed publishes) | {failures} |")
    print(f"| documents published during the soak | {published} |")
    print(f"| RSS at start → after each round (MB) | {' → '.join(f'{r:.0f}' for r in rss)} |")
finally:
    try:
        server.stop()
    except Exception:  # noqa: BLE001
        pass
    shutil.rmtree(work, ignore_errors=True)

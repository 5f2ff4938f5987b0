"""Held polls (GET /api/v1/sync?wait=60) from one asyncio process: opens COUNT connections to HOLD_PORT, each a
poll of one of the devices bench/sync_setup.py synced (devices.json), waits until the server holds them all (its
/metrics), then publishes one document to the whole city through PUBLISH_PORT and times every answer.
Prints the server's RSS before and with the polls held (SERVER_PID), and the answers' times after the publish.
Usage: live_polls.py WORK HOLD_PORT PUBLISH_PORT COUNT SERVER_PID"""
import asyncio
import json
import resource
import sys
import time
import urllib.request

work, hold_port, publish_port, count, server_pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
stored = json.load(open(f"{work}/devices.json"))
devices, admin = stored["devices"], stored["admin"]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb():
    for line in open(f"/proc/{server_pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def held():
    with urllib.request.urlopen(f"http://127.0.0.1:{hold_port}/metrics") as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("handbook_sync_held_polls "):
                return int(float(line.split()[1]))
    return 0


def call(method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{publish_port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", "Bearer " + admin)
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


answered = []


async def poll(i, opened):
    token, installation, cursor, etag = devices[i % len(devices)]
    async with opened:
        reader, writer = await asyncio.open_connection("127.0.0.1", hold_port)
        writer.write((f"GET /api/v1/sync?cursor={cursor}&wait=60 HTTP/1.1\r\nHost: bench\r\n"
                      f"Authorization: Bearer {token}\r\nX-Installation-Id: {installation}\r\n"
                      f"If-None-Match: {etag}\r\nConnection: close\r\n\r\n").encode())
        await writer.drain()
    status_line = await reader.readline()
    at = time.monotonic()
    await reader.read()
    writer.close()
    answered.append((at, int(status_line.split()[1]) if status_line else 0))


async def main():
    before = rss_mb()
    opened = asyncio.Semaphore(200)  # connections being opened at once
    started = time.monotonic()
    tasks = [asyncio.create_task(poll(i, opened)) for i in range(count)]
    while held() < count:
        if time.monotonic() - started > 120:
            print(f"   only {held()} of {count} polls held after 120 s")
            break
        await asyncio.sleep(0.5)
    holding = held()
    with_polls = rss_mb()
    print(f"== {holding} polls held on one instance after {time.monotonic() - started:.1f} s; server RSS "
          f"{before:.0f} MB before, {with_polls:.0f} MB with them (+{with_polls - before:.0f} MB, "
          f"{(with_polls - before) * 1024 / max(holding, 1):.1f} KB per poll)")
    loop = asyncio.get_running_loop()
    draft = {"title": "Thông báo khẩn", "kind": "thong_bao", "section": "", "body": "x", "audience": {"all": True}}
    document = await loop.run_in_executor(None, call, "POST", "/api/v1/admin/documents", draft)
    sent = time.monotonic()
    await loop.run_in_executor(None, call, "POST", f"/api/v1/admin/documents/{document['id']}/publish", {})
    committed = time.monotonic()
    await asyncio.wait(tasks, timeout=90)
    times = sorted(at - sent for at, _ in answered)
    statuses = {}
    for _, status in answered:
        statuses[status] = statuses.get(status, 0) + 1
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000 if times else float("nan")
    print(f"== one publish to all (answered {(committed - sent) * 1000:.0f} ms after it was sent): {len(times)} polls "
          f"answered {statuses}; after the publish was sent: p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, "
          f"last {times[-1] * 1000 if times else float('nan'):.0f} ms; server RSS {rss_mb():.0f} MB")


asyncio.run(main())

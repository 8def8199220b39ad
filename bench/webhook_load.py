"""How fast the server acknowledges deliveries under a steady load.

Starts `python -m bot.server` on loopback in its own process, with a fresh
SQLite queue and no workers (workers = 0), so the figures measure the
acknowledgement path alone: signature check, delivery record, enqueue,
answer. A load generator then sends signed pull_request deliveries at a
fixed rate (open loop: a slow answer does not slow the sending) and prints
the median and p99 time to the answer, and the errors.

    python bench/webhook_load.py                 # 100 deliveries/s for 30 s
    python bench/webhook_load.py --duration 5    # a shorter run
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

TARGET_P99_MS = 50.0
SECRET = "bench-secret"
PULLS = 50
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def delivery(index: int) -> tuple[bytes, dict[str, str]]:
    """A signed synchronize delivery: a new head on one of PULLS pull requests."""
    repo = {
        "full_name": "bench/widgets", "clone_url": "https://example.invalid/w.git",
        "default_branch": "main",
    }
    pull = {
        "number": index % PULLS + 1, "state": "open", "draft": False,
        "head": {"sha": secrets.token_hex(20), "ref": "feature", "repo": repo},
        "base": {"sha": "b" * 40, "ref": "main", "repo": repo},
    }
    body = json.dumps({
        "action": "synchronize", "number": pull["number"], "pull_request": pull,
        "repository": repo, "installation": {"id": 1},
        "sender": {"login": "octocat", "type": "User"},
    }).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json", "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": f"bench-{index}", "X-Hub-Signature-256": f"sha256={signature}",
    }
    return body, headers


def start_server(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "BASTION_WEBHOOK_SECRET": SECRET, "BASTION_WORKERS": "0",
        "BASTION_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT),
    }
    env.pop("BASTION_CONFIG", None)
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot.server", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )


async def wait_until_up(session: aiohttp.ClientSession, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"server did not answer on {url} within {timeout:.0f}s")


async def send(
    session: aiohttp.ClientSession, url: str, index: int, results: list[Any]
) -> None:
    body, headers = delivery(index)
    started = time.perf_counter()
    try:
        async with session.post(url + "/webhook", data=body, headers=headers) as response:
            await response.read()
            status: int | str = response.status
    except aiohttp.ClientError as exc:
        status = type(exc).__name__
    results.append((time.perf_counter() - started, status))


async def load(
    url: str, rate: float, duration: float, pid: int
) -> tuple[list[Any], float, float | None]:
    """Send at `rate` per second for `duration` seconds.

    Answers the (latency, status) pairs, the seconds it took and the server's
    CPU seconds spent meanwhile.
    """
    results: list[Any] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_until_up(session, url, timeout=30)
        cpu_before = cpu_seconds(pid)
        total = int(rate * duration)
        tasks = []
        started = time.perf_counter()
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(session, url, index, results)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(pid)
    if cpu_before is None or cpu_after is None:
        return results, elapsed, None
    return results, elapsed, cpu_after - cpu_before


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far (Linux), to compare runs
    on a machine shared with other work, where latency alone misleads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(
    results: list[Any], elapsed: float, rate: float, log_path: Path, cpu: float | None
) -> int:
    latencies = sorted(ms * 1000 for ms, _ in results)
    errors = [status for _, status in results if status not in (200, 202)]
    median = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
    print("mode: acknowledgement only (workers = 0, real SQLite queue, WAL, FULL sync)")
    print(f"deliveries: {len(results)} at {rate:g}/s asked, "
          f"{len(results) / elapsed:.1f}/s sent over {elapsed:.1f} s")
    print(f"ack latency: median {median:.1f} ms, p99 {p99:.1f} ms, "
          f"max {latencies[-1]:.1f} ms")
    print(f"p99 / {TARGET_P99_MS:.0f} ms target: {p99 / TARGET_P99_MS:.2f}")
    print(f"errors: {len(errors)}" + (f" {sorted(set(map(str, errors)))}" if errors else ""))
    if cpu is not None:
        print(f"server CPU under load: {cpu:.1f} s, {cpu / len(results) * 1000:.2f} ms "
              f"a delivery; load average now {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
    print(f"server log: {log_path}")
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="deliveries per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    port = free_port()
    log_path = work / "server.log"
    server = start_server(port, work / "data", log_path)
    try:
        results, elapsed, cpu = asyncio.run(
            load(f"http://127.0.0.1:{port}", args.rate, args.duration, server.pid)
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return report(results, elapsed, args.rate, log_path, cpu)


if __name__ == "__main__":
    raise SystemExit(main())

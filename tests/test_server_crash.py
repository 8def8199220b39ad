"""`bastion serve` killed with SIGKILL mid-review loses nothing and posts once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.github_emulator import GitHubEmulator, app_key, github  # noqa: F401
from tests.test_server_support import REPO, SECRET, sign
from tests.test_server_worker import RULES, opened, served  # noqa: F401

pytest.importorskip("bot.github.pipeline")

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`bastion serve` in its own process, against the emulator."""

    def __init__(self, github: GitHubEmulator, tmp_path: Path) -> None:
        settings = github.settings(tmp_path)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = tmp_path / "data" / "server.sqlite3"
        self.log = tmp_path / "serve.log"
        self.env = {
            **os.environ,
            "BASTION_WEBHOOK_SECRET": SECRET,
            "BASTION_APP_ID": str(settings.app_id),
            "BASTION_PRIVATE_KEY_PATH": str(settings.private_key_path),
            "BASTION_GITHUB_API_URL": github.url,
            "BASTION_DATA_DIR": str(settings.data_dir),
            "BASTION_BOT_LOGIN": github.bot_login,
            "BASTION_WORKERS": "1",
            "BASTION_REVIEW__USE_MODEL": "false",
            "BASTION_REVIEW__RULES": json.dumps([str(RULES)]),
            # A short lease so the restarted server reclaims the job quickly.
            "BASTION_JOB_LEASE_SECONDS": "2",
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("BASTION_CONFIG", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(self.port)],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)

    def jobs(self) -> list[tuple[str, int]]:
        if not self.database.exists():
            return []
        with sqlite3.connect(self.database) as connection:
            return connection.execute("SELECT state, attempts FROM jobs").fetchall()


@pytest.fixture
def server(served: GitHubEmulator, tmp_path: Path) -> Iterator[Server]:
    server = Server(served, tmp_path)
    yield server
    server.stop()
    sys.stderr.write(server.log.read_text(errors="replace")[-4000:])


async def until(check: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_ready(session: aiohttp.ClientSession, server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with session.get(server.url + "/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("server never became ready")


async def test_kill_9_mid_review_then_restart_posts_exactly_one_review(
    served: GitHubEmulator, server: Server
) -> None:
    head = served.pull(REPO, 7).head_sha
    body = json.dumps(opened(served)).encode()
    headers = {
        "Content-Type": "application/json", "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "crash-1", "X-Hub-Signature-256": sign(body),
    }

    server.start()
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, server)
        async with session.post(server.url + "/webhook", data=body, headers=headers) as r:
            assert r.status == 202
        # The check run goes in progress once the review is under way.
        await until(lambda: served.check_runs(REPO, head), 60, "the review to start")
        server.kill()

        assert served.reviews(REPO, 7) == []
        assert server.jobs() == [("running", 1)]

        server.start()
        await wait_ready(session, server)
        await until(lambda: server.jobs() == [("done", 2)], 120, "the job to finish")
        # A redelivery after the restart is acknowledged, not reviewed again.
        async with session.post(server.url + "/webhook", data=body, headers=headers) as r:
            assert r.status == 200
        await asyncio.sleep(1)

    assert len(served.reviews(REPO, 7)) == 1
    # The restarted review finishes the check run the killed one had started.
    assert [r["status"] for r in served.check_runs(REPO, head)] == ["completed"]

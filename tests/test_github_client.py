"""The GitHub client against the emulator: auth, token cache, retries, pacing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.config import ConfigError
from bot.github.client import GitHubApp, GitHubError, RetryPolicy
from tests.github_emulator import GitHubEmulator, app_key, github  # noqa: F401
from tests.gitrepo import GitRepo

FAST = RetryPolicy(attempts=4, backoff=0.05, max_backoff=0.2, max_wait=5.0,
                   mutation_interval=0.0)


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def served(github: GitHubEmulator, tmp_path: Path) -> GitHubEmulator:
    """One repository with pull request 1, installed as installation 7."""
    repo = GitRepo(tmp_path / "app")
    repo.write("app.py", "print('hello')\n")
    repo.commit_all("first")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", "print('hello')\nprint('world')\n")
    repo.commit_all("second")
    repo.checkout("main")
    github.add_repository("octo/app", repo.root, installation_id=7)
    github.add_pull("octo/app", 1, head="feature", base="main")
    return github


def make_app(github: GitHubEmulator, tmp_path: Path, session: aiohttp.ClientSession,
             retry: RetryPolicy = FAST, **overrides: object) -> GitHubApp:
    return GitHubApp(github.settings(tmp_path, **overrides), session, retry=retry)


async def test_app_token_is_minted_once_for_concurrent_jobs(served, tmp_path, session):
    app = make_app(served, tmp_path, session)

    first, second = await asyncio.gather(app.client(7), app.client(7))
    pulls = await asyncio.gather(first.get_pull("octo/app", 1), second.get_pull("octo/app", 1))

    assert [p["head"]["sha"] for p in pulls] == [served.pull("octo/app", 1).head_sha] * 2
    assert len(served.calls_to("POST", "/app/installations/7/access_tokens")) == 1
    auth = served.calls_to("GET", "/repos/octo/app/pulls/1")[0].headers["authorization"]
    assert auth.startswith("token ghs_")


async def test_token_is_renewed_before_it_expires(served, tmp_path, session):
    served.token_lifetime = 200.0  # inside the five-minute renewal margin
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)

    await gh.get_pull("octo/app", 1)
    await gh.get_pull("octo/app", 1)

    assert len(served.calls_to("POST", "/app/installations/*/access_tokens")) == 2


async def test_a_wrong_app_key_is_a_clear_error(served, tmp_path, session):
    from tests.github_emulator import make_app_key

    stranger = make_app_key()
    key_path = tmp_path / "other.pem"
    key_path.write_bytes(stranger.private_pem)
    app = make_app(served, tmp_path, session, private_key_path=key_path)
    gh = await app.client(7)

    with pytest.raises(GitHubError) as caught:
        await gh.get_pull("octo/app", 1)

    assert caught.value.status == 401
    assert "access_tokens" in str(caught.value)


async def test_personal_token_without_app(served, tmp_path, session):
    served.add_personal_token("ghp_secret", "reviewer")
    app = GitHubApp(
        served.settings(tmp_path, app_id=None, private_key_path=None,
                        github_token="ghp_secret"),
        session, retry=FAST,
    )
    gh = await app.client(None)

    pull = await gh.get_pull("octo/app", 1)

    assert pull["number"] == 1
    assert not gh.is_app
    assert await gh.login() == "reviewer"
    assert served.calls_to("POST", "/app/*") == []


async def test_no_credentials_is_a_config_error(served, tmp_path, session):
    app = GitHubApp(
        served.settings(tmp_path, app_id=None, private_key_path=None), session
    )
    with pytest.raises(ConfigError, match="github_token"):
        await app.client(None)


async def test_app_login_is_the_app_slug(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)

    assert await gh.login() == "bastion[bot]"
    assert gh.is_app


async def test_secondary_rate_limit_is_waited_out(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    served.fail_next("POST", "/repos/octo/app/issues/1/comments", 403,
                     headers={"retry-after": "1"})

    started = time.monotonic()
    comment = await gh.create_issue_comment("octo/app", 1, "hello")
    waited = time.monotonic() - started

    assert comment["body"] == "hello"
    statuses = [c.status for c in served.calls_to("POST", "/repos/octo/app/issues/1/comments")]
    assert statuses == [403, 201]
    assert waited >= 1.0
    assert len(served.issue_comments("octo/app", 1)) == 1


async def test_exhausted_quota_waits_until_reset(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    reset = str(int(time.time()))  # already due: wait about a second
    served.fail_next("GET", "/repos/octo/app/pulls/1", 403, headers={
        "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset,
    }, body={"message": "API rate limit exceeded"})

    pull = await gh.get_pull("octo/app", 1)

    assert pull["number"] == 1
    assert len(served.calls_to("GET", "/repos/octo/app/pulls/1")) == 2


async def test_429_is_retried(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    served.fail_next("GET", "/repos/octo/app", 429, headers={"retry-after": "0"}, times=2)

    repo = await gh.get_repository("octo/app")

    assert repo["default_branch"] == "main"
    assert [c.status for c in served.calls_to("GET", "/repos/octo/app")] == [429, 429, 200]


async def test_a_rate_limit_wait_past_the_cap_fails_at_once(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    served.fail_next("GET", "/repos/octo/app", 403, headers={"retry-after": "3600"})

    started = time.monotonic()
    with pytest.raises(GitHubError) as caught:
        await gh.get_repository("octo/app")

    assert caught.value.status == 403
    assert time.monotonic() - started < 2
    assert len(served.calls_to("GET", "/repos/octo/app")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_with_backoff(served, tmp_path, session, status):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    served.fail_next("GET", "/repos/octo/app/pulls/1", status, times=2)

    pull = await gh.get_pull("octo/app", 1)

    assert pull["number"] == 1
    calls = served.calls_to("GET", "/repos/octo/app/pulls/1")
    assert [c.status for c in calls] == [status, status, 200]


async def test_persistent_server_errors_end_in_github_error(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    served.fail_next("GET", "/repos/octo/app/pulls/1", 502, times=10)

    with pytest.raises(GitHubError) as caught:
        await gh.get_pull("octo/app", 1)

    assert caught.value.status == 502
    assert "/repos/octo/app/pulls/1" in str(caught.value)
    assert len(served.calls_to("GET", "/repos/octo/app/pulls/1")) == FAST.attempts


async def test_review_creation_is_not_resent_after_a_server_error(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    served.fail_next("POST", "/repos/octo/app/pulls/1/reviews", 502)

    with pytest.raises(GitHubError) as caught:
        await gh.create_review("octo/app", 1, {"event": "COMMENT", "body": "x"})

    assert caught.value.status == 502
    assert len(served.calls_to("POST", "/repos/octo/app/pulls/1/reviews")) == 1


async def test_writes_of_one_installation_are_paced(served, tmp_path, session):
    paced = RetryPolicy(attempts=2, backoff=0.05, mutation_interval=0.3)
    app = make_app(served, tmp_path, session, retry=paced)
    gh = await app.client(7)

    started = time.monotonic()
    await asyncio.gather(*(gh.create_issue_comment("octo/app", 1, f"c{i}") for i in range(3)))
    elapsed = time.monotonic() - started

    assert elapsed >= 0.6
    assert len(served.issue_comments("octo/app", 1)) == 3


async def test_lists_follow_every_page(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    pull = served.pull("octo/app", 1)
    pull.issue_comments.extend(
        {"id": i, "body": f"c{i}", "user": {"login": "octocat"}} for i in range(250)
    )

    comments = await gh.list_issue_comments("octo/app", 1)

    assert [c["id"] for c in comments] == list(range(250))
    assert len(served.calls_to("GET", "/repos/octo/app/issues/1/comments")) == 3


async def test_other_installations_repositories_are_not_found(served, tmp_path, session):
    served.add_installation(8)
    app = make_app(served, tmp_path, session)
    gh = await app.client(8)

    with pytest.raises(GitHubError) as caught:
        await gh.get_pull("octo/app", 1)

    assert caught.value.status == 404


async def test_permission_and_missing_file(served, tmp_path, session):
    served.set_permission("octo/app", "maintainer", "maintain")
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)

    assert await gh.permission("octo/app", "maintainer") == "maintain"
    assert await gh.permission("octo/app", "octocat") == "none"
    assert await gh.get_file("octo/app", "app.py", "main") == b"print('hello')\n"
    assert await gh.get_file("octo/app", "missing.toml", "main") is None


async def test_labels_are_created_once(served, tmp_path, session):
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)

    assert await gh.create_label("octo/app", "security: high", "d93f0b")
    assert not await gh.create_label("octo/app", "security: high", "d93f0b")
    await gh.add_labels("octo/app", 1, ["security: high"])
    await gh.remove_label("octo/app", 1, "security: high")
    await gh.remove_label("octo/app", 1, "security: high")

    assert served.labels("octo/app", 1) == []
    assert await gh.list_labels("octo/app") == ["security: high"]


async def test_a_rate_limit_without_a_time_waits_a_minute(served, tmp_path, session):
    # A minute is past this policy's cap, so the request fails at once.
    app = make_app(served, tmp_path, session)
    gh = await app.client(7)
    served.fail_next("POST", "/repos/octo/app/issues/1/comments", 403)

    with pytest.raises(GitHubError) as caught:
        await gh.create_issue_comment("octo/app", 1, "hello")

    assert caught.value.status == 403 and "secondary rate limit" in str(caught.value)
    assert len(served.calls_to("POST", "/repos/octo/app/issues/1/comments")) == 1

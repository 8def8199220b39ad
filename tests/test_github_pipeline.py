"""A pull-request job from fetch to publish: real git, real Semgrep, the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.config import PACKAGE_RULES, ReviewSettings
from bot.engine import ReviewEngine
from bot.github.client import GitHubApp, RetryPolicy
from bot.github.pipeline import report_failure, review_pull_request
from bot.render import github as render
from tests.github_emulator import GitHubEmulator, app_key, github  # noqa: F401
from tests.gitrepo import GitRepo

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, mutation_interval=0.0)
# One rule keeps each Semgrep run short; it reports os.system(...) as medium.
RULES = (PACKAGE_RULES / "python" / "command-injection",)
BASE = "import os\n\n\ndef run(target):\n    return target\n"
HEAD = "import os\n\n\ndef run(target):\n    os.system('ls ' + target)\n    return target\n"


@pytest.fixture(scope="module")
def engine() -> ReviewEngine:
    return ReviewEngine(model=None)


async def current() -> bool:
    return True


async def superseded() -> bool:
    return False


def make_pull(github: GitHubEmulator, root: Path, name: str, *,
              default_config: str | None = None, head_config: str | None = None) -> None:
    """Serve `name` with pull request 1, which adds an os.system call at app.py:5."""
    repo = GitRepo(root / name.replace("/", "-"))
    repo.write("app.py", BASE)
    if default_config is not None:
        repo.write(".bastion.toml", default_config)
    repo.commit_all("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", HEAD)
    if head_config is not None:
        repo.write(".bastion.toml", head_config)
    repo.commit_all("feature")
    repo.checkout("main")
    github.add_repository(name, repo.root, installation_id=7)
    github.add_pull(name, 1, head="feature")


@pytest_asyncio.fixture
async def app(github: GitHubEmulator, tmp_path: Path) -> AsyncIterator[GitHubApp]:
    settings = github.settings(
        tmp_path, review=ReviewSettings(rules=RULES, use_model=False))
    async with aiohttp.ClientSession() as session:
        yield GitHubApp(settings, session, retry=FAST)


async def test_two_repositories_at_once_keep_their_own_settings(github, app, engine, tmp_path):
    # octo/strict fails on medium from its default branch; its pull request
    # tries to relax that in its own copy of the file, which must not count.
    make_pull(github, tmp_path, "octo/strict", default_config='[review]\nfail_on = "medium"\n',
              head_config='[review]\nfail_on = "critical"\nfilter = "file"\n')
    make_pull(github, tmp_path, "octo/lenient",
              default_config='[review]\nfail_on = "critical"\n')

    outcomes = await asyncio.gather(*(
        review_pull_request(github.job(name, 1), app=app, settings=app.settings,
                            engine=engine, is_current=current)
        for name in ("octo/strict", "octo/lenient")
    ))

    assert all("review" in line for line in outcomes)
    [strict_run] = github.check_runs("octo/strict")
    [lenient_run] = github.check_runs("octo/lenient")
    assert (strict_run["conclusion"], lenient_run["conclusion"]) == ("failure", "neutral")
    assert github.reviews("octo/strict", 1)[0]["state"] == "CHANGES_REQUESTED"
    assert github.reviews("octo/lenient", 1)[0]["state"] == "COMMENTED"
    for name in ("octo/strict", "octo/lenient"):
        [comment] = github.review_comments(name, 1)
        assert (comment["path"], comment["line"]) == ("app.py", 5)
        assert "python-subprocess-shell" in comment["body"]
        assert github.labels(name, 1) == ["security: medium"]
        assert (app.settings.data_dir / "mirrors" / f"{name}.git" / "HEAD").is_file()
    assert len(github.calls_to("POST", "/app/installations/7/access_tokens")) == 1
    assert app.settings.review.fail_on is None, "the bot's own settings stay untouched"


async def test_invalid_repository_settings_are_reported_and_ignored(
        github, app, engine, tmp_path):
    make_pull(github, tmp_path, "octo/app", default_config='[review]\nrules = ["/etc"]\n')
    repo = github.repositories["octo/app"]
    # A fork's branch is not in the base repository: only refs/pull/1/head is.
    GitRepo(repo.path).git("branch", "-D", "feature")

    outcome = await review_pull_request(github.job("octo/app", 1), app=app,
                                        settings=app.settings, engine=engine,
                                        is_current=current)

    [run] = github.check_runs("octo/app")
    assert run["conclusion"] == "neutral"
    assert "review.rules: not a setting a repository may change" in run["output"]["summary"]
    assert len(github.review_comments("octo/app", 1)) == 1
    assert "1 inline" in outcome


async def test_superseded_job_publishes_no_review(github, app, engine, tmp_path):
    make_pull(github, tmp_path, "octo/app")

    outcome = await review_pull_request(github.job("octo/app", 1), app=app,
                                        settings=app.settings, engine=engine,
                                        is_current=superseded)

    assert "superseded" in outcome
    assert github.reviews("octo/app", 1) == []
    [run] = github.check_runs("octo/app")
    assert (run["conclusion"], run["output"]["title"]) == ("neutral", "Superseded")


async def test_job_for_an_old_head_is_skipped(github, app, engine, tmp_path):
    make_pull(github, tmp_path, "octo/app")
    job = github.job("octo/app", 1)
    github.push("octo/app", 1, "main")

    outcome = await review_pull_request(job, app=app, settings=app.settings,
                                        engine=engine, is_current=current)

    assert "skipped" in outcome and "head moved" in outcome
    assert github.check_runs("octo/app") == []


async def test_failure_is_reported_on_the_check_run(github, app, tmp_path):
    make_pull(github, tmp_path, "octo/app")
    job = github.job("octo/app", 1)

    await report_failure(job, app=app, reason="semgrep timed out <after 120 s>")

    [run] = github.check_runs("octo/app")
    assert run["conclusion"] == "failure" and run["name"] == render.CHECK_RUN_NAME
    assert "semgrep timed out &lt;after 120 s&gt;" in run["output"]["summary"]


def test_the_stricter_of_repository_and_policy_thresholds_blocks(tmp_path) -> None:
    from bot.config import ReviewSettings
    from bot.findings import Severity
    from bot.github.pipeline import _threshold
    from bot.policy import Policy

    strict = tmp_path / "strict.toml"
    strict.write_text('block_threshold = "medium"\n')
    never = tmp_path / "never.toml"
    never.write_text('block_threshold = "never"\n')
    lax_repo = ReviewSettings(fail_on=Severity.CRITICAL)

    assert _threshold(lax_repo, Policy.load(strict)) == Severity.MEDIUM
    assert _threshold(ReviewSettings(fail_on=Severity.LOW), Policy.load(strict)) == Severity.LOW
    assert _threshold(ReviewSettings(), Policy.load(never)) is None
    assert _threshold(ReviewSettings(), None) == Severity.HIGH

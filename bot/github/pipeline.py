"""One pull-request job from start to finish: fetch, review, publish.

The worker calls `review_pull_request` for each job and `report_failure`
when a job has failed for good. Settings are resolved here per job (the
bot's, then the repository's file from its default branch) and passed down,
so concurrent jobs never share a repository's settings.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.change import Change
from bot.config import ReviewSettings, Settings
from bot.findings import ReviewResult, Severity
from bot.gitdiff import diff_range, open_repository
from bot.github import mirror, publish
from bot.github.client import GitHubApp
from bot.github.publish import Target, job_fields
from bot.github.repo_config import CONFIG_FILE, merge_repo_settings
from bot.jobs import PullRequestJob
from bot.render.github import code_span, escape, failure_comment

if TYPE_CHECKING:
    from bot.engine import ReviewEngine
    from bot.policy import Policy

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = Severity.HIGH


async def review_pull_request(
    job: PullRequestJob, *, app: GitHubApp, settings: Settings, engine: ReviewEngine,
    is_current: Callable[[], Awaitable[bool]],
) -> str:
    """Review one head of a pull request and publish it; return an outcome line."""
    extra = job_fields(job)
    log.info("review started", extra=extra)
    gh = await app.client(job.installation_id, context=extra)
    pull = await gh.get_pull(job.repository, job.number)
    stale = _stale(pull, job)
    if stale:
        log.info("review skipped", extra={**extra, "reason": stale})
        return f"{job.key}: skipped, {stale}"

    target = Target(gh, job, await gh.login(), author=(pull.get("user") or {}).get("login"))
    run_id = await publish.start_check_run(target)
    path = await app.mirrors.fetch(job, await gh.clone_credentials())
    review_settings, notes = await asyncio.to_thread(_repo_settings, path, job, settings)
    change = await asyncio.to_thread(_change, path, job)
    policy = await asyncio.to_thread(_policy, settings)
    result = await asyncio.to_thread(_review, engine, change, review_settings, job, policy)

    if not await is_current():
        await publish.close_check_run(
            target, run_id, conclusion="neutral", title="Superseded",
            summary="A newer push replaced this commit before its review was published.",
        )
        log.info("review not published: superseded", extra=extra)
        return f"{job.key}: superseded before publishing"

    threshold = _threshold(review_settings, policy)
    outcome = await publish.publish(
        target, result, change, threshold=threshold, notes=notes, check_run_id=run_id
    )
    return outcome.line(job)


def _stale(pull: dict[str, Any], job: PullRequestJob) -> str | None:
    """Why the job's head is no longer worth reviewing, if it is not."""
    head = str(pull["head"]["sha"])
    if head != job.head_sha:
        return f"head moved to {head[:12]}"
    if pull.get("state") != "open":
        return "pull request closed"
    return None


def _repo_settings(
    path: Path, job: PullRequestJob, settings: Settings
) -> tuple[ReviewSettings, list[str]]:
    """The bot's review settings merged with the default branch's file, never the head's."""
    data = mirror.read_file(path, job.default_branch, CONFIG_FILE)
    merged, problem = merge_repo_settings(settings.review, data)
    if problem is None:
        return merged, []
    log.warning("repository settings ignored", extra={**job_fields(job), "reason": problem})
    note = (f"{problem} (on {code_span(job.default_branch)}); "
            "this review used the bot's own settings.")
    return merged, [note]


def _change(path: Path, job: PullRequestJob) -> Change:
    repo = open_repository(path)
    change = diff_range(repo, job.base_sha, job.head_sha)
    log.info("change read", extra={**job_fields(job), "files": len(change.files)})
    return change


def _review(
    engine: ReviewEngine, change: Change, review_settings: ReviewSettings,
    job: PullRequestJob, policy: Policy | None,
) -> ReviewResult:
    result = engine.review(change, review_settings, policy=policy, repository=job.repository)
    log.info("review finished", extra={**job_fields(job), "findings": len(result.findings)})
    return result


def _threshold(review_settings: ReviewSettings, policy: Policy | None) -> Severity | None:
    """What blocks a merge: the stricter of the repository's fail_on and the policy.

    A repository may make its own review stricter, never weaker than the policy.
    """
    if policy is None:
        return review_settings.fail_on or DEFAULT_THRESHOLD
    chosen = [t for t in (review_settings.fail_on, policy.block_threshold) if t is not None]
    return min(chosen) if chosen else None


def _policy(settings: Settings) -> Policy | None:
    if settings.policy is None:
        return None
    try:
        version = settings.policy.stat().st_mtime_ns
    except OSError:
        version = -1  # Policy.load reports the missing file with its own message.
    return _load_policy(settings.policy, version)


@functools.lru_cache(maxsize=4)
def _load_policy(path: Path, version: int) -> Policy:
    """Load and check a policy once per version of its file, not once per job."""
    from bot.policy import Policy

    return Policy.load(path)


async def report_failure(job: PullRequestJob, *, app: GitHubApp, reason: str) -> None:
    """Mark the head's check run failed, with the reason, after the last attempt."""
    extra = job_fields(job)
    gh = await app.client(job.installation_id, context=extra)
    target = Target(gh, job, await gh.login())
    if gh.is_app:
        summary = (f"Bastion could not review commit {code_span(job.head_sha[:12])}: "
                   f"{escape(reason)}")
        await publish.close_check_run(
            target, None, conclusion="failure", title="Review failed", summary=summary
        )
    else:
        await publish.update_summary(target, failure_comment(job.head_sha, reason))
    log.error("review failure reported", extra={**extra, "reason": reason})

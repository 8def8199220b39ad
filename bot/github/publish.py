"""Publish a review on GitHub: one review per head, a check run, labels, a summary.

Every step can run again after a crash without repeating itself: the review
carries a hidden marker with the head sha, inline comments carry their
finding's fingerprint, the summary comment is edited in place, labels are set
rather than added, and the check run is looked up by name and commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.change import Change
from bot.findings import Finding, ReviewResult, Severity
from bot.github.client import GitHubClient, GitHubError
from bot.jobs import PullRequestJob
from bot.render import github as render
from bot.render.github import Placement, Resolved, Unplaced

log = logging.getLogger(__name__)

OUTSIDE_DIFF = "outside the diff"
OVER_LIMIT = f"over {render.MAX_INLINE} inline comments"
REFUSED = "GitHub refused it as an inline comment"


@dataclass(frozen=True)
class Target:
    """The pull request a job publishes to, and who the bot is there."""

    gh: GitHubClient
    job: PullRequestJob
    login: str
    author: str | None = None

    @property
    def repository(self) -> str:
        return self.job.repository

    @property
    def number(self) -> int:
        return self.job.number

    @property
    def extra(self) -> dict[str, Any]:
        return job_fields(self.job)


def job_fields(job: PullRequestJob) -> dict[str, Any]:
    """Log fields that tie a line to its delivery and pull request."""
    return {"delivery": job.delivery_id, "repository": job.repository,
            "pull": job.number, "head": job.head_sha[:12]}


@dataclass
class Outcome:
    review_id: int | None = None
    inline: int = 0
    in_body: int = 0
    refused: int = 0
    resolved: int = 0
    already_reviewed: bool = False
    conclusion: str | None = None

    def line(self, job: PullRequestJob) -> str:
        if self.already_reviewed:
            review = "review already posted"
        elif self.review_id is None:
            review = "no new review needed"
        else:
            review = (f"review {self.review_id}: {self.inline} inline, {self.in_body} in "
                      f"the body ({self.refused} refused), {self.resolved} resolved")
        return f"{job.key}: {review}; check {self.conclusion or 'not written'}"


@dataclass
class Prior:
    """What the bot has published on this pull request before."""

    reviewed: bool = False
    reported: dict[str, str] = field(default_factory=dict)
    requesting_changes: list[int] = field(default_factory=list)


def _author(item: dict[str, Any]) -> str:
    return str((item.get("user") or {}).get("login", ""))


async def read_prior(target: Target) -> Prior:
    """Replay the bot's own reviews, oldest first, into what is still reported."""
    gh, prior = target.gh, Prior()
    reviews = [r for r in await gh.list_reviews(target.repository, target.number)
               if _author(r) == target.login]
    for review in [r for r in reviews if r["state"] == "PENDING"]:
        # A probe left behind by an interrupted run would block the next one.
        await gh.delete_pending_review(target.repository, target.number, review["id"])
    reviews = sorted((r for r in reviews if r["state"] != "PENDING"), key=lambda r: r["id"])

    comments: dict[int, list[dict[str, Any]]] = {}
    for comment in await gh.list_review_comments(target.repository, target.number):
        if _author(comment) == target.login:
            comments.setdefault(comment.get("pull_request_review_id") or 0, []).append(comment)

    for review in reviews:
        for comment in comments.get(review["id"], []):
            fp = render.leading_markers(comment["body"]).get("fp")
            if fp:
                line = comment.get("line") or comment.get("original_line")
                prior.reported[fp] = render.code_span(f"{comment['path']}:{line}")
        for fp in render.marked_fingerprints(review.get("body"), "listed"):
            prior.reported.setdefault(fp, "")
        for fp in render.marked_fingerprints(review.get("body"), "resolved"):
            prior.reported.pop(fp, None)
        if render.reviewed_sha(review.get("body")) == target.job.head_sha:
            prior.reviewed = True
        if review["state"] == "CHANGES_REQUESTED":
            prior.requesting_changes.append(review["id"])
    return prior


# -- the review ------------------------------------------------------------------


def split_findings(
    findings: Sequence[Finding], change: Change
) -> tuple[list[tuple[Finding, Placement]], list[Unplaced]]:
    """Inline the worst findings the diff can hold, up to the limit; list the rest."""
    placed: list[tuple[Finding, Placement]] = []
    unplaced: list[Unplaced] = []
    for finding in sorted(findings, key=render.rank):
        placement = render.place(finding, change)
        if placement is None:
            unplaced.append(Unplaced(finding, OUTSIDE_DIFF))
        elif len(placed) >= render.MAX_INLINE:
            unplaced.append(Unplaced(finding, OVER_LIMIT))
        else:
            placed.append((finding, placement))
    return placed, unplaced


@dataclass
class _Draft:
    """A review about to be posted, rebuilt when GitHub refuses some comments."""

    result: ReviewResult
    blocking: bool
    threshold: Severity | None
    placed: list[tuple[Finding, Placement]]
    unplaced: list[Unplaced]
    resolved: list[Resolved]
    notes: Sequence[str]
    event: str

    def payload(self) -> dict[str, Any]:
        body = render.review_body(
            self.result, blocking=self.blocking, threshold=self.threshold,
            unplaced=self.unplaced, resolved=self.resolved, inline=len(self.placed),
            notes=self.notes,
        )
        return {
            "commit_id": self.result.head, "event": self.event, "body": body,
            "comments": [render.inline_comment(f, p) for f, p in self.placed],
        }


async def post_review(
    target: Target, prior: Prior, result: ReviewResult, change: Change, *,
    threshold: Severity | None, notes: Sequence[str], outcome: Outcome,
) -> None:
    """Post one review for the head with what is new, unless one exists already."""
    if prior.reviewed:
        outcome.already_reviewed = True
        log.info("review already posted", extra=target.extra)
        return

    known = {f.fingerprint for f in result.findings}
    new = [f for f in result.active() if f.fingerprint not in prior.reported]
    resolved = [Resolved(fp, where) for fp, where in prior.reported.items() if fp not in known]
    blocking = result.fails(threshold)
    placed, unplaced = split_findings(new, change)
    if not (placed or unplaced or resolved) and (not blocking or prior.requesting_changes):
        log.info("nothing new to review", extra=target.extra)
        return

    # GitHub refuses REQUEST_CHANGES on one's own pull request.
    own = target.author is not None and target.author == target.login
    event = "REQUEST_CHANGES" if blocking and not own else "COMMENT"
    draft = _Draft(result, blocking, threshold, placed, unplaced, resolved, notes, event)
    review = await _create(target, draft)

    outcome.review_id = review.get("id") if review else None
    outcome.inline = len(draft.placed)
    outcome.in_body = len(draft.unplaced)
    outcome.refused = sum(1 for u in draft.unplaced if u.reason == REFUSED)
    outcome.resolved = len(resolved)


async def _create(target: Target, draft: _Draft) -> dict[str, Any] | None:
    gh, payload = target.gh, draft.payload()
    try:
        return await gh.create_review(target.repository, target.number, payload)
    except GitHubError as exc:
        if exc.status == 422 and payload["comments"]:
            failure = exc
        elif exc.status is None or exc.status >= 500:
            return await _create_after_server_error(target, payload, exc)
        else:
            raise

    log.warning("review refused; finding the comments GitHub refuses",
                extra={**target.extra, "comments": len(payload["comments"])})
    refused = await _refused(target, payload["comments"], known_bad=True)
    if not refused:
        raise failure
    draft.unplaced = draft.unplaced + [Unplaced(draft.placed[i][0], REFUSED) for i in refused]
    draft.placed = [p for i, p in enumerate(draft.placed) if i not in refused]
    return await gh.create_review(target.repository, target.number, draft.payload())


async def _create_after_server_error(
    target: Target, payload: dict[str, Any], failure: GitHubError
) -> dict[str, Any] | None:
    """A review that failed with a server error may have landed: look before resending."""
    if (await read_prior(target)).reviewed:
        log.info("review landed despite the server error", extra=target.extra)
        return None
    log.warning("review failed; sending it again", extra={**target.extra, "error": str(failure)})
    return await target.gh.create_review(target.repository, target.number, payload)


async def _refused(
    target: Target, comments: list[dict[str, Any]], *, known_bad: bool = False,
    offset: int = 0,
) -> set[int]:
    """Indexes of the comments GitHub refuses, found by halving the set.

    Each probe is a pending review (seen by nobody else) deleted at once; the
    422 answer does not say which comment was wrong.
    """
    if not comments:
        return set()
    if not known_bad and await _accepted(target, comments):
        return set()
    if len(comments) == 1:
        return {offset}
    half = len(comments) // 2
    left = await _refused(target, comments[:half], offset=offset)
    right = await _refused(target, comments[half:], offset=offset + half)
    return left | right


async def _accepted(target: Target, comments: list[dict[str, Any]]) -> bool:
    gh = target.gh
    try:
        probe = await gh.create_review(
            target.repository, target.number,
            {"commit_id": target.job.head_sha, "comments": comments},
        )
    except GitHubError as exc:
        if exc.status == 422:
            return False
        raise
    await gh.delete_pending_review(target.repository, target.number, probe["id"])
    return True


async def dismiss_stale(target: Target, prior: Prior) -> None:
    """Dismiss the bot's earlier change requests once nothing blocks any more."""
    for review_id in prior.requesting_changes:
        message = f"No blocking findings remain at {target.job.head_sha[:12]}."
        try:
            await target.gh.dismiss_review(target.repository, target.number, review_id, message)
        except GitHubError as exc:
            # Branch protection may forbid it; the new review says it all anyway.
            log.warning("stale review not dismissed",
                        extra={**target.extra, "review_id": review_id, "error": str(exc)})


# -- labels and the summary comment ----------------------------------------------


async def apply_labels(target: Target, worst: Severity | None) -> None:
    """Leave exactly one severity label on the pull request, or none."""
    gh = target.gh
    wanted = render.severity_label(worst)
    current = await gh.issue_labels(target.repository, target.number)
    for name in current:
        stale = name.lower().startswith(render.LABEL_PREFIX) and name.lower() != (
            wanted or "").lower()
        if stale:
            await gh.remove_label(target.repository, target.number, name)

    if wanted is None or wanted.lower() in {n.lower() for n in current}:
        return
    existing = {n.lower() for n in await gh.list_labels(target.repository)}
    if wanted.lower() not in existing:
        assert worst is not None
        await gh.create_label(target.repository, wanted, render.LABEL_COLORS[worst],
                              "Worst finding of the Bastion security review")
    await gh.add_labels(target.repository, target.number, [wanted])


async def update_summary(target: Target, body: str) -> None:
    """Edit the bot's summary comment in place, or post it the first time."""
    gh = target.gh
    for comment in await gh.list_issue_comments(target.repository, target.number):
        mine = _author(comment) == target.login
        if mine and str(comment.get("body", "")).startswith(render.SUMMARY_MARKER):
            if comment["body"] != body:
                await gh.update_issue_comment(target.repository, comment["id"], body)
            return
    await gh.create_issue_comment(target.repository, target.number, body)


# -- the check run ---------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def start_check_run(target: Target) -> int | None:
    """Mark the head's check run in progress; None when the token cannot write one."""
    gh, job = target.gh, target.job
    if not gh.is_app:
        return None
    output = {"title": "Review in progress",
              "summary": f"Reviewing commit {render.code_span(job.head_sha[:12])}."}
    run = await gh.find_check_run(job.repository, job.head_sha, render.CHECK_RUN_NAME)
    if run is not None and run["status"] != "completed":
        return int(run["id"])
    run = await gh.create_check_run(job.repository, {
        "name": render.CHECK_RUN_NAME, "head_sha": job.head_sha, "status": "in_progress",
        "started_at": _now(), "external_id": job.delivery_id, "output": output,
    })
    return int(run["id"])


async def complete_check_run(
    target: Target, run_id: int, result: ReviewResult, *, threshold: Severity | None,
    conclusion: str, notes: Sequence[str],
) -> None:
    """Write the summary and every annotation, 50 a request, then the conclusion."""
    output = {
        "title": render.check_title(result),
        "summary": render.check_summary(result, threshold=threshold, notes=notes),
        "text": render.check_text(result),
    }
    batches = render.batches(render.check_annotations(result.active(), threshold))
    # TODO: a run interrupted between batches and retried appends its
    # annotations again; GitHub offers no way to replace them.
    for batch in batches[:-1]:
        await target.gh.update_check_run(
            target.repository, run_id, {"output": {**output, "annotations": batch}}
        )
    await target.gh.update_check_run(target.repository, run_id, {
        "status": "completed", "conclusion": conclusion, "completed_at": _now(),
        "output": {**output, "annotations": batches[-1]},
    })


async def close_check_run(
    target: Target, run_id: int | None, *, conclusion: str, title: str, summary: str
) -> None:
    """Finish the head's check run without a review (failed or superseded)."""
    if not target.gh.is_app:
        return
    if run_id is None:
        run_id = await start_check_run(target)
    assert run_id is not None
    await target.gh.update_check_run(target.repository, run_id, {
        "status": "completed", "conclusion": conclusion, "completed_at": _now(),
        "output": {"title": title, "summary": render.fit(
            summary, render.OUTPUT_LIMIT - 100, "(cut)")},
    })


# -- all of it ---------------------------------------------------------------------


async def publish(
    target: Target, result: ReviewResult, change: Change, *,
    threshold: Severity | None, notes: Sequence[str] = (), check_run_id: int | None = None,
) -> Outcome:
    """Review, labels, summary comment and check run for one head, in that order."""
    outcome = Outcome()
    prior = await read_prior(target)
    await post_review(target, prior, result, change, threshold=threshold, notes=notes,
                      outcome=outcome)
    if not result.fails(threshold) and prior.requesting_changes:
        await dismiss_stale(target, prior)
    await apply_labels(target, result.worst())

    conclusion = render.conclusion(result, threshold, degraded=bool(notes))
    await update_summary(target, render.summary_comment(
        result, conclusion_name=conclusion, threshold=threshold, notes=notes))
    if target.gh.is_app:
        run_id = check_run_id if check_run_id is not None else await start_check_run(target)
        assert run_id is not None
        await complete_check_run(target, run_id, result, threshold=threshold,
                                 conclusion=conclusion, notes=notes)
        outcome.conclusion = conclusion
    log.info("review published", extra={**target.extra, "outcome": outcome.line(target.job)})
    return outcome

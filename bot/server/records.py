"""What the queue holds and hands out: review requests, claims, outcomes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from bot.jobs import PullRequestJob

EnqueueStatus = Literal["queued", "merged", "duplicate", "stale", "unknown_pull"]
FailureState = Literal["retry", "failed", "superseded", "lost"]


@dataclass(frozen=True)
class ReviewRequest:
    """What one delivery asks for: a review of a known head, or a re-run.

    A pull_request delivery names its head, so it carries the whole `job`.
    A re-run (comment command, check run) leaves `job` empty: the worker
    reviews whatever head the pull request has when the job runs.
    """

    delivery_id: str
    repository: str
    number: int | None
    trigger: str
    installation_id: int | None
    clone_url: str
    default_branch: str
    job: PullRequestJob | None = None
    head_sha: str | None = None
    requested_by: str | None = None
    updated_at: str | None = None

    @property
    def event(self) -> str:
        return self.trigger.partition(".")[0]

    @property
    def action(self) -> str | None:
        return self.trigger.partition(".")[2] or None

    def for_pull(self, number: int) -> ReviewRequest:
        """The same request, with the pull request number found elsewhere."""
        return replace(self, number=number)

    def to_json(self) -> str:
        data = asdict(self)
        data["job"] = self.job.to_dict() if self.job else None
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReviewRequest:
        data: dict[str, Any] = json.loads(text)
        job = data.pop("job")
        return cls(**data, job=PullRequestJob.from_dict(job) if job else None)


@dataclass(frozen=True)
class Enqueued:
    """What became of a delivery: a new job, one it joined, or nothing."""

    status: EnqueueStatus
    job_id: int | None = None


@dataclass(frozen=True)
class Claim:
    """A job leased to one worker; the token proves the lease is still held."""

    id: int
    token: str
    request: ReviewRequest
    job: PullRequestJob | None
    attempt: int
    exhausted: bool
    last_error: str | None = None

    def resolved(self, job: PullRequestJob) -> Claim:
        return replace(self, job=job)


@dataclass(frozen=True)
class Failure:
    """What a failed attempt led to; `retry_at` is set for a retry."""

    state: FailureState
    retry_at: float | None = None


@dataclass(frozen=True)
class JobRecord:
    """One job as stored, for status pages and tests."""

    id: int
    delivery_id: str
    repository: str
    number: int
    head_sha: str | None
    trigger: str
    state: str
    current: bool
    attempts: int
    outcome: str | None
    error: str | None

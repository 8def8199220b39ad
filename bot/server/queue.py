"""The review queue: one job per pull-request head, leased to workers.

Rules every backend keeps:
- a delivery id is processed once, however often GitHub delivers it;
- deliveries for the same head join one job; a re-run asks for a new one;
- a newer head cancels pending jobs for older heads and tells running ones,
  through `is_current`, that their result must not be published;
- a claim is a lease renewed by heartbeats; a lease that runs out (the
  worker died) puts the job back, so nothing claimed is ever lost;
- a failed attempt is retried with backoff until `max_attempts`, then the
  job is recorded failed with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.jobs import PullRequestJob
from bot.server import queue_sql as sql
from bot.server.db import Database
from bot.server.records import Claim, Enqueued, Failure, JobRecord, ReviewRequest

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600.0


class JobQueue(Protocol):
    """The queue as handlers and workers see it; backends are interchangeable."""

    max_attempts: int

    async def enqueue(self, request: ReviewRequest) -> Enqueued:
        """Record the delivery and queue or join a job, atomically."""

    async def claim(self) -> Claim | None:
        """Lease the next ready job, or None when there is none."""

    async def heartbeat(self, claim: Claim) -> bool:
        """Extend the lease; False when it was lost."""

    async def resolve(
        self, claim: Claim, job: PullRequestJob, updated_at: str | None
    ) -> bool:
        """Fix a re-run's head once fetched; False when that head is outdated."""

    async def is_current(self, claim: Claim) -> bool:
        """Whether the claim still holds its lease and its head is the newest."""

    async def complete(self, claim: Claim, outcome: str) -> str:
        """Record the outcome; answers the final state (done, superseded, lost)."""

    async def fail(self, claim: Claim, reason: str) -> Failure:
        """Record a failed attempt: retry later or give up."""

    async def release(self, claim: Claim) -> None:
        """Hand an unfinished job back without spending an attempt."""

    async def supersede(self, repository: str, number: int, head_sha: str) -> int:
        """Cancel or flag jobs of the pull request at other heads."""

    async def recover(self) -> int:
        """Put jobs whose lease ran out back in the queue."""

    async def wait(self, timeout: float) -> None:
        """Return when a job may be ready, or after `timeout` seconds."""

    async def ping(self) -> None:
        """Raise when the queue cannot be reached."""

    async def jobs(self) -> list[JobRecord]:
        """Every job, oldest first."""


class SQLiteQueue:
    """The queue in the server's SQLite file: durable, one host."""

    def __init__(
        self,
        database: Database,
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 3,
        retry_seconds: float = 30.0,
    ) -> None:
        self.database = database
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self._ready: asyncio.Event | None = None

    async def enqueue(self, request: ReviewRequest) -> Enqueued:
        result = await self.database.run(lambda c, now: sql.enqueue(c, now, request))
        if result.status in ("queued", "merged"):
            self._wake()
        log.info("delivery %s", result.status, extra={"job": result.job_id})
        return result

    async def claim(self) -> Claim | None:
        claim = await self.database.run(
            lambda c, now: sql.claim_next(c, now, self.lease_seconds, self.max_attempts)
        )
        if claim is not None:
            log.info(
                "job claimed",
                extra={"job": claim.id, "attempt": claim.attempt,
                       "repository": claim.request.repository,
                       "delivery": claim.request.delivery_id},
            )
        return claim

    async def heartbeat(self, claim: Claim) -> bool:
        lease = self.lease_seconds
        return await self.database.run(lambda c, now: sql.heartbeat(c, now, claim, lease))

    async def resolve(
        self, claim: Claim, job: PullRequestJob, updated_at: str | None
    ) -> bool:
        return await self.database.run(
            lambda c, now: sql.resolve(c, now, claim, job, updated_at)
        )

    async def is_current(self, claim: Claim) -> bool:
        row = await self.database.run(lambda c, now: sql.owned(c, claim))
        return row is not None and bool(row["current"])

    async def complete(self, claim: Claim, outcome: str) -> str:
        return await self.database.run(lambda c, now: sql.complete(c, now, claim, outcome))

    async def fail(self, claim: Claim, reason: str) -> Failure:
        failure = await self.database.run(
            lambda c, now: sql.fail(
                c, now, claim, reason, self.max_attempts, self.retry_delay
            )
        )
        if failure.state == "retry":
            self._wake()
        return failure

    async def release(self, claim: Claim) -> None:
        await self.database.run(lambda c, now: sql.release(c, now, claim))
        self._wake()

    async def supersede(self, repository: str, number: int, head_sha: str) -> int:
        return await self.database.run(
            lambda c, now: sql.supersede(c, now, repository, number, head_sha)
        )

    async def recover(self) -> int:
        return await self.database.run(sql.recover)

    async def wait(self, timeout: float) -> None:
        ready = self._event()
        try:
            await asyncio.wait_for(ready.wait(), timeout)
        except TimeoutError:
            pass
        ready.clear()

    async def ping(self) -> None:
        await self.database.run(lambda c, now: c.execute("SELECT 1").fetchone())

    async def jobs(self) -> list[JobRecord]:
        return await self.database.run(lambda c, now: sql.jobs(c))

    def retry_delay(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1`: doubling, capped at an hour."""
        return float(min(self.retry_seconds * 2 ** (attempt - 1), MAX_RETRY_DELAY))

    def _event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    def _wake(self) -> None:
        self._event().set()

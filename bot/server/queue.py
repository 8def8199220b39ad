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
import json
import logging
import sqlite3
import uuid
from typing import Protocol

from bot.jobs import PullRequestJob
from bot.server.db import Database, record_delivery
from bot.server.records import Claim, Enqueued, Failure, JobRecord, ReviewRequest

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600.0
# A job in one of these states already stands for its head: join it.
JOINABLE = "(state IN ('pending', 'done') OR (state = 'running' AND current = 1))"


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
        result = await self.database.run(lambda c, now: _enqueue(c, now, request))
        if result.status in ("queued", "merged"):
            self._wake()
        log.info("delivery %s", result.status, extra={"job": result.job_id})
        return result

    async def claim(self) -> Claim | None:
        claim = await self.database.run(
            lambda c, now: _claim(c, now, self.lease_seconds, self.max_attempts)
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
        return await self.database.run(lambda c, now: _heartbeat(c, now, claim, lease))

    async def resolve(
        self, claim: Claim, job: PullRequestJob, updated_at: str | None
    ) -> bool:
        return await self.database.run(
            lambda c, now: _resolve(c, now, claim, job, updated_at)
        )

    async def is_current(self, claim: Claim) -> bool:
        row = await self.database.run(lambda c, now: _owned(c, claim))
        return row is not None and bool(row["current"])

    async def complete(self, claim: Claim, outcome: str) -> str:
        return await self.database.run(lambda c, now: _complete(c, now, claim, outcome))

    async def fail(self, claim: Claim, reason: str) -> Failure:
        failure = await self.database.run(lambda c, now: _fail(c, now, claim, reason, self))
        if failure.state == "retry":
            self._wake()
        return failure

    async def release(self, claim: Claim) -> None:
        await self.database.run(lambda c, now: _release(c, now, claim))
        self._wake()

    async def supersede(self, repository: str, number: int, head_sha: str) -> int:
        return await self.database.run(
            lambda c, now: _supersede(c, now, repository, number, head_sha)
        )

    async def recover(self) -> int:
        return await self.database.run(_recover)

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
        return await self.database.run(lambda c, now: _jobs(c))

    def retry_delay(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1`: doubling, capped at an hour."""
        return float(min(self.retry_seconds * 2 ** (attempt - 1), MAX_RETRY_DELAY))

    def _event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    def _wake(self) -> None:
        self._event().set()


def _enqueue(c: sqlite3.Connection, now: float, request: ReviewRequest) -> Enqueued:
    fresh = record_delivery(
        c, now, delivery_id=request.delivery_id, event=request.event,
        action=request.action, repository=request.repository, outcome="received",
    )
    if not fresh:
        return Enqueued("duplicate")

    number = request.number or _pull_for_head(c, request.repository, request.head_sha)
    if number is None:
        result = Enqueued("unknown_pull")
    elif request.job is not None:
        result = _enqueue_head(c, now, request, request.job)
    else:
        result = _enqueue_rerun(c, now, request.for_pull(number))

    c.execute(
        "UPDATE deliveries SET job_id = ?, outcome = ? WHERE id = ?",
        (result.job_id, result.status, request.delivery_id),
    )
    return result


def _enqueue_head(
    c: sqlite3.Connection, now: float, request: ReviewRequest, job: PullRequestJob
) -> Enqueued:
    if _is_stale(c, job.repository, job.number, job.head_sha, request.updated_at):
        return Enqueued("stale")
    _set_head(c, job.repository, job.number, job.head_sha, request.updated_at)
    _supersede(c, now, job.repository, job.number, job.head_sha)

    row = c.execute(
        "SELECT id FROM jobs WHERE repository = ? AND number = ? AND head_sha = ?"
        f" AND {JOINABLE} ORDER BY id DESC LIMIT 1",
        (job.repository, job.number, job.head_sha),
    ).fetchone()
    if row is not None:
        return Enqueued("merged", row["id"])
    return Enqueued("queued", _insert(c, now, request, job.number, job))


def _enqueue_rerun(c: sqlite3.Connection, now: float, request: ReviewRequest) -> Enqueued:
    # A pending job that needs no permission check reviews the newest head
    # anyway; a re-run joins it and only brings its start forward.
    row = c.execute(
        "SELECT id FROM jobs WHERE repository = ? AND number = ?"
        " AND state = 'pending' AND requested_by IS NULL ORDER BY id LIMIT 1",
        (request.repository, request.number),
    ).fetchone()
    if row is not None:
        c.execute(
            "UPDATE jobs SET not_before = MIN(not_before, ?) WHERE id = ?", (now, row["id"])
        )
        return Enqueued("merged", row["id"])

    assert request.number is not None
    return Enqueued("queued", _insert(c, now, request, request.number, None))


def _insert(
    c: sqlite3.Connection,
    now: float,
    request: ReviewRequest,
    number: int,
    job: PullRequestJob | None,
) -> int:
    cursor = c.execute(
        "INSERT INTO jobs (delivery_id, repository, number, head_sha, trigger,"
        " requested_by, request, job, state, not_before, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        (
            request.delivery_id, request.repository, number,
            job.head_sha if job else None, request.trigger, request.requested_by,
            request.to_json(), _job_json(job), now, now, now,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _job_json(job: PullRequestJob | None) -> str | None:
    return json.dumps(job.to_dict(), sort_keys=True) if job else None


def _pull_for_head(c: sqlite3.Connection, repository: str, head_sha: str | None) -> int | None:
    if head_sha is None:
        return None
    row = c.execute(
        "SELECT number FROM jobs WHERE repository = ? AND head_sha = ?"
        " ORDER BY id DESC LIMIT 1",
        (repository, head_sha),
    ).fetchone()
    return None if row is None else int(row["number"])


def _is_stale(
    c: sqlite3.Connection, repository: str, number: int, head_sha: str, updated_at: str | None
) -> bool:
    # GitHub does not promise delivery order: an older head that arrives late
    # must not supersede the newer one. Its `updated_at` tells them apart.
    row = c.execute(
        "SELECT head_sha, updated_at FROM heads WHERE repository = ? AND number = ?",
        (repository, number),
    ).fetchone()
    if row is None or row["head_sha"] == head_sha:
        return False
    if updated_at is None or row["updated_at"] is None:
        return False
    return bool(updated_at < row["updated_at"])


def _set_head(
    c: sqlite3.Connection, repository: str, number: int, head_sha: str, updated_at: str | None
) -> None:
    c.execute(
        "INSERT INTO heads (repository, number, head_sha, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (repository, number) DO UPDATE SET head_sha = excluded.head_sha,"
        " updated_at = COALESCE(excluded.updated_at, heads.updated_at)",
        (repository, number, head_sha, updated_at),
    )


def _supersede(
    c: sqlite3.Connection, now: float, repository: str, number: int, head_sha: str
) -> int:
    cancelled = c.execute(
        "UPDATE jobs SET state = 'superseded', outcome = ?, updated_at = ?"
        " WHERE repository = ? AND number = ? AND state = 'pending'"
        " AND head_sha IS NOT NULL AND head_sha != ?",
        (f"superseded by {head_sha}", now, repository, number, head_sha),
    ).rowcount
    flagged = c.execute(
        "UPDATE jobs SET current = 0, updated_at = ?"
        " WHERE repository = ? AND number = ? AND state = 'running' AND current = 1"
        " AND head_sha IS NOT NULL AND head_sha != ?",
        (now, repository, number, head_sha),
    ).rowcount
    return int(cancelled + flagged)


def _recover(c: sqlite3.Connection, now: float) -> int:
    c.execute(
        "UPDATE jobs SET state = 'superseded', outcome = 'superseded while its worker"
        " was gone', lease_token = NULL, lease_until = NULL, updated_at = ?"
        " WHERE state = 'running' AND lease_until < ? AND current = 0",
        (now, now),
    )
    rows = c.execute(
        "UPDATE jobs SET state = 'pending', lease_token = NULL, lease_until = NULL,"
        " error = 'lease expired: the worker stopped mid-review', not_before = ?,"
        " updated_at = ? WHERE state = 'running' AND lease_until < ?"
        " RETURNING id, repository, number, delivery_id, attempts",
        (now, now, now),
    ).fetchall()
    for row in rows:
        log.warning(
            "lease expired, job queued again",
            extra={"job": row["id"], "repository": row["repository"],
                   "delivery": row["delivery_id"], "attempt": row["attempts"]},
        )
    return len(rows)


def _claim(
    c: sqlite3.Connection, now: float, lease: float, max_attempts: int
) -> Claim | None:
    _recover(c, now)
    row = c.execute(
        "SELECT * FROM jobs WHERE state = 'pending' AND not_before <= ?"
        " ORDER BY not_before, id LIMIT 1",
        (now,),
    ).fetchone()
    if row is None:
        return None

    token = uuid.uuid4().hex
    attempt = row["attempts"] + 1
    c.execute(
        "UPDATE jobs SET state = 'running', attempts = ?, lease_token = ?,"
        " lease_until = ?, updated_at = ? WHERE id = ?",
        (attempt, token, now + lease, now, row["id"]),
    )
    return Claim(
        id=row["id"],
        token=token,
        request=ReviewRequest.from_json(row["request"]),
        job=PullRequestJob.from_dict(json.loads(row["job"])) if row["job"] else None,
        attempt=attempt,
        exhausted=attempt > max_attempts,
        last_error=row["error"],
    )


def _owned(c: sqlite3.Connection, claim: Claim) -> sqlite3.Row | None:
    row: sqlite3.Row | None = c.execute(
        "SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'",
        (claim.id, claim.token),
    ).fetchone()
    return row


def _heartbeat(c: sqlite3.Connection, now: float, claim: Claim, lease: float) -> bool:
    cursor = c.execute(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_token = ?"
        " AND state = 'running'",
        (now + lease, claim.id, claim.token),
    )
    return cursor.rowcount == 1


def _resolve(
    c: sqlite3.Connection,
    now: float,
    claim: Claim,
    job: PullRequestJob,
    updated_at: str | None,
) -> bool:
    if _owned(c, claim) is None:
        return False

    c.execute(
        "UPDATE jobs SET head_sha = ?, job = ?, updated_at = ? WHERE id = ?",
        (job.head_sha, _job_json(job), now, claim.id),
    )
    if _is_stale(c, job.repository, job.number, job.head_sha, updated_at):
        c.execute("UPDATE jobs SET current = 0 WHERE id = ?", (claim.id,))
        return False

    _set_head(c, job.repository, job.number, job.head_sha, updated_at)
    _supersede(c, now, job.repository, job.number, job.head_sha)
    row = _owned(c, claim)
    return row is not None and bool(row["current"])


def _finish(
    c: sqlite3.Connection, now: float, claim: Claim, state: str, **fields: object
) -> None:
    assigned = "".join(f", {name} = ?" for name in fields)
    c.execute(
        "UPDATE jobs SET state = ?, lease_token = NULL, lease_until = NULL,"
        f" updated_at = ?{assigned} WHERE id = ?",
        (state, now, *fields.values(), claim.id),
    )


def _complete(c: sqlite3.Connection, now: float, claim: Claim, outcome: str) -> str:
    row = _owned(c, claim)
    if row is None:
        return "lost"

    state = "done" if row["current"] else "superseded"
    _finish(c, now, claim, state, outcome=outcome)
    return state


def _fail(
    c: sqlite3.Connection, now: float, claim: Claim, reason: str, queue: SQLiteQueue
) -> Failure:
    row = _owned(c, claim)
    if row is None:
        return Failure("lost")

    if not row["current"]:
        _finish(c, now, claim, "superseded", error=reason)
        return Failure("superseded")
    if row["attempts"] >= queue.max_attempts:
        _finish(c, now, claim, "failed", error=reason)
        return Failure("failed")

    retry_at = now + queue.retry_delay(row["attempts"])
    _finish(c, now, claim, "pending", error=reason, not_before=retry_at)
    return Failure("retry", retry_at)


def _release(c: sqlite3.Connection, now: float, claim: Claim) -> None:
    row = _owned(c, claim)
    if row is None:
        return

    if row["current"]:
        _finish(c, now, claim, "pending", attempts=row["attempts"] - 1)
    else:
        _finish(c, now, claim, "superseded", outcome="superseded before it finished")


def _jobs(c: sqlite3.Connection) -> list[JobRecord]:
    rows = c.execute(
        "SELECT id, delivery_id, repository, number, head_sha, trigger, state, current,"
        " attempts, outcome, error FROM jobs ORDER BY id"
    ).fetchall()
    return [
        JobRecord(**{**dict(row), "current": bool(row["current"])}) for row in rows
    ]

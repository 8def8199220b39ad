"""The review queue's statements on SQLite, each run inside one transaction.

`SQLiteQueue` (bot/server/queue.py) calls these on the database thread;
each takes the connection and the transaction's clock reading.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Callable

from bot.jobs import PullRequestJob
from bot.server.db import record_delivery
from bot.server.records import Claim, Enqueued, Failure, JobRecord, ReviewRequest

log = logging.getLogger(__name__)

# A job in one of these states already stands for its head: join it.
JOINABLE = "(state IN ('pending', 'done') OR (state = 'running' AND current = 1))"


def enqueue(c: sqlite3.Connection, now: float, request: ReviewRequest) -> Enqueued:
    """Record the delivery, then queue a job, join one, or drop a stale head."""
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
    supersede(c, now, job.repository, job.number, job.head_sha)

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


def supersede(
    c: sqlite3.Connection, now: float, repository: str, number: int, head_sha: str
) -> int:
    """Cancel pending jobs at other heads; flag running ones as outdated."""
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


def recover(c: sqlite3.Connection, now: float) -> int:
    """Queue again the jobs whose lease ran out; outdated ones end superseded."""
    # TODO: take back at start-up, without waiting for the lease, the jobs of
    # this host's processes that are gone.
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


def claim_next(
    c: sqlite3.Connection, now: float, lease: float, max_attempts: int
) -> Claim | None:
    """Lease the oldest ready job, after taking back leases that ran out."""
    recover(c, now)
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


def owned(c: sqlite3.Connection, claim: Claim) -> sqlite3.Row | None:
    """The job's row while `claim` still holds its lease."""
    row: sqlite3.Row | None = c.execute(
        "SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'",
        (claim.id, claim.token),
    ).fetchone()
    return row


def heartbeat(c: sqlite3.Connection, now: float, claim: Claim, lease: float) -> bool:
    """Extend the lease; False when another worker holds it now."""
    cursor = c.execute(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_token = ?"
        " AND state = 'running'",
        (now + lease, claim.id, claim.token),
    )
    return cursor.rowcount == 1


def resolve(
    c: sqlite3.Connection,
    now: float,
    claim: Claim,
    job: PullRequestJob,
    updated_at: str | None,
) -> bool:
    """Set a re-run's head; False when a newer head is known already."""
    if owned(c, claim) is None:
        return False

    c.execute(
        "UPDATE jobs SET head_sha = ?, job = ?, updated_at = ? WHERE id = ?",
        (job.head_sha, _job_json(job), now, claim.id),
    )
    if _is_stale(c, job.repository, job.number, job.head_sha, updated_at):
        c.execute("UPDATE jobs SET current = 0 WHERE id = ?", (claim.id,))
        return False

    _set_head(c, job.repository, job.number, job.head_sha, updated_at)
    supersede(c, now, job.repository, job.number, job.head_sha)
    row = owned(c, claim)
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


def complete(c: sqlite3.Connection, now: float, claim: Claim, outcome: str) -> str:
    """Finish the job: done, or superseded when a newer head arrived meanwhile."""
    row = owned(c, claim)
    if row is None:
        return "lost"

    state = "done" if row["current"] else "superseded"
    _finish(c, now, claim, state, outcome=outcome)
    return state


def fail(
    c: sqlite3.Connection,
    now: float,
    claim: Claim,
    reason: str,
    max_attempts: int,
    retry_delay: Callable[[int], float],
) -> Failure:
    """Schedule a retry, or record the job failed after its last attempt."""
    row = owned(c, claim)
    if row is None:
        return Failure("lost")

    if not row["current"]:
        _finish(c, now, claim, "superseded", error=reason)
        return Failure("superseded")
    if row["attempts"] >= max_attempts:
        _finish(c, now, claim, "failed", error=reason)
        return Failure("failed")

    retry_at = now + retry_delay(row["attempts"])
    _finish(c, now, claim, "pending", error=reason, not_before=retry_at)
    return Failure("retry", retry_at)


def release(c: sqlite3.Connection, now: float, claim: Claim) -> None:
    """Put the job back as if this attempt never started."""
    row = owned(c, claim)
    if row is None:
        return

    if row["current"]:
        _finish(c, now, claim, "pending", attempts=row["attempts"] - 1)
    else:
        _finish(c, now, claim, "superseded", outcome="superseded before it finished")


def jobs(c: sqlite3.Connection) -> list[JobRecord]:
    """Every job, oldest first."""
    rows = c.execute(
        "SELECT id, delivery_id, repository, number, head_sha, trigger, state, current,"
        " attempts, outcome, error FROM jobs ORDER BY id"
    ).fetchall()
    return [
        JobRecord(**{**dict(row), "current": bool(row["current"])}) for row in rows
    ]

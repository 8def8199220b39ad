"""The SQLite review queue: dedupe, supersede, leases, retries, durability."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import PullRequestJob
from bot.server.db import Database
from bot.server.queue import SQLiteQueue
from bot.server.records import ReviewRequest

REPO = "octo/widgets"


def pull_request(
    delivery: str, head: str, *, number: int = 7, updated_at: str | None = None
) -> ReviewRequest:
    job = PullRequestJob(
        delivery_id=delivery, repository=REPO, number=number, head_sha=head,
        base_sha="b" * 40, base_ref="main", clone_url=f"https://x/{REPO}.git",
        default_branch="main", installation_id=5, trigger="pull_request.synchronize",
    )
    return ReviewRequest(
        delivery_id=delivery, repository=REPO, number=number,
        trigger=job.trigger, installation_id=5, clone_url=job.clone_url,
        default_branch="main", job=job, updated_at=updated_at,
    )


def rerun(
    delivery: str, *, number: int | None = 7, head: str | None = None,
    requested_by: str | None = "alice",
) -> ReviewRequest:
    return ReviewRequest(
        delivery_id=delivery, repository=REPO, number=number,
        trigger="issue_comment.created", installation_id=5,
        clone_url=f"https://x/{REPO}.git", default_branch="main",
        head_sha=head, requested_by=requested_by,
    )


def resolved(head: str, number: int = 7) -> PullRequestJob:
    request = pull_request("resolved", head, number=number)
    assert request.job is not None
    return request.job


async def open_queue(path: Path, **policy: float) -> SQLiteQueue:
    database = Database(path)
    await database.open()
    return SQLiteQueue(database, **policy)  # type: ignore[arg-type]


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[SQLiteQueue]:
    queue = await open_queue(
        tmp_path / "queue.sqlite3", lease_seconds=0.3, max_attempts=3, retry_seconds=0.2
    )
    yield queue
    await queue.database.close()


async def states(queue: SQLiteQueue) -> list[tuple[str | None, str]]:
    return [(job.head_sha, job.state) for job in await queue.jobs()]


async def test_redelivery_is_acknowledged_once(queue: SQLiteQueue) -> None:
    first = await queue.enqueue(pull_request("d1", "a" * 40))
    again = await queue.enqueue(pull_request("d1", "a" * 40))

    assert first.status == "queued"
    assert again.status == "duplicate"
    assert len(await queue.jobs()) == 1


async def test_deliveries_for_one_head_join_one_job(queue: SQLiteQueue) -> None:
    results = [await queue.enqueue(pull_request(f"d{i}", "a" * 40)) for i in range(5)]

    assert [r.status for r in results] == ["queued"] + ["merged"] * 4
    assert {r.job_id for r in results} == {results[0].job_id}


async def test_same_head_after_review_joins_the_done_job(queue: SQLiteQueue) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    claim = await queue.claim()
    assert claim is not None
    assert await queue.complete(claim, "review posted") == "done"

    again = await queue.enqueue(pull_request("d2", "a" * 40))

    assert again.status == "merged"
    assert await queue.claim() is None


async def test_new_head_cancels_pending_job(queue: SQLiteQueue) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    await queue.enqueue(pull_request("d2", "c" * 40))

    assert await states(queue) == [("a" * 40, "superseded"), ("c" * 40, "pending")]
    claim = await queue.claim()
    assert claim is not None and claim.job is not None
    assert claim.job.head_sha == "c" * 40


async def test_new_head_tells_running_job_it_is_outdated(queue: SQLiteQueue) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    old = await queue.claim()
    assert old is not None
    assert await queue.is_current(old)

    await queue.enqueue(pull_request("d2", "c" * 40))

    assert not await queue.is_current(old)
    assert await queue.complete(old, "review posted") == "superseded"
    assert await states(queue) == [("a" * 40, "superseded"), ("c" * 40, "pending")]


async def test_late_delivery_of_older_head_is_stale(queue: SQLiteQueue) -> None:
    newer = pull_request("d2", "c" * 40, updated_at="2026-01-02T10:00:00Z")
    older = pull_request("d1", "a" * 40, updated_at="2026-01-02T09:59:00Z")

    await queue.enqueue(newer)
    result = await queue.enqueue(older)

    assert result.status == "stale"
    assert await states(queue) == [("c" * 40, "pending")]


async def test_expired_lease_is_claimed_again(queue: SQLiteQueue) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    first = await queue.claim()
    assert first is not None
    assert await queue.claim() is None

    await asyncio.sleep(0.4)
    second = await queue.claim()

    assert second is not None and second.id == first.id
    assert second.attempt == 2
    assert second.last_error is not None and "lease expired" in second.last_error
    assert not await queue.heartbeat(first)
    assert not await queue.is_current(first)
    assert await queue.complete(first, "late") == "lost"
    assert await queue.complete(second, "review posted") == "done"


async def test_heartbeat_keeps_the_lease(queue: SQLiteQueue) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    claim = await queue.claim()
    assert claim is not None

    for _ in range(6):
        await asyncio.sleep(0.1)
        assert await queue.heartbeat(claim)

    assert await queue.claim() is None
    assert await queue.is_current(claim)


async def test_failures_retry_with_doubling_backoff_then_fail(
    queue: SQLiteQueue,
) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    delays = []

    for attempt in (1, 2):
        claim = await queue.claim()
        assert claim is not None and claim.attempt == attempt
        before = time.time()
        failure = await queue.fail(claim, f"clone failed {attempt}")
        assert failure.state == "retry" and failure.retry_at is not None
        delays.append(failure.retry_at - before)
        assert await queue.claim() is None
        await asyncio.sleep(failure.retry_at - time.time() + 0.05)

    last = await queue.claim()
    assert last is not None and last.attempt == 3
    assert (await queue.fail(last, "clone failed 3")).state == "failed"

    assert delays[0] == pytest.approx(0.2, abs=0.05)
    assert delays[1] == pytest.approx(0.4, abs=0.05)
    [record] = await queue.jobs()
    assert (record.state, record.error, record.attempts) == ("failed", "clone failed 3", 3)


async def test_job_that_keeps_killing_its_worker_is_exhausted(tmp_path: Path) -> None:
    queue = await open_queue(tmp_path / "q.sqlite3", lease_seconds=0.1, max_attempts=2)
    await queue.enqueue(pull_request("d1", "a" * 40))

    claims = []
    for _ in range(3):
        claim = await queue.claim()
        assert claim is not None
        claims.append(claim)
        await asyncio.sleep(0.15)

    assert [c.exhausted for c in claims] == [False, False, True]
    assert (await queue.fail(claims[-1], "stopped twice")).state == "failed"
    await queue.database.close()


async def test_release_does_not_spend_an_attempt(queue: SQLiteQueue) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    claim = await queue.claim()
    assert claim is not None

    await queue.release(claim)
    again = await queue.claim()

    assert again is not None and again.attempt == 1


async def test_rerun_joins_pending_review_but_not_a_finished_one(
    queue: SQLiteQueue,
) -> None:
    opened = await queue.enqueue(pull_request("d1", "a" * 40))
    joined = await queue.enqueue(rerun("d2", requested_by=None))
    claim = await queue.claim()
    assert claim is not None
    await queue.complete(claim, "review posted")

    fresh = await queue.enqueue(rerun("d3"))

    assert joined.job_id == opened.job_id
    assert fresh.status == "queued" and fresh.job_id != opened.job_id
    assert await states(queue) == [("a" * 40, "done"), (None, "pending")]


async def test_resolved_rerun_supersedes_older_heads(queue: SQLiteQueue) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40))
    first = await queue.claim()
    await queue.enqueue(rerun("d2"))
    second = await queue.claim()
    assert first is not None and second is not None and second.job is None

    assert await queue.resolve(second, resolved("c" * 40), "2026-01-02T10:00:00Z")

    assert not await queue.is_current(first)
    assert await queue.is_current(second)


async def test_check_run_rerun_finds_its_pull_request_by_head(
    queue: SQLiteQueue,
) -> None:
    await queue.enqueue(pull_request("d1", "a" * 40, number=12))
    claim = await queue.claim()
    assert claim is not None
    await queue.complete(claim, "review posted")

    found = await queue.enqueue(rerun("d2", number=None, head="a" * 40, requested_by=None))
    unknown = await queue.enqueue(rerun("d3", number=None, head="f" * 40, requested_by=None))

    assert found.status == "queued"
    assert [j.number for j in await queue.jobs()] == [12, 12]
    assert unknown.status == "unknown_pull"


async def test_queue_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    first = await open_queue(path, lease_seconds=0.1)
    await first.enqueue(pull_request("d1", "a" * 40))
    assert await first.claim() is not None
    # The process stops without completing, releasing or closing cleanly.
    first.database._inbox.put(None)

    await asyncio.sleep(0.15)
    second = await open_queue(path, lease_seconds=0.1)
    claim = await second.claim()
    duplicate = await second.enqueue(pull_request("d1", "a" * 40))

    assert claim is not None and claim.attempt == 2
    assert duplicate.status == "duplicate"
    await second.database.close()


async def test_work_queued_during_a_commit_shares_the_next_one(tmp_path: Path) -> None:
    database = Database(tmp_path / "db.sqlite3")
    await database.open()

    def insert(name: str, fail: bool = False) -> Any:
        def work(c: sqlite3.Connection, now: float) -> float:
            c.execute("INSERT INTO installations (id, account, updated_at) VALUES (NULL, ?, ?)",
                      (name, now))
            if fail:
                raise ValueError(f"{name} refused")
            return now

        return work

    def slow(c: sqlite3.Connection, now: float) -> None:
        time.sleep(0.2)

    busy = asyncio.ensure_future(database.run(slow))
    await asyncio.sleep(0.05)
    results = await asyncio.gather(
        *(database.run(insert(f"n{i}", fail=i == 3)) for i in range(6)),
        return_exceptions=True,
    )
    await busy
    rows = await database.run(
        lambda c, now: [r["account"] for r in c.execute("SELECT account FROM installations")]
    )
    await database.close()

    assert isinstance(results[3], ValueError)
    committed = [r for i, r in enumerate(results) if i != 3]
    assert len(set(committed)) == 1  # one transaction, one timestamp
    assert sorted(rows) == ["n0", "n1", "n2", "n4", "n5"]

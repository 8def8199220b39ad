"""The server's SQLite file: deliveries, jobs, pull-request heads, installations.

All statements run on one thread that owns the connection, so the event
loop never waits on a lock or an fsync. Transactions are short and begin
with BEGIN IMMEDIATE, so two processes sharing the file serialise their
writes instead of failing half-way.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
# Pieces of work committed together at most; bounds one transaction's length.
MAX_BATCH = 64

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    action TEXT,
    repository TEXT,
    received_at REAL NOT NULL,
    job_id INTEGER,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    repository TEXT NOT NULL,
    number INTEGER NOT NULL,
    head_sha TEXT,
    trigger TEXT NOT NULL,
    requested_by TEXT,
    request TEXT NOT NULL,
    job TEXT,
    state TEXT NOT NULL,
    current INTEGER NOT NULL DEFAULT 1,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL,
    lease_token TEXT,
    lease_until REAL,
    outcome TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (state, not_before);
CREATE INDEX IF NOT EXISTS jobs_pull ON jobs (repository, number, state);
CREATE INDEX IF NOT EXISTS jobs_head ON jobs (repository, head_sha);
CREATE TABLE IF NOT EXISTS heads (
    repository TEXT NOT NULL,
    number INTEGER NOT NULL,
    head_sha TEXT NOT NULL,
    updated_at TEXT,
    PRIMARY KEY (repository, number)
);
CREATE TABLE IF NOT EXISTS installations (
    id INTEGER PRIMARY KEY,
    account TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS installation_repositories (
    installation_id INTEGER NOT NULL,
    repository TEXT NOT NULL,
    PRIMARY KEY (installation_id, repository)
);
"""


@dataclass
class _Work:
    fn: Callable[..., Any]
    future: asyncio.Future[Any]
    context: contextvars.Context
    transaction: bool = True


class Database:
    """One SQLite file reached through one dedicated thread.

    Work that queues up while a commit is under way is committed together in
    the next transaction (each piece in its own savepoint), so a burst of
    deliveries waits for one fsync instead of one each.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inbox: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Start the thread; create the file and its tables if needed."""
        self._thread = threading.Thread(target=self._serve, name="sqlite", daemon=True)
        self._thread.start()
        await self._submit(self._open, transaction=False)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._thread is None:
            return
        if self._connection is not None:
            await self._submit(self._close, transaction=False)
        self._inbox.put(None)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    async def run(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        """Run `work(connection, now)` in a transaction on the database thread."""
        result: T = await self._submit(work)
        return result

    async def _submit(self, fn: Callable[..., Any], *, transaction: bool = True) -> Any:
        if self._thread is None:
            raise sqlite3.ProgrammingError("database is not open")
        future = asyncio.get_running_loop().create_future()
        # The copied context keeps delivery fields on lines logged by the thread.
        self._inbox.put(_Work(fn, future, contextvars.copy_context(), transaction))
        return await future

    def _serve(self) -> None:
        while (first := self._inbox.get()) is not None:
            batch = [first]
            while len(batch) < MAX_BATCH and first.transaction:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None or not item.transaction:
                    self._inbox.put(item)  # handled after this batch
                    break
                batch.append(item)
            if first.transaction:
                self._commit(batch)
            else:
                _settle(first, *_call(first))
        log.debug("database thread stopped")

    def _commit(self, batch: list[_Work]) -> None:
        connection = self._connection
        if connection is None:
            closed = sqlite3.ProgrammingError("database is not open")
            for work in batch:
                _settle(work, None, closed)
            return

        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            now = time.time()
            for work in batch:
                outcomes.append(_savepoint(connection, work, now))
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            outcomes = [(None, exc)] * len(batch)
        for work, (result, error) in zip(batch, outcomes):
            _settle(work, result, error)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        # FULL: a 202 promises the delivery survives a power cut, not only a crash.
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=5000")
        connection.executescript(SCHEMA)
        self._connection = connection
        log.info("database open at %s", self.path)

    def _close(self) -> None:
        assert self._connection is not None
        self._connection.close()
        self._connection = None


def _savepoint(
    connection: sqlite3.Connection, work: _Work, now: float
) -> tuple[Any, BaseException | None]:
    """Run one piece of work; its failure undoes only its own statements."""
    connection.execute("SAVEPOINT work")
    try:
        result = work.context.run(work.fn, connection, now)
    except Exception as exc:
        connection.execute("ROLLBACK TO work")
        connection.execute("RELEASE work")
        return None, exc
    connection.execute("RELEASE work")
    return result, None


def _call(work: _Work) -> tuple[Any, BaseException | None]:
    try:
        return work.context.run(work.fn), None
    except Exception as exc:
        return None, exc


def _settle(work: _Work, result: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if work.future.cancelled():
            return
        if error is not None:
            work.future.set_exception(error)
        else:
            work.future.set_result(result)

    try:
        work.future.get_loop().call_soon_threadsafe(settle)
    except RuntimeError:
        pass  # the loop is closed: nobody waits for this answer any more


def record_delivery(
    connection: sqlite3.Connection,
    now: float,
    *,
    delivery_id: str,
    event: str,
    action: str | None,
    repository: str | None,
    outcome: str,
) -> bool:
    """Record a delivery; False when its id was seen before (a redelivery)."""
    cursor = connection.execute(
        "INSERT OR IGNORE INTO deliveries"
        " (id, event, action, repository, received_at, outcome)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (delivery_id, event, action, repository, now, outcome),
    )
    return cursor.rowcount == 1

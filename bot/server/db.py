"""The server's SQLite file: deliveries, jobs, pull-request heads, installations.

All statements run on one thread that owns the connection, so the event
loop never waits on a lock or an fsync. Every call is one short
transaction begun with BEGIN IMMEDIATE, so two processes sharing the file
serialise their writes instead of failing half-way.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

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


class Database:
    """One SQLite file reached through one dedicated thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the file and its tables if needed."""
        await self._submit(self._open)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._connection is not None:
            await self._submit(self._close)
        self._executor.shutdown(wait=True)

    async def run(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        """Run `work(connection, now)` in one transaction on the database thread."""
        return await self._submit(self._transaction, work)

    async def _submit(self, fn: Callable[..., T], *args: object) -> T:
        # Copy the context so log lines from the thread keep delivery fields.
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

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

    def _transaction(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        connection = self._connection
        if connection is None:
            raise sqlite3.ProgrammingError("database is not open")

        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection, time.time())
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result


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

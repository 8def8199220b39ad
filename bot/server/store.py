"""Installations of the App and the repositories each one covers."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from bot.server.db import Database, record_delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallationChange:
    """What one installation or installation_repositories delivery changes."""

    delivery_id: str
    trigger: str
    installation_id: int
    account: str | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    deleted: bool = False


class InstallationStore:
    """Keeps installations current from their deliveries, in the server's SQLite file."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def apply(self, change: InstallationChange) -> bool:
        """Apply a change once; False when its delivery was seen before."""
        return await self.database.run(lambda c, now: _apply(c, now, change))

    async def ping(self) -> None:
        """Raise when the store cannot be reached."""
        await self.database.run(
            lambda c, now: c.execute("SELECT 1 FROM installations LIMIT 1").fetchall()
        )

    async def repositories(self, installation_id: int) -> list[str]:
        rows = await self.database.run(
            lambda c, now: c.execute(
                "SELECT repository FROM installation_repositories"
                " WHERE installation_id = ? ORDER BY repository",
                (installation_id,),
            ).fetchall()
        )
        return [row["repository"] for row in rows]

    async def installations(self) -> dict[int, str | None]:
        rows = await self.database.run(
            lambda c, now: c.execute("SELECT id, account FROM installations").fetchall()
        )
        return {row["id"]: row["account"] for row in rows}

    async def installation_for(self, repository: str) -> int | None:
        """The installation that covers `repository`, when one is known."""
        row = await self.database.run(
            lambda c, now: c.execute(
                "SELECT installation_id FROM installation_repositories"
                " WHERE repository = ? LIMIT 1",
                (repository,),
            ).fetchone()
        )
        return None if row is None else int(row["installation_id"])


def _apply(c: sqlite3.Connection, now: float, change: InstallationChange) -> bool:
    event, _, action = change.trigger.partition(".")
    fresh = record_delivery(
        c, now, delivery_id=change.delivery_id, event=event, action=action or None,
        repository=None, outcome="applied",
    )
    if not fresh:
        return False

    if change.deleted:
        c.execute("DELETE FROM installations WHERE id = ?", (change.installation_id,))
        c.execute(
            "DELETE FROM installation_repositories WHERE installation_id = ?",
            (change.installation_id,),
        )
        return True

    c.execute(
        "INSERT INTO installations (id, account, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET"
        " account = COALESCE(excluded.account, installations.account),"
        " updated_at = excluded.updated_at",
        (change.installation_id, change.account, now),
    )
    c.executemany(
        "INSERT OR IGNORE INTO installation_repositories VALUES (?, ?)",
        [(change.installation_id, name) for name in change.added],
    )
    c.executemany(
        "DELETE FROM installation_repositories WHERE installation_id = ? AND repository = ?",
        [(change.installation_id, name) for name in change.removed],
    )
    return True

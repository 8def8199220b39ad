"""One verified delivery as the routers see it, and the answer it gets."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.server.queue import JobQueue
from bot.server.records import Enqueued, ReviewRequest
from bot.server.store import InstallationChange, InstallationStore

log = logging.getLogger(__name__)

ANSWERS = {
    "queued": (202, "queued as job {job}"),
    "merged": (202, "joined job {job}"),
    "duplicate": (200, "duplicate delivery: already received"),
    "stale": (200, "ignored: an older head than the newest one known"),
    "unknown_pull": (200, "ignored: no pull request known for this head"),
}


@dataclass
class Delivery:
    """A verified delivery: its id, where routers record work, and the reply."""

    id: str
    event: str
    action: str | None
    settings: Settings
    queue: JobQueue
    store: InstallationStore
    status: int = 200
    message: str = ""

    def answer(self, status: int, message: str) -> None:
        self.status, self.message = status, message

    def ignore(self, reason: str) -> None:
        """Acknowledge without doing anything, saying why."""
        log.info("delivery ignored: %s", reason)
        self.answer(200, f"ignored: {reason}")

    async def enqueue(self, request: ReviewRequest) -> Enqueued:
        result = await self.queue.enqueue(request)
        status, text = ANSWERS[result.status]
        self.answer(status, text.format(job=result.job_id))
        return result

    async def apply(self, change: InstallationChange) -> None:
        if await self.store.apply(change):
            log.info("installation updated", extra={"action": self.action})
            self.answer(200, f"installation {change.installation_id} updated")
        else:
            self.answer(*ANSWERS["duplicate"])

"""Workers: claim a job, run the review pipeline on it, record what happened."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Settings
from bot.jobs import PullRequestJob
from bot.server.events import WRITE_ROLES, job_from_pull
from bot.server.logs import bind, log_context
from bot.server.queue import JobQueue
from bot.server.records import Claim
from bot.server.store import InstallationStore

if TYPE_CHECKING:
    from bot.engine import ReviewEngine
    from bot.github.client import GitHubApp

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
REASON_LIMIT = 2000


class Review(Protocol):
    async def __call__(
        self, job: PullRequestJob, *, app: GitHubApp, settings: Settings,
        engine: ReviewEngine, is_current: Callable[[], Awaitable[bool]],
    ) -> str: ...


class ReportFailure(Protocol):
    async def __call__(self, job: PullRequestJob, *, app: GitHubApp, reason: str) -> None: ...


@dataclass(frozen=True)
class Pipeline:
    """What a worker runs: the review, and the report when a job gives up."""

    review: Review
    report_failure: ReportFailure

    @classmethod
    def default(cls) -> Pipeline:
        from bot.github.pipeline import report_failure, review_pull_request

        return cls(review_pull_request, report_failure)


class EngineLoader:
    """Loads the review engine on a thread, so the server answers meanwhile."""

    def __init__(self, load: Callable[[], ReviewEngine]) -> None:
        self._load = load
        self._task: asyncio.Task[ReviewEngine] | None = None
        self.error: str | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="load-engine")

    @property
    def ready(self) -> bool:
        return self._task is not None and self._task.done() and self.error is None

    async def get(self) -> ReviewEngine:
        """The engine, once loaded; raises RuntimeError when loading failed."""
        assert self._task is not None, "start() first"
        engine = await asyncio.shield(self._task)
        return engine

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _run(self) -> ReviewEngine:
        started = time.perf_counter()
        try:
            engine = await asyncio.to_thread(self._load)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("review engine failed to load: %s", self.error)
            raise RuntimeError(self.error) from exc
        log.info("review engine loaded in %.1fs", time.perf_counter() - started)
        return engine


def describe(exc: BaseException) -> str:
    """A failure reason short enough for a check run and a log line."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


class Worker:
    """One worker task: claims jobs one at a time until cancelled."""

    def __init__(
        self,
        name: str,
        *,
        queue: JobQueue,
        store: InstallationStore,
        github: GitHubApp,
        settings: Settings,
        engine: EngineLoader,
        pipeline: Pipeline,
    ) -> None:
        self.name = name
        self.queue = queue
        self.store = store
        self.github = github
        self.settings = settings
        self.engine = engine
        self.pipeline = pipeline

    async def run(self) -> None:
        """Claim and process jobs until cancelled."""
        engine = await self.engine.get()
        log.info("worker %s started", self.name)
        while True:
            try:
                claim = await self.queue.claim()
            except Exception:
                log.exception("worker %s could not claim a job", self.name)
                claim = None
            if claim is None:
                await self.queue.wait(POLL_SECONDS)
                continue
            await self.process(claim, engine)

    async def process(self, claim: Claim, engine: ReviewEngine) -> None:
        """Run one claimed job with a heartbeat holding its lease."""
        request = claim.request
        with log_context(
            delivery=request.delivery_id, repository=request.repository,
            job=claim.id, pull=request.number, attempt=claim.attempt,
        ):
            heartbeat = asyncio.create_task(self._heartbeat(claim))
            try:
                await self._attempt(claim, engine)
            except asyncio.CancelledError:
                # Shutting down: hand the job back so the next start runs it.
                await asyncio.shield(self.queue.release(claim))
                log.info("job handed back at shutdown")
                raise
            except Exception:
                log.exception("job could not be recorded")
            finally:
                heartbeat.cancel()

    async def _attempt(self, claim: Claim, engine: ReviewEngine) -> None:
        if claim.exhausted:
            reason = claim.last_error or "no attempt finished"
            await self._failed(claim, claim.job, f"gave up after {claim.attempt - 1} "
                               f"attempts; last: {reason}")
            return

        job = claim.job
        try:
            job = job or await self._resolve(claim)
            if job is None:
                return
            bind(head=job.head_sha[:12])
            outcome = await self.pipeline.review(
                job, app=self.github, settings=self.settings, engine=engine,
                is_current=lambda: self.queue.is_current(claim),
            )
        except Exception as exc:
            log.warning("review attempt failed: %s", describe(exc), exc_info=exc)
            await self._failed(claim, job, describe(exc))
            return

        state = await self.queue.complete(claim, outcome)
        log.info("job %s: %s", state, outcome, extra={"outcome": state})

    async def _resolve(self, claim: Claim) -> PullRequestJob | None:
        """Find the head a re-run reviews; None when the job ends here."""
        request = claim.request
        assert request.number is not None
        installation = request.installation_id
        if installation is None and self.settings.app_id is not None:
            installation = await self.store.installation_for(request.repository)
        client = await self.github.client(installation)

        if request.requested_by is not None:
            role = await client.permission(request.repository, request.requested_by)
            if role not in WRITE_ROLES:
                await self._skip(claim, f"{request.requested_by} has {role} access; "
                                 "a re-run needs write access")
                return None

        pull = await client.get_pull(request.repository, request.number)
        if pull.get("state") != "open":
            await self._skip(claim, "pull request is not open")
            return None
        job = job_from_pull(
            pull, delivery_id=request.delivery_id, installation=installation,
            trigger=request.trigger,
        )
        if not await self.queue.resolve(claim, job, pull.get("updated_at")):
            await self._skip(claim, f"head {job.head_sha[:12]} is no longer the newest")
            return None
        return job

    async def _skip(self, claim: Claim, reason: str) -> None:
        state = await self.queue.complete(claim, f"skipped: {reason}")
        log.info("job %s without a review: %s", state, reason, extra={"outcome": state})

    async def _failed(self, claim: Claim, job: PullRequestJob | None, reason: str) -> None:
        last = claim.attempt >= self.queue.max_attempts
        if last and await self.queue.is_current(claim):
            # Report before recording: a crash in between runs the job (and
            # this report) again instead of leaving the check run in progress.
            await self._report(job, reason)

        failure = await self.queue.fail(claim, reason)
        if failure.state == "retry":
            assert failure.retry_at is not None
            wait = failure.retry_at - time.time()
            log.warning("job will be retried in %.1fs: %s", wait, reason)
        elif failure.state == "failed":
            log.error("job failed for good: %s", reason, extra={"outcome": "failed"})
        else:
            log.info("failed attempt discarded (%s): %s", failure.state, reason)

    async def _report(self, job: PullRequestJob | None, reason: str) -> None:
        if job is None:
            log.error("failure not reported on GitHub: the head was never resolved")
            return
        try:
            await self.pipeline.report_failure(job, app=self.github, reason=reason)
        except Exception:
            log.exception("failure could not be reported on GitHub")

    async def _heartbeat(self, claim: Claim) -> None:
        interval = self.settings.job_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.queue.heartbeat(claim):
                    log.warning("lease lost; this attempt's result will be discarded")
                    return
            except Exception:
                log.exception("heartbeat failed")


def start_workers(count: int, **kwargs: Any) -> list[asyncio.Task[None]]:
    """Start `count` worker tasks sharing the queue, engine and GitHub client."""
    return [
        asyncio.create_task(Worker(f"worker-{n}", **kwargs).run(), name=f"worker-{n}")
        for n in range(1, count + 1)
    ]

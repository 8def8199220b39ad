"""The aiohttp application: its routes and what lives once per process.

One database, one queue, one HTTP session, one GitHub App client and one
review engine per process, made at start-up and kept in the application's
state. The model loads on a thread: /healthz answers at once, /readyz says
ready only when the model, the queue and the store are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.config import ConfigError, Settings
from bot.server.db import Database
from bot.server.keys import (
    DATABASE,
    ENGINE,
    GITHUB,
    PIPELINE,
    QUEUE,
    SESSION,
    SETTINGS,
    STORE,
    WORKERS,
)
from bot.server.queue import SQLiteQueue
from bot.server.store import InstallationStore
from bot.server.webhook import receive
from bot.server.worker import EngineLoader, Pipeline, start_workers

if TYPE_CHECKING:
    from bot.engine import ReviewEngine
    from bot.github.client import RetryPolicy

log = logging.getLogger(__name__)

# GitHub caps webhook payloads at 25 MB.
MAX_DELIVERY_BYTES = 25 * 1024 * 1024
PROBE_TIMEOUT = 2.0
GITHUB_TIMEOUT = aiohttp.ClientTimeout(total=120, connect=10)

LoadEngine = Callable[[Settings], "ReviewEngine"]


def check_settings(settings: Settings) -> None:
    """Refuse settings the server must not start with."""
    if settings.webhook_secret is None and not settings.insecure_no_signature:
        raise ConfigError(
            "no webhook secret: set BASTION_WEBHOOK_SECRET (or webhook_secret in the "
            "config file); --insecure-no-signature turns the check off for local tests"
        )
    has_app = settings.app_id is not None and settings.private_key_path is not None
    if settings.workers > 0 and not has_app and settings.github_token is None:
        raise ConfigError(
            "no GitHub credentials: set app_id and private_key_path (GitHub App) "
            "or github_token"
        )


def load_engine(settings: Settings) -> ReviewEngine:
    """The configured engine; the model is skipped when reviews do not use it."""
    from bot.engine import build_engine

    return build_engine(settings, use_model=settings.review.use_model)


def make_app(
    settings: Settings,
    *,
    pipeline: Pipeline | None = None,
    engine: LoadEngine = load_engine,
    github_retry: RetryPolicy | None = None,
) -> web.Application:
    """The server; with `settings.workers == 0` it only acknowledges deliveries.

    `pipeline`, `engine` and `github_retry` default to the real review, the
    configured model and the client's own retry policy.
    """
    check_settings(settings)
    app = web.Application(client_max_size=MAX_DELIVERY_BYTES)
    app[SETTINGS] = settings
    app.router.add_post("/webhook", receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.on_startup.append(_announce)
    app.cleanup_ctx.append(_storage)

    if settings.workers > 0:
        app[PIPELINE] = pipeline or Pipeline.default()
        app.cleanup_ctx.append(_engine(engine))
        app.cleanup_ctx.append(_github(github_retry))
        app.cleanup_ctx.append(_workers)
    return app


async def healthz(request: web.Request) -> web.Response:
    """The process is alive and its event loop answers."""
    return web.json_response({"alive": True})


async def readyz(request: web.Request) -> web.Response:
    """Ready: model loaded, queue and store reachable, workers running."""
    app = request.app
    problems = [*_worker_problems(app)]
    for name, probe in (("queue", app[QUEUE].ping), ("store", app[STORE].ping)):
        try:
            await asyncio.wait_for(probe(), PROBE_TIMEOUT)
        except Exception as exc:
            problems.append(f"{name} unreachable: {type(exc).__name__}: {exc}")

    if problems:
        return web.json_response({"ready": False, "problems": problems}, status=503)
    return web.json_response({"ready": True})


def _worker_problems(app: web.Application) -> list[str]:
    if app[SETTINGS].workers <= 0:
        return []
    loader = app[ENGINE]
    if loader.error is not None:
        return [f"review engine failed to load: {loader.error}"]
    if not loader.ready:
        return ["review engine loading"]
    if all(task.done() for task in app[WORKERS]):
        return ["workers stopped"]
    return []


async def _announce(app: web.Application) -> None:
    settings = app[SETTINGS]
    if settings.webhook_secret is None:
        log.warning(
            "INSECURE: webhook signatures are NOT checked; anyone who reaches this "
            "port can queue reviews. Never run like this outside a local test."
        )
    log.info("server starting with %d worker(s)", max(settings.workers, 0))


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    database = Database(settings.data_dir / "server.sqlite3")
    await database.open()
    app[DATABASE] = database
    app[QUEUE] = SQLiteQueue(
        database, lease_seconds=settings.job_lease_seconds,
        max_attempts=settings.job_max_attempts, retry_seconds=settings.job_retry_seconds,
    )
    app[STORE] = InstallationStore(database)
    recovered = await app[QUEUE].recover()
    if recovered:
        log.warning("%d job(s) left running by a stopped process queued again", recovered)

    yield
    await database.close()


def _engine(load: LoadEngine) -> Callable[[web.Application], AsyncIterator[None]]:
    async def engine(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        loader = EngineLoader(lambda: load(settings))
        loader.start()
        app[ENGINE] = loader
        yield
        await loader.stop()

    return engine


def _github(retry: RetryPolicy | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def github(app: web.Application) -> AsyncIterator[None]:
        from bot.github.client import GitHubApp

        async with aiohttp.ClientSession(timeout=GITHUB_TIMEOUT) as session:
            app[SESSION] = session
            app[GITHUB] = GitHubApp(app[SETTINGS], session, retry=retry)
            yield

    return github


async def _workers(app: web.Application) -> AsyncIterator[None]:
    tasks = start_workers(
        app[SETTINGS].workers, queue=app[QUEUE], store=app[STORE], github=app[GITHUB],
        settings=app[SETTINGS], engine=app[ENGINE], pipeline=app[PIPELINE],
    )
    for task in tasks:
        task.add_done_callback(_worker_ended)
    app[WORKERS] = tasks

    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _worker_ended(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %s", task.get_name(), task.exception())

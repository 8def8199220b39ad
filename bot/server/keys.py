"""What the application keeps for its whole life, one of each per process."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.server.db import Database
from bot.server.queue import JobQueue
from bot.server.store import InstallationStore
from bot.server.worker import EngineLoader, Pipeline

if TYPE_CHECKING:
    # The GitHub client is needed only when the process runs workers.
    from bot.github.client import GitHubApp

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
QUEUE = web.AppKey("queue", JobQueue)
STORE = web.AppKey("store", InstallationStore)
SESSION = web.AppKey("session", aiohttp.ClientSession)
GITHUB: web.AppKey[GitHubApp] = web.AppKey("github")
ENGINE = web.AppKey("engine", EngineLoader)
PIPELINE = web.AppKey("pipeline", Pipeline)
WORKERS = web.AppKey("workers", list[asyncio.Task[None]])

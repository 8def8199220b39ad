"""A reply cache in front of any model backend, kept in one SQLite file.

A re-run review, a redelivered webhook or a rebased pull request asks the
same questions again; with a deterministic model the answers are the same,
so they are read from disk instead of generated again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from bot.model.backend import ModelBackend, ModelError, ModelReply

log = logging.getLogger(__name__)

# Bump when the key or the stored reply changes meaning.
CACHE_VERSION = 1
FAILURE = "__bastion_model_failure__"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    data TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


def canonical_json(value: Any) -> str:
    """Serialize `value` the same way whatever its key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(
    identity: str, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
) -> str:
    """Hash everything that decides a reply."""
    payload = canonical_json([CACHE_VERSION, identity, messages, schema, max_tokens])
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


# TODO: prune old entries and those of replaced models; the file only grows.
class CachedBackend:
    """A ModelBackend that answers repeated questions from a SQLite file."""

    def __init__(self, inner: ModelBackend, path: Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stats = {
            "calls": 0, "hits": 0, "errors": 0,
            "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0,
        }
        self._db = self._open()

    @property
    def identity(self) -> str:
        return self.inner.identity

    def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
    ) -> ModelReply:
        """Answer from the cache, or ask the inner backend and remember its answer."""
        key = cache_key(self.inner.identity, messages, schema, max_tokens)
        with self._lock:
            self._stats["calls"] += 1
            cached = self._lookup(key)
            if cached is not None:
                self._stats["hits"] += 1
                if FAILURE in cached.data:
                    raise ModelError(str(cached.data[FAILURE]), cached=True)
                return cached

        # The model call runs outside the lock so cache hits on other
        # threads are not held up by a slow generation.
        try:
            reply = self.inner.complete_json(messages, schema, max_tokens)
        except ModelError as exc:
            # The model is deterministic: the same question fails the same way,
            # so the failure is remembered like an answer.
            failure = ModelReply({FAILURE: str(exc)}, 0, 0, 0.0)
            with self._lock:
                self._stats["errors"] += 1
                self._store(key, failure)
            raise
        except Exception:
            with self._lock:
                self._stats["errors"] += 1
            raise

        with self._lock:
            self._stats["prompt_tokens"] += reply.prompt_tokens
            self._stats["completion_tokens"] += reply.completion_tokens
            self._stats["seconds"] += reply.seconds
            self._store(key, reply)
        return reply

    def stats(self) -> dict[str, Any]:
        """Count calls, cache hits, and the tokens and seconds of real model calls."""
        with self._lock:
            stats = dict(self._stats)
        stats["seconds"] = round(stats["seconds"], 3)
        stats["cache"] = str(self.path) if self._db is not None else None
        return stats

    def close(self) -> None:
        """Close the cache file; later calls go straight to the model."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> CachedBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> sqlite3.Connection | None:
        """Open or create the cache file, or go without a cache if that fails."""
        db = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection shared under self._lock: sqlite3 objects may
            # cross threads when access is serialized.
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            return db
        except (OSError, sqlite3.Error) as exc:
            if db is not None:
                db.close()
            log.warning("model cache unusable, running without it",
                        extra={"cache": str(self.path), "error": str(exc)})
            return None

    def _lookup(self, key: str) -> ModelReply | None:
        """Read a stored reply; the caller holds the lock."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT data, prompt_tokens, completion_tokens FROM replies WHERE key = ?",
                (key,),
            ).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return None
        if row is None:
            return None

        try:
            data = json.loads(row[0])
        except json.JSONDecodeError:
            log.warning("model cache entry unreadable, asking the model",
                        extra={"cache": str(self.path), "key": key})
            return None
        return ModelReply(data=data, prompt_tokens=row[1], completion_tokens=row[2],
                          seconds=0.0, cached=True)

    def _store(self, key: str, reply: ModelReply) -> None:
        """Remember a reply; the caller holds the lock."""
        if self._db is None:
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?)",
                (key, self.inner.identity, canonical_json(reply.data),
                 reply.prompt_tokens, reply.completion_tokens, time.time()),
            )
        except sqlite3.Error as exc:
            self._disable(exc)

    def _disable(self, exc: sqlite3.Error) -> None:
        """Stop using a cache that failed once, so a review never fails on it."""
        log.warning("model cache failed, running without it",
                    extra={"cache": str(self.path), "error": str(exc)})
        if self._db is not None:
            self._db.close()
            self._db = None

"""Bare mirrors of reviewed repositories, fetched with pygit2.

A pull request is diffed locally from its commits, so the REST API's limits
on files and lines in a diff never apply. One mirror per repository is kept
under the data folder and fetched again for each job.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

import pygit2

from bot.jobs import PullRequestJob

log = logging.getLogger(__name__)
PROCESS_STARTED = time.time()

# GitHub's owner and repository names; anything else could climb out of the
# mirror folder.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class MirrorError(Exception):
    """A mirror that could not be fetched, or lacks a commit the job needs."""


class MirrorStore:
    """Bare repositories under `root`, one per GitHub repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, repository: str) -> Path:
        owner, _, name = repository.partition("/")
        if not (_NAME.fullmatch(owner) and _NAME.fullmatch(name)) or name.endswith(".."):
            raise MirrorError(f"not a repository name: {repository!r}")
        return self.root / owner / f"{name}.git"

    async def fetch(
        self, job: PullRequestJob, credentials: tuple[str, str] | None = None
    ) -> Path:
        """Fetch the job's base branch, default branch and pull head; return the mirror."""
        path = self.path(job.repository)
        # Two jobs fetching into one mirror would race on its ref lock files.
        lock = self._locks.setdefault(job.repository, asyncio.Lock())
        async with lock:
            await asyncio.to_thread(_fetch, path, job, credentials)
        return path


def refspecs(job: PullRequestJob) -> list[str]:
    """Local refs named as on GitHub; refs/pull/N/head also carries fork commits."""
    refs = {
        f"+refs/heads/{job.base_ref}:refs/heads/{job.base_ref}",
        f"+refs/heads/{job.default_branch}:refs/heads/{job.default_branch}",
        f"+refs/pull/{job.number}/head:refs/pull/{job.number}/head",
    }
    return sorted(refs)


def clear_stale_locks(path: Path, job: PullRequestJob) -> None:
    """Remove lock files a killed process left in the mirror.

    One server process owns a data folder, and fetches into one mirror are
    serialized, so a lock older than this process can only be debris; left in
    place it would fail every later fetch.
    """
    if not path.is_dir():
        return
    for lock in path.rglob("*.lock"):
        if lock.is_file() and lock.stat().st_mtime < PROCESS_STARTED:
            lock.unlink(missing_ok=True)
            log.warning("stale mirror lock removed", extra={
                "delivery": job.delivery_id, "repository": job.repository,
                "lock": str(lock.relative_to(path)),
            })


def _fetch(path: Path, job: PullRequestJob, credentials: tuple[str, str] | None) -> None:
    clear_stale_locks(path, job)
    if (path / "HEAD").is_file():
        repo = pygit2.Repository(str(path))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = pygit2.init_repository(str(path), bare=True)

    callbacks = None
    if credentials is not None and job.clone_url.startswith("https://"):
        callbacks = pygit2.RemoteCallbacks(credentials=pygit2.UserPass(*credentials))
    remote = repo.remotes.create_anonymous(job.clone_url)
    try:
        remote.fetch(refspecs(job), callbacks=callbacks)
    except pygit2.GitError as exc:
        # The message names the URL only: the token travels in callbacks.
        raise MirrorError(f"fetching {job.repository} failed: {exc}") from None

    for role, sha in (("head", job.head_sha), ("base", job.base_sha)):
        if repo.get(sha) is None:
            raise MirrorError(
                f"{job.repository}: {role} commit {sha} is missing after the fetch "
                "(was the pull request force-pushed?)"
            )
    log.info("mirror fetched", extra={
        "delivery": job.delivery_id, "repository": job.repository,
        "pull": job.number, "head": job.head_sha[:12],
    })


def read_file(path: Path, branch: str, name: str) -> bytes | None:
    """The bytes of `name` at the tip of `branch` in the mirror, or None."""
    repo = pygit2.Repository(str(path))
    ref = repo.references.get(f"refs/heads/{branch}")
    if ref is None:
        return None
    tree = ref.peel(pygit2.Commit).tree
    try:
        entry = tree[name]
    except KeyError:
        return None
    blob = repo[entry.id]
    return blob.data if isinstance(blob, pygit2.Blob) else None

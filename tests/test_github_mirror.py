"""Bare mirrors: fetched from the pull request's refs, one lock per repository."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pygit2
import pytest

from bot.github.mirror import MirrorError, MirrorStore, read_file
from bot.jobs import PullRequestJob
from tests.gitrepo import GitRepo


def served_repo(root: Path) -> tuple[GitRepo, PullRequestJob]:
    repo = GitRepo(root / "origin")
    repo.write(".bastion.toml", "[review]\n")
    repo.write("a.py", "x = 1\n")
    base = repo.commit_all("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.py", "x = 2\n")
    head = repo.commit_all("feature")
    repo.checkout("main")
    # As on GitHub: the head lives under refs/pull, the fork's branch does not.
    repo.git("update-ref", "refs/pull/4/head", head)
    repo.git("branch", "-D", "feature")
    job = PullRequestJob(
        delivery_id="d", repository="octo/app", number=4, head_sha=head, base_sha=base,
        base_ref="main", clone_url=repo.root.resolve().as_uri(), default_branch="main",
    )
    return repo, job


async def test_fetch_brings_the_pull_head_and_the_default_branch(tmp_path):
    _, job = served_repo(tmp_path)
    store = MirrorStore(tmp_path / "mirrors")

    first, second = await asyncio.gather(store.fetch(job), store.fetch(job))

    assert first == second == tmp_path / "mirrors" / "octo" / "app.git"
    mirror = pygit2.Repository(str(first))
    assert mirror.is_bare
    assert str(mirror.references["refs/pull/4/head"].target) == job.head_sha
    assert read_file(first, "main", ".bastion.toml") == b"[review]\n"
    assert read_file(first, "main", "missing.toml") is None
    assert read_file(first, "nowhere", ".bastion.toml") is None


async def test_a_head_missing_after_the_fetch_is_a_clear_error(tmp_path):
    _, job = served_repo(tmp_path)
    gone = PullRequestJob(**{**job.to_dict(), "head_sha": "e" * 40})

    with pytest.raises(MirrorError, match="head commit e{40} is missing"):
        await MirrorStore(tmp_path / "mirrors").fetch(gone)


async def test_an_unreachable_remote_is_a_clear_error(tmp_path):
    _, job = served_repo(tmp_path)
    nowhere = PullRequestJob(**{**job.to_dict(),
                                "clone_url": (tmp_path / "nothing").as_uri()})

    with pytest.raises(MirrorError, match="fetching octo/app failed"):
        await MirrorStore(tmp_path / "mirrors").fetch(nowhere)


@pytest.mark.parametrize("name", ["../etc", "octo/..", "octo/a/b", "octo", "/abs"])
def test_names_cannot_leave_the_mirror_folder(tmp_path, name):
    with pytest.raises(MirrorError, match="not a repository name"):
        MirrorStore(tmp_path).path(name)


def test_a_lock_left_by_a_killed_process_does_not_block_the_next_fetch(tmp_path) -> None:
    import os

    from bot.github import mirror
    from tests.gitrepo import GitRepo

    origin = GitRepo(tmp_path / "origin")
    origin.write("a.py", "x = 1\n")
    base = origin.commit_all("one")
    origin.write("a.py", "x = 2\n")
    head = origin.commit_all("two")
    origin.git("update-ref", "refs/pull/3/head", head)
    job = PullRequestJob(
        delivery_id="d", repository="octo/app", number=3, head_sha=head, base_sha=base,
        base_ref="main", clone_url=f"file://{origin.root}", default_branch="main",
    )
    # A fetch killed while it created the mirror leaves its config lock behind.
    path = tmp_path / "mirrors" / "octo" / "app.git"
    path.mkdir(parents=True)
    stale = path / "config.lock"
    stale.write_text("left by a killed fetch")
    before = mirror.PROCESS_STARTED - 60
    os.utime(stale, (before, before))

    mirror._fetch(path, job, None)

    assert not stale.exists()
    assert pygit2.Repository(str(path)).get(head) is not None

"""Real git repositories in temporary folders, built with the git command line.

Test modules use the fixtures by importing them:

    from tests.gitrepo import GitRepo, git_repo, make_git_repo  # noqa: F401
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

# A fixed clock makes commit ids the same on every run, so a failure can be
# reproduced by hand; each commit moves it one minute on.
_EPOCH = 1_700_000_000


def _git_env() -> dict[str, str]:
    """Isolate git from the user's and the system's configuration."""
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    return env


class GitRepo:
    """A working tree with its repository, changed through files and git commands."""

    def __init__(self, root: Path | str, *, branch: str = "main") -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._env = _git_env()
        self._commits = 0

        self.git("init", "-q", f"--initial-branch={branch}")
        self.git("config", "user.name", "Test Author")
        self.git("config", "user.email", "author@example.com")
        self.git("config", "commit.gpgsign", "false")
        self.git("config", "core.autocrlf", "false")

    def git(self, *args: str) -> str:
        """Run git in the working tree and return its output without the last newline."""
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self._env,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"git {' '.join(args)} failed ({done.returncode}): {err}")
        return done.stdout.decode(errors="replace").rstrip("\n")

    def path(self, path: str) -> Path:
        return self.root / path

    def write(self, path: str, data: bytes | str) -> Path:
        """Write a file exactly as given (text as UTF-8, no newline translation)."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        raw = data.encode("utf-8") if isinstance(data, str) else data
        target.write_bytes(raw)
        return target

    def remove(self, path: str) -> None:
        (self.root / path).unlink()

    def move(self, old: str, new: str) -> None:
        target = self.root / new
        target.parent.mkdir(parents=True, exist_ok=True)
        (self.root / old).rename(target)

    def symlink(self, path: str, target: str) -> None:
        """Make `path` a symbolic link to `target`, replacing whatever is there."""
        link = self.root / path
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(target, link)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self.root / path, mode)

    def add_submodule_pointer(self, path: str, sha: str) -> None:
        """Stage a gitlink at `path` pointing at commit `sha`, without cloning anything."""
        self.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{path}")

    def stage(self, *paths: str) -> None:
        """Stage the given paths (additions, edits and removals), or everything."""
        self.git("add", "-A", "--", *(paths or (".",)))

    def commit(self, message: str = "change", *, allow_empty: bool = False) -> str:
        """Commit the index and return the new commit's sha."""
        self._commits += 1
        stamp = f"{_EPOCH + 60 * self._commits} +0000"
        self._env["GIT_AUTHOR_DATE"] = stamp
        self._env["GIT_COMMITTER_DATE"] = stamp
        args = ["commit", "-q", "--no-verify", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        self.git(*args)
        return self.rev_parse("HEAD")

    def commit_all(self, message: str = "change") -> str:
        """Stage everything in the working tree and commit it."""
        self.stage()
        return self.commit(message)

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("branch", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def rev_parse(self, rev: str) -> str:
        return self.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}")


@pytest.fixture
def make_git_repo(tmp_path: Path) -> Callable[..., GitRepo]:
    """Return a factory of fresh repositories, each in its own folder under tmp_path."""
    count = 0

    def make(name: str | None = None, **kwargs: str) -> GitRepo:
        nonlocal count
        count += 1
        return GitRepo(tmp_path / (name or f"repo{count}"), **kwargs)

    return make


@pytest.fixture
def git_repo(make_git_repo: Callable[..., GitRepo]) -> GitRepo:
    """Return one fresh, empty repository on branch main."""
    return make_git_repo("repo")

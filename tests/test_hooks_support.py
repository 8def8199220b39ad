"""Fixtures for the hook tests: a rule pack with known messages, and pre-commit.

The pre-commit fixtures install the hooks from a snapshot of this checkout
(committed and uncommitted files alike, as `pre-commit try-repo` does) into
one PRE_COMMIT_HOME per test session, so the hook environment is built once.
Set BASTION_TEST_PRE_COMMIT_HOME to keep that environment between sessions.

Test modules use them by importing them:

    from tests.test_hooks_support import hook_rules, precommit  # noqa: F401
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

PROJECT = Path(__file__).resolve().parent.parent

# Two rules whose messages the tests quote exactly.
RULES = """\
rules:
  - id: test-eval-call
    message: eval() runs text as code.
    severity: ERROR
    languages: [python]
    pattern: eval(...)
  - id: test-assert-check
    message: assert disappears under python -O.
    severity: INFO
    languages: [python]
    pattern: assert $X
"""

EVAL_LINE = "{path}:{line}:{col}: HIGH test-eval-call eval() runs text as code."
ASSERT_LINE = "{path}:{line}:{col}: LOW test-assert-check assert disappears under python -O."


@pytest.fixture(scope="session")
def hook_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rule folder outside every test repository."""
    folder = tmp_path_factory.mktemp("hook-rules")
    (folder / "test-rules.yaml").write_text(RULES, encoding="utf-8")
    return folder


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stdout}{done.stderr}")
    return done.stdout.strip()


def snapshot_checkout(target: Path) -> str:
    """Copy this checkout's files (tracked and untracked, not ignored) into a new
    repository at `target`; return the commit id pre-commit will install from."""
    listed = _run(["git", "ls-files", "-z", "-co", "--exclude-standard"], PROJECT)
    repo = GitRepo(target)
    for name in filter(None, listed.split("\0")):
        source = PROJECT / name
        if source.is_file() and not source.is_symlink():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return repo.commit_all("snapshot of the checkout under test")


@dataclass
class PreCommit:
    """pre-commit with a shared home, and the hook source it installs from."""

    home: Path
    source: Path
    rev: str

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PRE_COMMIT_HOME=str(self.home),
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            LC_ALL="C.UTF-8",
            NO_COLOR="1",
            # A portable llama.cpp build, as the manifest asks, should the
            # model hook's environment compile it.
            CMAKE_ARGS="-DGGML_NATIVE=OFF",
        )
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "PRE_COMMIT_FROM_REF",
                     "PRE_COMMIT_TO_REF", "SKIP", "BASTION_CONFIG"):
            env.pop(name, None)
        return env

    def config(self, hook: str = "bastion-scan", args: list[str] | None = None) -> str:
        """A .pre-commit-config.yaml that uses `hook` from the snapshot at its commit."""
        lines = [
            "repos:",
            f"  - repo: {self.source}",
            f"    rev: {self.rev}",
            "    hooks:",
            f"      - id: {hook}",
        ]
        if args:
            # JSON strings are YAML strings: a number or a path stays text.
            lines.append(f"        args: [{', '.join(json.dumps(a) for a in args)}]")
        return "\n".join(lines) + "\n"

    def install(self, repo: GitRepo, **config: object) -> None:
        """Commit the config to `repo` and install pre-commit's git hook there."""
        repo.write(".pre-commit-config.yaml", self.config(**config))  # type: ignore[arg-type]
        repo.stage(".pre-commit-config.yaml")
        repo.commit("pre-commit configuration")
        self.run(repo, "install")

    def run(self, repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the pre-commit command of this interpreter's environment."""
        cmd = [sys.executable, "-m", "pre_commit", *args]
        return subprocess.run(cmd, cwd=repo.root, env=self.env(), capture_output=True,
                              text=True, check=False)

    def commit(self, repo: GitRepo, message: str) -> subprocess.CompletedProcess[str]:
        """`git commit` with the installed hook; the hook's report is in stdout."""
        cmd = ["git", "commit", "-q", "-m", message]
        # git sends a hook's standard output to its standard error.
        return subprocess.run(cmd, cwd=repo.root, env=self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)


@pytest.fixture(scope="session")
def precommit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreCommit]:
    """pre-commit with the scan hook's environment built once for the session."""
    kept = os.environ.get("BASTION_TEST_PRE_COMMIT_HOME")
    home = Path(kept) if kept else tmp_path_factory.mktemp("pre-commit-home")
    # A fixed place and fixed commit dates give an unchanged checkout the same
    # commit id, so a kept home finds its environment again.
    source = home / "hook-source"
    shutil.rmtree(source, ignore_errors=True)
    rev = snapshot_checkout(source)
    tool = PreCommit(home, source, rev)

    warmup = GitRepo(tmp_path_factory.mktemp("warmup") / "repo")
    warmup.write(".pre-commit-config.yaml", tool.config())
    warmup.stage(".pre-commit-config.yaml")
    done = tool.run(warmup, "install-hooks")
    if done.returncode != 0:
        raise RuntimeError(f"pre-commit install-hooks failed:\n{done.stdout}{done.stderr}")
    yield tool

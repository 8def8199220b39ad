"""The hooks as users get them: pre-commit installs this checkout and `git commit` runs it.

The first test of a session builds the hook environment (pip installs the
project and its dependencies), which takes a minute or more.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, git_repo, make_git_repo  # noqa: F401
from tests.test_hooks_support import (  # noqa: F401
    EVAL_LINE,
    PreCommit,
    hook_rules,
    precommit,
)

VULNERABLE = "def run(text):\n    return eval(text)\n"
FIXED = "import ast\n\n\ndef run(text):\n    return ast.literal_eval(text)\n"


@pytest.fixture
def hooked(git_repo: GitRepo, precommit: PreCommit, hook_rules: Path) -> GitRepo:  # noqa: F811
    """A repository whose commits run bastion-scan with the test rules."""
    git_repo.write("README", "a project\n")
    git_repo.commit_all("start")
    precommit.install(git_repo, args=["--rules", str(hook_rules)])
    return git_repo


def test_a_vulnerable_commit_is_refused_with_the_finding(hooked, precommit):  # noqa: F811
    hooked.write("app.py", VULNERABLE)
    hooked.stage("app.py")
    head = hooked.rev_parse("HEAD")

    done = precommit.commit(hooked, "add eval")

    lines = done.stdout.splitlines()
    assert done.returncode == 1
    assert EVAL_LINE.format(path="app.py", line=2, col=12) in lines
    assert "bastion-scan: 1 finding (1 high); 1 at or above high" in lines
    assert any(line.startswith("bastion rule scan") and line.endswith("Failed")
               for line in lines)
    assert hooked.rev_parse("HEAD") == head


def test_a_clean_commit_goes_through(hooked, precommit):  # noqa: F811
    hooked.write("app.py", FIXED)
    hooked.stage("app.py")
    head = hooked.rev_parse("HEAD")

    done = precommit.commit(hooked, "add a parser")

    assert done.returncode == 0, done.stdout + done.stderr
    assert hooked.rev_parse("HEAD") != head
    assert hooked.git("show", "HEAD:app.py") == FIXED.rstrip("\n")


def test_a_staged_fix_passes_while_the_vulnerable_version_stays_unstaged(
    hooked, precommit  # noqa: F811
):
    hooked.write("app.py", VULNERABLE)
    hooked.stage("app.py")
    hooked.commit("vulnerable, committed before the hook")
    hooked.write("app.py", FIXED)
    hooked.stage("app.py")
    hooked.write("app.py", FIXED + "\n\ndef again(text):\n    return eval(text)\n")

    done = precommit.commit(hooked, "fix")

    assert done.returncode == 0, done.stdout + done.stderr
    assert hooked.git("show", "HEAD:app.py") == FIXED.rstrip("\n")
    # pre-commit puts the unstaged edit back untouched.
    assert "return eval(text)" in hooked.path("app.py").read_text()


def test_bundled_rules_run_from_the_installed_package(
    git_repo, precommit  # noqa: F811
):
    git_repo.write("README", "a project\n")
    git_repo.commit_all("start")
    precommit.install(git_repo, args=["--fail-on", "low"])
    git_repo.write("tool.py", "import os\n\n\ndef clean(path):\n    os.system('rm -rf ' + path)\n")
    git_repo.stage("tool.py")

    done = precommit.commit(git_repo, "shell out")

    assert done.returncode == 1
    assert "tool.py:5:5: MEDIUM python-subprocess-shell " in done.stdout


def test_all_files_checks_committed_files_in_full(hooked, precommit):  # noqa: F811
    hooked.write("app.py", VULNERABLE)
    hooked.stage("app.py")
    hooked.commit("committed without the hook")

    done = precommit.run(hooked, "run", "--all-files")

    assert done.returncode == 1
    assert EVAL_LINE.format(path="app.py", line=2, col=12) in done.stdout.splitlines()


@pytest.mark.model
def test_the_model_hook_installs_its_extra_and_reviews(
    git_repo, precommit, hook_rules  # noqa: F811
):
    # Without a cached llama-cpp-python wheel this compiles llama.cpp (minutes).
    git_repo.write("README", "a project\n")
    git_repo.commit_all("start")
    precommit.install(git_repo, hook="bastion-review",
                      args=["--rules", str(hook_rules), "--budget", "800"])
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    done = precommit.run(git_repo, "run", "bastion-review", "--hook-stage", "manual")

    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.startswith(EVAL_LINE.format(path="app.py", line=2, col=12))
               for line in lines)
    assert any(line.startswith("bastion-review: 1 finding (1 high)") for line in lines)

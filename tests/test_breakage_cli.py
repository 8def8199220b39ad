"""Regressions found by trying to break the installed commands from the outside."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bot.config import ConfigError, Settings
from bot.server.app import check_settings
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parent.parent

VULNERABLE = '''\
import subprocess

from flask import request


def run():
    return subprocess.check_output(request.args.get("c"), shell=True)
'''


def one_commit_repo(tmp_path: Path, name: str, text: str) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("README.md", "demo\n")
    repo.commit_all("base")
    repo.branch("base")
    repo.write(name, text)
    repo.commit_all("change")
    return repo


def bastion(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args],
                          capture_output=True, text=True, cwd=cwd, check=False)


def test_every_imported_yaml_parser_is_a_declared_dependency() -> None:
    # bot/rulebook.py imports yaml; without the model extra nothing else brings
    # PyYAML, so the bastion-scan pre-commit environment fails on import.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {Requirement(dep).name.lower() for dep in project["dependencies"]}
    assert "import yaml" in (ROOT / "bot" / "rulebook.py").read_text()
    assert "pyyaml" in names


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "-5"], "token_budget"),
        (["--output", "{tmp}"], "{tmp}"),
    ],
)
def test_bad_review_options_are_one_line_and_exit_status_2(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    repo = one_commit_repo(tmp_path, "app.py", VULNERABLE)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in extra]

    done = bastion("review", "--repo", str(repo.root), "--base", "base", "--no-llm", *argv,
                   cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bastion: error: "), done.stderr
    assert message.replace("{tmp}", str(tmp_path)) in lines[0]


def test_rules_list_with_an_unknown_severity_is_a_usage_error(tmp_path: Path) -> None:
    done = bastion("rules", "list", "--severity", "bogus", cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "bogus" in done.stderr.strip().splitlines()[-1]


def test_prose_saying_do_not_edit_does_not_hide_a_file_from_review(tmp_path: Path) -> None:
    # Anyone writing a pull request controls this text: a phrase in a
    # docstring must not turn the whole file into "generated" and unreviewed.
    text = '"""Request handlers. Do not edit the routes table by hand."""\n' + VULNERABLE
    repo = one_commit_repo(tmp_path, "handlers.py", text)

    done = bastion("review", "--repo", str(repo.root), "--base", "base", "--no-llm",
                   "--fail-on", "high", cwd=tmp_path)

    assert "handlers.py:8:" in done.stdout, done.stdout
    assert done.returncode == 1


def test_an_empty_webhook_secret_is_refused() -> None:
    # HMAC with an empty key is something anyone can compute.
    settings = Settings(webhook_secret="", github_token="token", workers=0)

    with pytest.raises(ConfigError, match="secret"):
        check_settings(settings)

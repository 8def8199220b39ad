"""A repository's `.bastion.toml`: what it may change and how a bad file is reported."""

from __future__ import annotations

import pytest

from bot.config import ReviewSettings
from bot.findings import Severity
from bot.github.repo_config import merge_repo_settings

BASE = ReviewSettings(use_model=False, token_budget=1000)


def test_tunable_settings_are_merged_into_a_copy():
    merged, problem = merge_repo_settings(
        BASE, b'[review]\nfail_on = "medium"\nfilter = "hunk"\nmax_file_lines = 10\n')

    assert problem is None
    assert (merged.fail_on, merged.filter, merged.max_file_lines) == (
        Severity.MEDIUM, "hunk", 10)
    assert BASE.fail_on is None and BASE.filter == "added"


def test_no_file_keeps_the_bot_settings():
    assert merge_repo_settings(BASE, None) == (BASE, None)


@pytest.mark.parametrize(("text", "reason"), [
    (b'[review]\nrules = ["/etc"]\n', "review.rules: not a setting a repository may change"),
    (b"[review]\nuse_model = true\n", "use_model: the model is turned off"),
    (b"[review]\ntoken_budget = 5000\n", "token_budget: at most 1000"),
    (b'[review]\nfail_on = "none"\n', "fail_on: unknown severity"),
    (b"[review]\nfail_on = false\n", "fail_on: expected a severity name"),
    (b'[review]\nfilter = "everything"\n', "review.filter: Input should be"),
    (b"[policy]\nx = 1\n", "unknown table or key: policy"),
    (b"[review\n", "not valid TOML"),
    (b"\xff\xfe", "not valid TOML"),
])
def test_a_bad_file_is_named_and_ignored(text, reason):
    merged, problem = merge_repo_settings(BASE, text)

    assert merged is BASE
    assert problem is not None and problem.startswith(".bastion.toml: ")
    assert reason in problem

"""The scan hook called as `main([...])` in real repositories, with real Semgrep."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hooks.scan import main
from tests.gitrepo import GitRepo, git_repo, make_git_repo  # noqa: F401
from tests.test_hooks_support import ASSERT_LINE, EVAL_LINE, hook_rules  # noqa: F401

VULNERABLE = "def run(text):\n    return eval(text)\n"
FIXED = "import ast\n\n\ndef run(text):\n    return ast.literal_eval(text)\n"


@pytest.fixture
def scan(
    git_repo: GitRepo,  # noqa: F811
    hook_rules: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):  # type: ignore[no-untyped-def]
    """Run the hook in `git_repo` with the test rules; return status, stdout lines, stderr."""
    monkeypatch.chdir(git_repo.root)
    for name in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "BASTION_CONFIG"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, rules: bool = True) -> tuple[int, list[str], str]:
        argv = [*args, "--rules", str(hook_rules)] if rules else list(args)
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's way out
            status = int(exc.code or 0)
        out, err = capsys.readouterr()
        return status, out.splitlines(), err

    return run


def test_a_staged_eval_fails_with_the_finding_and_a_summary(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    status, lines, err = scan("app.py")

    assert status == 1
    assert lines == [
        EVAL_LINE.format(path="app.py", line=2, col=12),
        "bastion-scan: 1 finding (1 high); 1 at or above high",
    ]
    assert err == ""


def test_a_clean_staged_change_passes(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", FIXED)
    git_repo.stage("app.py")

    status, lines, _ = scan("app.py")

    assert status == 0
    assert lines == ["bastion-scan: no findings; none at or above high"]


def test_an_unstaged_fix_does_not_hide_a_staged_eval(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")
    git_repo.write("app.py", FIXED)

    status, lines, _ = scan("app.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="app.py", line=2, col=12)


def test_an_unstaged_eval_does_not_fail_a_staged_fix(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.commit_all("start")
    git_repo.write("app.py", FIXED)
    git_repo.stage("app.py")
    git_repo.write("app.py", FIXED + "\n\ndef again(text):\n    return eval(text)\n")

    status, lines, _ = scan("app.py")

    assert status == 0
    assert lines == ["bastion-scan: no findings; none at or above high"]


def test_only_added_lines_count_by_default(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.commit_all("start")
    git_repo.write("app.py", VULNERABLE + "\n\ndef check(x):\n    assert x\n")
    git_repo.stage("app.py")

    status, lines, _ = scan("app.py")

    assert status == 0
    assert lines == [
        ASSERT_LINE.format(path="app.py", line=6, col=5),
        "bastion-scan: 1 finding (1 low); none at or above high",
    ]


def test_filter_file_reports_old_lines_of_a_changed_file(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.commit_all("start")
    git_repo.write("app.py", "# a comment\n" + VULNERABLE)
    git_repo.stage("app.py")

    assert scan("app.py")[0] == 0
    status, lines, _ = scan("--filter", "file", "app.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="app.py", line=3, col=12)


def test_an_unchanged_file_passed_by_name_is_scanned_in_full(git_repo, scan):  # noqa: F811
    # What pre-commit does with --all-files: every tracked file is passed.
    git_repo.write("old.py", VULNERABLE)
    git_repo.write("new.py", "X = 1\n")
    git_repo.commit_all("start")
    git_repo.write("new.py", "X = 2\n")
    git_repo.write("old.py", VULNERABLE + "# unstaged\n")
    git_repo.stage("new.py")

    status, lines, _ = scan("new.py", "old.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="old.py", line=2, col=12)


def test_only_the_files_passed_are_checked(git_repo, scan):  # noqa: F811
    git_repo.write("a.py", VULNERABLE)
    git_repo.write("b.py", VULNERABLE)
    git_repo.stage()

    status, lines, _ = scan("b.py")

    assert status == 1
    assert [line.split(":")[0] for line in lines[:-1]] == ["b.py"]


def test_no_file_names_checks_the_whole_staged_change(git_repo, scan):  # noqa: F811
    git_repo.write("a.py", VULNERABLE)
    git_repo.write("pkg/b.py", VULNERABLE)
    git_repo.stage()

    status, lines, _ = scan()

    assert status == 1
    assert [line.split(":")[0] for line in lines[:-1]] == ["a.py", "pkg/b.py"]


def test_file_names_from_a_subfolder_are_read_relative_to_it(
    git_repo, scan, monkeypatch  # noqa: F811
):
    git_repo.write("pkg/b.py", VULNERABLE)
    git_repo.stage()
    monkeypatch.chdir(git_repo.root / "pkg")

    status, lines, _ = scan("b.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="pkg/b.py", line=2, col=12)


def test_fail_on_low_fails_on_a_low_finding(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", "def check(x):\n    assert x\n")
    git_repo.stage("app.py")

    assert scan("app.py")[0] == 0
    status, lines, _ = scan("--fail-on", "low", "app.py")

    assert status == 1
    assert lines[-1] == "bastion-scan: 1 finding (1 low); 1 at or above low"


def test_the_first_commit_of_a_repository_is_scanned(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    status, lines, _ = scan("app.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="app.py", line=2, col=12)


def test_a_binary_file_is_skipped_not_fatal(git_repo, scan):  # noqa: F811
    git_repo.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0eval(x)\0")
    git_repo.write("app.py", FIXED)
    git_repo.stage()

    status, lines, err = scan("logo.png", "app.py")

    assert status == 0
    assert lines == ["bastion-scan: no findings, 1 file skipped; none at or above high"]
    assert err == ""


def test_a_file_that_is_not_utf8_is_still_scanned(git_repo, scan):  # noqa: F811
    git_repo.write("latin.py", "# caf\xe9\nx = eval(input())\n".encode("latin-1"))
    git_repo.stage("latin.py")

    status, lines, err = scan("latin.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="latin.py", line=2, col=5)
    assert err == ""


def test_a_staged_deletion_passes(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.write("keep.py", "X = 1\n")
    git_repo.commit_all("start")
    git_repo.git("rm", "-q", "app.py")

    status, lines, err = scan("app.py")

    assert status == 0
    assert lines == ["bastion-scan: no findings, 1 file skipped; none at or above high"]
    assert err == ""


def test_a_commit_of_renames_only_passes(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.commit_all("start")
    git_repo.git("mv", "app.py", "moved.py")

    status, lines, _ = scan("moved.py")

    assert status == 0
    assert lines == ["bastion-scan: no findings; none at or above high"]


def test_an_empty_commit_passes(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.commit_all("start")

    status, lines, err = scan()

    assert status == 0
    assert lines == ["bastion-scan: no findings; none at or above high"]
    assert err == ""


def _merge_in_progress(repo: GitRepo) -> None:
    """Leave `repo` inside `git merge --no-commit`, the merged result staged.

    The topic branch adds an eval to topic.py; main meanwhile edited
    shared.py, which already held an eval, so shared.py differs between
    the two parents but not between HEAD and the index.
    """
    repo.write("shared.py", VULNERABLE)
    repo.write("topic.py", "X = 1\n")
    repo.commit_all("start")
    repo.branch("topic")
    repo.write("shared.py", VULNERABLE + "# edited on main\n")
    repo.commit_all("main edit")
    repo.checkout("topic")
    repo.write("topic.py", "X = 1\nY = eval('2')\n")
    repo.commit_all("topic edit")
    repo.checkout("main")
    repo.git("merge", "--no-commit", "--no-ff", "topic")


def test_a_merge_reports_what_the_merged_branch_brings(git_repo, scan):  # noqa: F811
    _merge_in_progress(git_repo)

    # pre-commit passes the files that differ between HEAD and MERGE_HEAD.
    status, lines, _ = scan("shared.py", "topic.py")

    assert status == 1
    assert lines == [
        EVAL_LINE.format(path="topic.py", line=2, col=5),
        "bastion-scan: 1 finding (1 high); 1 at or above high",
    ]


def test_a_conflicted_merge_is_a_clear_error(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", "X = 1\n")
    git_repo.commit_all("start")
    git_repo.branch("topic")
    git_repo.write("app.py", "X = 2\n")
    git_repo.commit_all("main")
    git_repo.checkout("topic")
    git_repo.write("app.py", "X = 3\n")
    git_repo.commit_all("topic")
    git_repo.checkout("main")
    with pytest.raises(RuntimeError):
        git_repo.git("merge", "topic")

    status, lines, err = scan("app.py")

    assert status == 2
    assert lines == []
    assert err == "bastion-scan: error: the index has unresolved merge conflicts\n"


def test_the_pushed_range_is_checked_at_pre_push(
    git_repo, scan, monkeypatch  # noqa: F811
):
    git_repo.write("app.py", FIXED)
    base = git_repo.commit_all("start")
    git_repo.write("app.py", VULNERABLE)
    head = git_repo.commit_all("pushed")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", head)

    status, lines, _ = scan("app.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="app.py", line=2, col=12)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fail-on", "severe"],
         "bastion-scan: error: argument --fail-on: unknown severity 'severe' "
         "(low, medium, high or critical)"),
        (["--filter", "lines"],
         "bastion-scan: error: argument --filter: invalid choice: 'lines' "
         "(choose from 'added', 'hunk', 'file')"),
        (["--frobnicate"], "bastion-scan: error: unrecognized arguments: --frobnicate"),
        (["--rules", "no-such-folder"],
         "bastion-scan: error: rule folder not found: no-such-folder"),
        (["--baseline", "missing.json"],
         "bastion-scan: error: missing.json: baseline file not found"),
        (["--config", "missing.toml"],
         "bastion-scan: error: missing.toml: configuration file not found"),
    ],
)
def test_usage_and_configuration_errors_exit_2_with_one_line(
    git_repo, scan, argv, message  # noqa: F811
):
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    status, lines, err = scan(*argv, "app.py", rules=False)

    assert (status, lines, err) == (2, [], message + "\n")


def test_outside_a_repository_is_a_clear_error(scan, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    status, lines, err = scan("app.py")

    assert (status, lines) == (2, [])
    assert err.startswith("bastion-scan: error: not a git repository: ")
    assert err.count("\n") == 1


def test_an_ignore_comment_with_a_reason_silences_the_rule(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", "def run(t):\n"
                   "    return eval(t)  # bastion: ignore[test-eval-call] constant table\n")
    git_repo.stage("app.py")

    status, lines, _ = scan("app.py")

    # The new suppression itself is shown, so a reviewer sees it go in.
    assert status == 0
    assert lines[0].startswith("app.py:2:1: LOW bastion-suppression-added ")
    assert "test-eval-call" in lines[0]
    assert lines[1:] == ["bastion-scan: 1 finding (1 low); none at or above high"]


def test_an_ignore_comment_without_a_reason_silences_nothing(git_repo, scan):  # noqa: F811
    git_repo.write("app.py",
                   "def run(t):\n    return eval(t)  # bastion: ignore[test-eval-call]\n")
    git_repo.stage("app.py")

    status, lines, _ = scan("app.py")

    assert status == 1
    assert EVAL_LINE.format(path="app.py", line=2, col=12) in lines


def test_a_nosemgrep_comment_on_the_line_above_silences_the_rule(git_repo, scan):  # noqa: F811
    git_repo.write("app.py", "def run(t):\n    # nosemgrep: test-eval-call -- fixed input\n"
                   "    return eval(t)\n")
    git_repo.stage("app.py")

    status, lines, _ = scan("app.py")

    assert status == 0
    assert lines[-1] == "bastion-scan: 1 finding (1 low); none at or above high"


def test_a_long_file_list_is_scanned_in_parallel_parts_with_one_report(
    git_repo, scan, monkeypatch  # noqa: F811
):
    import hooks.runner

    monkeypatch.setattr(hooks.runner, "PART_FILES", 2)
    monkeypatch.setattr(hooks.runner.os, "cpu_count", lambda: 2)
    names = [f"m{n}.py" for n in range(5)]
    for name in names:
        git_repo.write(name, VULNERABLE)
    git_repo.stage()

    status, lines, _ = scan(*names)

    assert status == 1
    assert lines == [EVAL_LINE.format(path=n, line=2, col=12) for n in names] + [
        "bastion-scan: 5 findings (5 high); 5 at or above high"
    ]


def test_parts_hold_about_equal_bytes():
    from bot.change import FileChange
    from hooks.runner import _balanced

    files = tuple(FileChange(f"f{size}", "added", new_data=b"x" * size)
                  for size in (50, 40, 30, 20, 10))

    parts = _balanced(files, 2)

    assert [[fc.path for fc in part] for part in parts] == [
        ["f10", "f20", "f50"], ["f30", "f40"]
    ]


def _policy(tmp_path: Path, rules: Path, body: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(f'rule_dirs = ["{rules}"]\n{body}', encoding="utf-8")
    return path


def test_the_policy_can_forbid_silencing_a_rule(
    git_repo, scan, tmp_path, hook_rules  # noqa: F811
):
    policy = _policy(tmp_path, hook_rules, 'unsuppressible = ["test-eval-call"]\n')
    git_repo.write("app.py", "def run(t):\n"
                   "    return eval(t)  # bastion: ignore[test-eval-call] constant table\n")
    git_repo.stage("app.py")

    status, lines, _ = scan("--policy", str(policy), "app.py")

    # The engine words the suppression finding; the hook prints it as is.
    assert status == 1
    assert lines[0].startswith("app.py:2:1: MEDIUM bastion-suppression-added ")
    assert lines[1:] == [
        EVAL_LINE.format(path="app.py", line=2, col=12),
        "bastion-scan: 2 findings (1 high, 1 medium); 1 at or above high",
    ]


def test_the_policy_threshold_applies_when_no_option_names_one(
    git_repo, scan, tmp_path, hook_rules  # noqa: F811
):
    policy = _policy(tmp_path, hook_rules, 'block_threshold = "low"\n')
    git_repo.write("app.py", "def check(x):\n    assert x\n")
    git_repo.stage("app.py")

    status, lines, _ = scan("--policy", str(policy), "app.py")
    assert (status, lines[-1]) == (1, "bastion-scan: 1 finding (1 low); 1 at or above low")

    status, lines, _ = scan("--policy", str(policy), "--fail-on", "high", "app.py")
    assert (status, lines[-1]) == (0, "bastion-scan: 1 finding (1 low); none at or above high")


def test_a_policy_that_blocks_nothing_never_fails(
    git_repo, scan, tmp_path, hook_rules  # noqa: F811
):
    policy = _policy(tmp_path, hook_rules, 'block_threshold = "never"\n')
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    status, lines, _ = scan("--policy", str(policy), "app.py")

    assert status == 0
    assert lines[-1] == "bastion-scan: 1 finding (1 high); the policy blocks nothing"


def test_a_broken_policy_is_a_one_line_error(git_repo, scan, tmp_path, hook_rules):  # noqa: F811
    policy = _policy(tmp_path, hook_rules, 'unsuppressible = ["no-such-rule"]\n')
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    status, lines, err = scan("--policy", str(policy), "app.py")

    assert (status, lines) == (2, [])
    assert err.startswith(f"bastion-scan: error: {policy}:2")
    assert "unknown rule id 'no-such-rule'" in err
    assert err.count("\n") == 1


def test_a_settings_file_sets_the_filter_and_is_not_left_exported(
    git_repo, scan, tmp_path  # noqa: F811
):
    config = tmp_path / "bastion.toml"
    config.write_text('[review]\nfilter = "file"\n', encoding="utf-8")
    git_repo.write("app.py", VULNERABLE)
    git_repo.commit_all("start")
    git_repo.write("app.py", "# a comment\n" + VULNERABLE)
    git_repo.stage("app.py")

    status, lines, _ = scan("--config", str(config), "app.py")

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="app.py", line=3, col=12)
    assert "BASTION_CONFIG" not in os.environ
    assert scan("app.py")[0] == 0


def test_an_untracked_file_passed_by_name_is_skipped(git_repo, scan):  # noqa: F811
    git_repo.write("tracked.py", "X = 1\n")
    git_repo.commit_all("start")
    git_repo.write("loose.py", VULNERABLE)

    status, lines, _ = scan("loose.py")

    assert status == 0
    assert lines == ["bastion-scan: no findings, 1 file skipped; none at or above high"]

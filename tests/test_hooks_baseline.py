"""The baseline file, `bastion baseline`, and the hooks reporting only new findings."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot import baseline as baseline_cli
from bot.baseline import Baseline, BaselineEntry, BaselineError
from bot.findings import Finding, Severity
from hooks.scan import main
from tests.gitrepo import GitRepo, git_repo, make_git_repo  # noqa: F401
from tests.test_hooks_support import EVAL_LINE, hook_rules  # noqa: F401

OLD = "def run(text):\n    return eval(text)\n"


def _finding(path: str, fingerprint: str, line: int = 3) -> Finding:
    return Finding(path=path, line=line, end_line=line, rule_id="r1", severity=Severity.HIGH,
                   message="bad\n thing", source="semgrep", fingerprint=fingerprint)


def test_a_baseline_round_trips_in_a_stable_order(tmp_path):
    findings = [_finding("b.py", "f2"), _finding("a.py", "f1", line=7)]
    path = tmp_path / "baseline.json"

    Baseline.from_findings(findings).write(path)
    loaded = Baseline.load(path)

    assert loaded.entries == (
        BaselineEntry("r1", "a.py", "f1", "line 7: bad\n thing"),
        BaselineEntry("r1", "b.py", "f2", "line 3: bad\n thing"),
    )
    assert json.loads(path.read_text())["version"] == 1
    assert path.read_text() == Baseline.from_findings(reversed(findings)).dumps()


def test_rewriting_a_baseline_keeps_the_notes_people_wrote(tmp_path):
    previous = Baseline((BaselineEntry("r1", "a.py", "f1", "accepted: SEC-12"),))

    written = Baseline.from_findings(
        [_finding("a.py", "f1"), _finding("a.py", "f9")], previous=previous
    )

    assert [e.note for e in written.entries] == ["accepted: SEC-12", "line 3: bad\n thing"]


def test_known_needs_rule_path_and_fingerprint_to_match():
    baseline = Baseline((BaselineEntry("r1", "a.py", "f1"),))

    new, known = baseline.split([_finding("a.py", "f1"), _finding("b.py", "f1")])

    assert [f.path for f in known] == ["a.py"]
    assert [f.path for f in new] == ["b.py"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not a readable baseline: Expecting property name"),
        ('{"version": 2, "findings": []}', "version: Input should be 1"),
        ('{"version": 1, "findings": [{"rule_id": "r"}]}', "findings.0.path: Field required"),
        ('[]', "top level: Input should be a valid dictionary"),
    ],
)
def test_a_broken_baseline_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "baseline.json"
    path.write_text(text)

    with pytest.raises(BaselineError) as caught:
        Baseline.load(path)

    assert str(caught.value).startswith(f"{path}: {message}")


def _baseline_command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="bastion")
    baseline_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["baseline", *argv])
    return args.run(args)


@pytest.fixture
def baselined(git_repo: GitRepo, hook_rules: Path, monkeypatch, capsys) -> GitRepo:  # noqa: F811
    """A repository with a committed eval and a baseline that records it."""
    for name in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "BASTION_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(git_repo.root)
    git_repo.write("app.py", OLD)
    git_repo.write("lib/util.py", "X = 1\n")
    git_repo.commit_all("start")

    assert _baseline_command("--rules", str(hook_rules), "--note", "before the hook") == 0

    out = capsys.readouterr().out
    written = git_repo.root / ".bastion-baseline.json"
    assert out == f"bastion: wrote 1 findings in 1 files to {written}\n"
    return git_repo


def _scan(capsys, *argv: str) -> tuple[int, list[str]]:
    status = main(list(argv))
    return status, capsys.readouterr().out.splitlines()


def test_the_baseline_command_records_every_current_finding(baselined):
    data = json.loads(baselined.path(".bastion-baseline.json").read_text())

    assert data["version"] == 1
    [entry] = data["findings"]
    assert (entry["rule_id"], entry["path"], entry["note"]) == (
        "test-eval-call", "app.py", "before the hook"
    )
    assert len(entry["fingerprint"]) == 20


def test_a_baselined_finding_stays_known_when_code_above_it_moves(
    baselined, hook_rules, capsys  # noqa: F811
):
    baselined.write("app.py", "import os\n\n\n" + OLD + "\n\ndef more(t):\n    return eval(t)\n")
    baselined.stage("app.py")

    status, lines = _scan(capsys, "--rules", str(hook_rules), "--filter", "file", "app.py")

    assert status == 1
    assert lines == [
        EVAL_LINE.format(path="app.py", line=9, col=12),
        "bastion-scan: 1 finding (1 high), 1 known from the baseline; 1 at or above high",
    ]


def test_a_second_identical_match_in_one_function_is_new(
    baselined, hook_rules, capsys  # noqa: F811
):
    baselined.write("app.py", OLD + "    return eval(text)\n")
    baselined.stage("app.py")

    status, lines = _scan(capsys, "--rules", str(hook_rules), "app.py")

    assert status == 1
    assert lines == [
        EVAL_LINE.format(path="app.py", line=3, col=12),
        "bastion-scan: 1 finding (1 high); 1 at or above high",
    ]


def test_no_baseline_reports_the_known_finding_too(baselined, hook_rules, capsys):  # noqa: F811
    baselined.write("app.py", "# moved\n" + OLD)
    baselined.stage("app.py")
    argv = ["--rules", str(hook_rules), "--filter", "file", "app.py"]

    assert _scan(capsys, *argv)[0] == 0
    status, lines = _scan(capsys, "--no-baseline", *argv)

    assert status == 1
    assert lines[0] == EVAL_LINE.format(path="app.py", line=3, col=12)


def test_a_named_baseline_file_is_used(baselined, hook_rules, capsys, tmp_path):  # noqa: F811
    empty = tmp_path / "empty.json"
    Baseline().write(empty)
    baselined.write("app.py", "# moved\n" + OLD)
    baselined.stage("app.py")

    status, _ = _scan(capsys, "--rules", str(hook_rules), "--filter", "file",
                      "--baseline", str(empty), "app.py")

    assert status == 1


def test_the_baseline_command_can_scan_a_commit(
    baselined, hook_rules, tmp_path  # noqa: F811
):
    baselined.write("lib/util.py", "X = eval('1')\n")
    baselined.stage("lib/util.py")
    output = tmp_path / "at-head.json"

    status = _baseline_command("--rules", str(hook_rules), "--rev", "HEAD", "-o", str(output))

    assert status == 0
    assert [e.path for e in Baseline.load(output).entries] == ["app.py"]

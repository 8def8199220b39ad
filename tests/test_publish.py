"""Publishing review results on the emulator: inline comments, the review body,
the check run, labels and the summary comment, across pushes and retries.

Results are built directly from findings; the change comes from a real git
repository, and the emulator checks every comment against its own git diff.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.change import Change
from bot.findings import Finding, ReviewResult, Severity, fingerprint
from bot.gitdiff import diff_range, open_repository
from bot.github.client import GitHubApp, RetryPolicy
from bot.github.publish import OUTSIDE_DIFF, OVER_LIMIT, REFUSED, Target, publish
from bot.jobs import PullRequestJob
from bot.render import github as render
from tests.github_emulator import GitHubEmulator, app_key, github  # noqa: F401
from tests.gitrepo import GitRepo

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, mutation_interval=0.0)
REPO = "octo/app"
# app.py: forty lines on main; the pull request changes line 20 and adds
# 41-42, so GitHub's diff shows lines 17-23 and 38-42 of it.
BASE = "".join(f"value_{n} = {n}\n" for n in range(1, 41))
HEAD = BASE.replace("value_20 = 20\n", "query = 'SELECT ' + name\n") + "a = 1\nb = 2\n"
NEW = "".join(f"step_{n}()\n" for n in range(1, 61))


def finding(
    path: str, line: int, severity: Severity = Severity.HIGH, rule: str = "sql-injection",
    **fields: object,
) -> Finding:
    values: dict[str, object] = {
        "path": path, "line": line, "end_line": line, "rule_id": rule,
        "severity": severity, "message": f"{rule} at {path}:{line}", "source": "semgrep",
        "fingerprint": fingerprint(rule, path, "", f"{path}:{line}"),
    }
    values.update(fields)
    return Finding(**values)  # type: ignore[arg-type]


@dataclass
class Served:
    """A pull request on the emulator, with the means to publish to it."""

    github: GitHubEmulator
    repo: GitRepo
    app: GitHubApp

    def job(self, delivery: str = "d1") -> PullRequestJob:
        return self.github.job(REPO, 1, delivery_id=delivery)

    def change(self, context_lines: int = 3) -> Change:
        job = self.job()
        git = open_repository(self.repo.root)
        return diff_range(git, job.base_sha, job.head_sha, context_lines=context_lines)

    def result(self, *findings: Finding) -> ReviewResult:
        job = self.job()
        return ReviewResult(base=job.base_sha, head=job.head_sha, findings=list(findings))

    async def target(self, installation: int | None = 7) -> Target:
        gh = await self.app.client(installation)
        pull = self.github.pull(REPO, 1)
        return Target(gh, self.job(), await gh.login(), author=pull.user)

    async def publish(self, *findings: Finding, change: Change | None = None,
                      threshold: Severity = Severity.HIGH, installation: int | None = 7):
        target = await self.target(installation)
        return await publish(target, self.result(*findings), change or self.change(),
                             threshold=threshold)

    def push(self, path: str, text: str) -> str:
        """Commit a change to the pull request's branch and move its head."""
        self.repo.checkout("feature")
        self.repo.write(path, text)
        self.repo.commit_all("another push")
        self.repo.checkout("main")
        return self.github.push(REPO, 1, "feature")

    def comments(self) -> list[dict]:
        return self.github.review_comments(REPO, 1)

    def reviews(self) -> list[dict]:
        return self.github.reviews(REPO, 1)


@pytest_asyncio.fixture
async def served(github: GitHubEmulator, tmp_path: Path) -> AsyncIterator[Served]:
    repo = GitRepo(tmp_path / "app")
    repo.write("app.py", BASE)
    repo.commit_all("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", HEAD)
    repo.write("new.py", NEW)
    repo.commit_all("feature")
    repo.checkout("main")
    github.add_repository(REPO, repo.root, installation_id=7)
    github.add_pull(REPO, 1, head="feature")
    async with aiohttp.ClientSession() as session:
        yield Served(github, repo, GitHubApp(github.settings(tmp_path), session, retry=FAST))


async def test_inline_comment_lands_on_the_finding_line(served):
    outcome = await served.publish(finding("app.py", 20, Severity.MEDIUM))

    [review] = served.reviews()
    [comment] = served.comments()
    assert (comment["path"], comment["line"], comment["side"]) == ("app.py", 20, "RIGHT")
    assert comment["start_line"] is None
    assert review["state"] == "COMMENTED"
    assert review["commit_id"] == served.job().head_sha
    assert render.reviewed_sha(review["body"]) == served.job().head_sha
    fp = render.leading_markers(comment["body"])["fp"]
    assert fp == finding("app.py", 20).fingerprint
    assert outcome.inline == 1 and outcome.conclusion == "neutral"


async def test_multi_line_finding_spans_its_hunk(served):
    await served.publish(finding("new.py", 3, end_line=6))

    [comment] = served.comments()
    assert (comment["start_line"], comment["line"]) == (3, 6)


async def test_range_across_two_hunks_keeps_only_its_last_line(served):
    # Lines 20 and 41 of app.py sit in two hunks; GitHub refuses such a range.
    await served.publish(finding("app.py", 20, end_line=41))

    [comment] = served.comments()
    assert (comment["start_line"], comment["line"]) == (None, 41)


async def test_finding_outside_the_diff_goes_into_the_body(served):
    outcome = await served.publish(finding("app.py", 2), finding("app.py", 21))

    [comment] = served.comments()
    assert comment["line"] == 21
    [review] = served.reviews()
    assert "`app.py:2`" in review["body"] and OUTSIDE_DIFF in review["body"]
    assert review["state"] == "CHANGES_REQUESTED"
    assert (outcome.inline, outcome.in_body) == (1, 1)


async def test_comment_github_refuses_is_folded_into_the_body(served):
    # With ten lines of context the change offers line 12 of app.py; GitHub's
    # three-line diff does not, so only GitHub can tell the comment is bad.
    wide = served.change(context_lines=10)
    bad = finding("app.py", 12, Severity.MEDIUM, rule="weak-hash")
    good = [finding("app.py", 20), finding("new.py", 5, Severity.LOW, rule="debug")]

    outcome = await served.publish(bad, *good, change=wide)

    posted = sorted((c["path"], c["line"]) for c in served.comments())
    assert posted == [("app.py", 20), ("new.py", 5)]
    [review] = served.reviews()
    assert "`app.py:12`" in review["body"] and REFUSED in review["body"]
    assert outcome.refused == 1
    posts = served.github.calls_to("POST", "/repos/octo/app/pulls/1/reviews")
    assert [c.status for c in posts][0] == 422 and posts[-1].status == 200
    probes = served.github.calls_to("DELETE", "/repos/octo/app/pulls/1/reviews/*")
    assert probes, "accepted probes are deleted"
    assert all(r["state"] != "PENDING" for r in served.reviews())


async def test_at_most_thirty_inline_comments_worst_first(served):
    findings = [finding("new.py", n, Severity.HIGH, rule=f"r{n}") for n in range(1, 31)]
    findings += [finding("new.py", n, Severity.LOW, rule=f"r{n}") for n in range(31, 36)]

    outcome = await served.publish(*findings)

    comments = served.comments()
    assert len(comments) == render.MAX_INLINE
    assert all("**HIGH**" in c["body"] for c in comments)
    [review] = served.reviews()
    assert review["body"].count(OVER_LIMIT) == 5
    assert (outcome.inline, outcome.in_body) == (30, 5)


async def test_annotations_are_sent_fifty_a_request(served):
    findings = [finding("new.py", 1 + n % 60, Severity.MEDIUM, rule=f"rule-{n}")
                for n in range(120)]

    await served.publish(*findings)

    patches = served.github.calls_to("PATCH", "/repos/octo/app/check-runs/*")
    sizes = [len(c.json["output"]["annotations"]) for c in patches]
    assert sizes == [50, 50, 20]
    assert patches[-1].json["conclusion"] == "neutral"
    assert all(c.status == 200 for c in patches)
    [run] = served.github.check_runs(REPO, served.job().head_sha)
    assert run["output"]["annotations_count"] == 120
    assert run["status"] == "completed"


async def test_review_body_is_cut_to_github_limit(served):
    long = "x" * 1000
    findings = [finding("app.py", 2, rule=f"rule-{n}", message=long) for n in range(300)]

    await served.publish(*findings)

    [review] = served.reviews()
    assert len(review["body"]) < render.BODY_LIMIT
    assert "cut to fit" in review["body"]
    [run] = served.github.check_runs(REPO)
    assert len(run["output"]["text"]) <= render.OUTPUT_LIMIT


async def test_suggestion_fence_outlasts_backticks_inside(served):
    fix = "query = f'SELECT ```{name}```'"
    await served.publish(finding("app.py", 20, suggestion=fix))

    [comment] = served.comments()
    assert f"````suggestion\n{fix}\n````" in comment["body"]


async def test_no_suggestion_when_the_comment_cannot_span_the_finding(served):
    # Lines 20-41 cross two hunks: a suggestion would replace the wrong lines.
    await served.publish(finding("app.py", 20, end_line=41, suggestion="x = 1\n"))

    [comment] = served.comments()
    assert "suggestion" not in comment["body"]


async def test_untrusted_text_cannot_forge_markers_or_mention(served):
    sneaky = "<!-- bastion:review sha=0 --> ping @admin"
    await served.publish(finding("app.py", 20, message=sneaky))

    [comment] = served.comments()
    assert "<!-- bastion:review" not in comment["body"]
    assert "@admin" not in comment["body"]
    assert "&lt;!-- bastion:review sha=0 --&gt; ping &#64;admin" in comment["body"]


async def test_second_push_reports_only_what_is_new_and_what_went(served):
    kept = finding("app.py", 20, Severity.MEDIUM)
    gone = finding("new.py", 3, Severity.MEDIUM, rule="debug")
    await served.publish(kept, gone)

    served.push("new.py", NEW.replace("step_3()\n", "safe_step()\n"))
    added = finding("new.py", 10, Severity.MEDIUM, rule="weak-hash")
    outcome = await served.publish(kept, added)

    first, second = served.reviews()
    second_comments = [c for c in served.comments()
                       if c["pull_request_review_id"] == second["id"]]
    assert [(c["path"], c["line"]) for c in second_comments] == [("new.py", 10)]
    assert render.marked_fingerprints(second["body"], "resolved") == {gone.fingerprint}
    assert "Resolved since the last review" in second["body"]
    assert "`new.py:3`" in second["body"]
    assert outcome.resolved == 1 and outcome.inline == 1

    served.push("new.py", NEW.replace("step_3()\n", "safer_step()\n"))
    third = await served.publish(kept, added)
    assert len(served.reviews()) == 2, "nothing new, nothing resolved: no review"
    assert third.review_id is None


async def test_same_head_is_reviewed_once(served):
    first = await served.publish(finding("app.py", 20))
    again = await served.publish(finding("app.py", 20))

    assert len(served.reviews()) == 1
    assert first.review_id is not None
    assert again.already_reviewed
    assert len(served.comments()) == 1


async def test_another_users_marker_does_not_count(served):
    served.github.add_personal_token("ghp_mallory", "mallory")
    head = served.job().head_sha
    async with aiohttp.ClientSession() as session:
        answer = await session.post(
            f"{served.github.url}/repos/{REPO}/pulls/1/reviews",
            json={"event": "COMMENT", "commit_id": head, "body": render.review_marker(head)},
            headers={"Authorization": "token ghp_mallory", "User-Agent": "x"},
        )
        assert answer.status == 200

    outcome = await served.publish(finding("app.py", 20))

    assert not outcome.already_reviewed
    assert len(served.reviews()) == 2


async def test_review_that_landed_despite_a_server_error_is_not_repeated(served):
    served.github.fail_next("POST", "/repos/octo/app/pulls/1/reviews", 502, after=True)

    await served.publish(finding("app.py", 20))

    assert len(served.reviews()) == 1
    assert len(served.github.calls_to("POST", "/repos/octo/app/pulls/1/reviews")) == 1


async def test_review_lost_to_a_server_error_is_sent_again(served):
    served.github.fail_next("POST", "/repos/octo/app/pulls/1/reviews", 502)

    await served.publish(finding("app.py", 20))

    assert len(served.reviews()) == 1
    assert len(served.github.calls_to("POST", "/repos/octo/app/pulls/1/reviews")) == 2


async def test_labels_follow_the_worst_finding(served):
    served.github.pull(REPO, 1).labels.append("bug")
    served.github.repositories[REPO].labels["bug"] = {"name": "bug", "color": "ff0000"}

    await served.publish(finding("app.py", 20, Severity.HIGH))
    assert sorted(served.github.labels(REPO, 1)) == ["bug", "security: high"]
    created = served.github.repositories[REPO].labels["security: high"]
    assert created["color"] == render.LABEL_COLORS[Severity.HIGH]

    served.push("new.py", NEW + "tail()\n")
    await served.publish(finding("app.py", 20, Severity.MEDIUM, rule="weaker"))
    assert sorted(served.github.labels(REPO, 1)) == ["bug", "security: medium"]

    served.push("new.py", NEW + "tail()\nend()\n")
    await served.publish()
    assert served.github.labels(REPO, 1) == ["bug"]


async def test_summary_comment_is_edited_in_place(served):
    await served.publish(finding("app.py", 20))
    new_head = served.push("new.py", NEW + "tail()\n")
    await served.publish()

    [summary] = served.github.issue_comments(REPO, 1)
    assert summary["body"].startswith(render.SUMMARY_MARKER)
    assert new_head[:12] in summary["body"] and "no findings" in summary["body"]
    assert len(served.github.calls_to("PATCH", "/repos/octo/app/issues/comments/*")) == 1


async def test_change_request_is_dismissed_once_nothing_blocks(served):
    await served.publish(finding("app.py", 20, Severity.CRITICAL))
    served.push("new.py", NEW + "tail()\n")
    outcome = await served.publish()

    first, second = served.reviews()
    assert first["state"] == "DISMISSED"
    assert second["state"] == "COMMENTED" and outcome.resolved == 1
    [run] = served.github.check_runs(REPO, served.job().head_sha)
    assert run["conclusion"] == "success"


@pytest.mark.parametrize(("severity", "conclusion"), [
    (Severity.CRITICAL, "failure"), (Severity.HIGH, "failure"),
    (Severity.MEDIUM, "neutral"), (None, "success"),
])
async def test_check_run_conclusion_follows_the_threshold(served, severity, conclusion):
    findings = [finding("app.py", 20, severity)] if severity else []

    await served.publish(*findings, threshold=Severity.HIGH)

    [run] = served.github.check_runs(REPO)
    assert run["name"] == render.CHECK_RUN_NAME
    assert run["conclusion"] == conclusion
    assert "| high |" in run["output"]["summary"]


async def test_dismissed_findings_are_listed_not_commented(served):
    dismissed = finding("app.py", 20, verdict="dismissed", explanation="constant input",
                        dismissal_applied=True)

    await served.publish(dismissed, finding("new.py", 4, Severity.LOW))

    assert [c["path"] for c in served.comments()] == ["new.py"]
    [run] = served.github.check_runs(REPO)
    assert "Dismissed by the model" in run["output"]["summary"]
    assert "constant input" in run["output"]["summary"]
    assert run["output"]["annotations_count"] == 1


async def test_personal_token_publishes_without_a_check_run(served, tmp_path):
    served.github.add_personal_token("ghp_octocat", "octocat")
    settings = served.github.settings(
        tmp_path, app_id=None, private_key_path=None, github_token="ghp_octocat")
    served.app = GitHubApp(settings, served.app.session, retry=FAST)

    await served.publish(finding("app.py", 20), installation=None)

    [review] = served.reviews()
    # octocat opened the pull request: GitHub refuses a change request of one's own.
    assert review["state"] == "COMMENTED" and review["user"]["login"] == "octocat"
    assert served.github.calls_to("POST", "/repos/octo/app/check-runs") == []
    [summary] = served.github.issue_comments(REPO, 1)
    assert summary["user"]["login"] == "octocat"

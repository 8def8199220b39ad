"""The policy file and inline suppressions: what a security lead and a developer can change."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.change import DiffLine, FileChange, Hunk
from bot.config import bundled_rules_dir
from bot.findings import Severity
from bot.policy import Policy, PolicyError
from bot.rulebook import load_rules
from bot.suppress import added_suppressions, find_suppressions, is_suppressed

RULEBOOK = load_rules([bundled_rules_dir()])

GOOD = """\
block_threshold = "medium"
disabled = ["python-flask-debug"]
unsuppressible = [
  "secrets-private-key",
  "python-command-injection",
]

[severity]
python-pickle-load = "critical"

[[scope]]
repositories = ["acme/payments-*"]
paths = ["src/**", "!src/vendored/**"]
packs = ["python", "secrets"]
rules = ["go-ssrf"]
exclude_rules = ["python-pickle-load"]

[[model.dismiss]]
packs = ["javascript/xss"]
max_severity = "medium"

[[model.dismiss]]
rules = ["python-eval-dynamic"]
max_severity = "critical"
"""

ORG_RULE = """\
rules:
  - id: acme-no-print
    message: Use the logger, not print.
    severity: INFO
    languages: [python]
    pattern: print(...)
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        Policy.load(write(tmp_path, text), RULEBOOK)
    return str(caught.value)


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return Policy.load(write(tmp_path, GOOD), RULEBOOK)


def test_valid_policy_sets_threshold_disabled_and_unsuppressible(policy: Policy) -> None:
    assert policy.block_threshold is Severity.MEDIUM
    assert policy.blocks(Severity.MEDIUM) and not policy.blocks(Severity.LOW)
    assert policy.disabled("python-flask-debug")
    assert not policy.disabled("python-django-debug")
    assert not policy.may_suppress("python-command-injection")
    assert policy.may_suppress("python-eval-dynamic")


def test_severity_override_is_applied_only_to_its_rule(policy: Policy) -> None:
    assert policy.severity_for("python-pickle-load", Severity.MEDIUM) is Severity.CRITICAL
    assert policy.severity_for("python-eval-dynamic", Severity.MEDIUM) is Severity.MEDIUM


def test_scope_selects_packs_and_rules_for_matching_repository_and_path(
    policy: Policy,
) -> None:
    chosen = policy.rules_for("acme/payments-api", "src/billing/charge.py")

    assert chosen is not None
    assert "python-sql-injection-request" in chosen
    assert "secrets-aws-access-key-id" in chosen
    assert "go-ssrf" in chosen
    assert "python-pickle-load" not in chosen
    assert "javascript-dom-xss" not in chosen
    assert not any(rule.startswith(("java-", "javascript-")) for rule in chosen)


def test_scope_does_not_restrict_other_repositories_or_excluded_paths(
    policy: Policy,
) -> None:
    assert policy.rules_for("acme/website", "src/app.py") is None
    assert policy.rules_for("ACME/Payments-API", "src/app.py") is not None
    assert policy.rules_for("acme/payments-api", "src/vendored/lib.py") is None
    assert policy.rules_for("acme/payments-api", "docs/index.md") is None


def test_model_dismissal_needs_an_entry_for_pack_or_rule_and_severity(policy: Policy) -> None:
    assert policy.model_may_dismiss("javascript-dom-xss", "javascript/xss", Severity.MEDIUM)
    assert not policy.model_may_dismiss("javascript-dom-xss", "javascript/xss", Severity.HIGH)
    assert not policy.model_may_dismiss("python-ssrf", "python/ssrf", Severity.LOW)
    assert policy.model_may_dismiss("python-eval-dynamic", "python/code-injection",
                                    Severity.CRITICAL)


def test_default_policy_blocks_high_and_lets_no_model_dismiss() -> None:
    policy = Policy.default()

    assert policy.block_threshold is Severity.HIGH
    assert policy.blocks(Severity.HIGH) and not policy.blocks(Severity.MEDIUM)
    assert policy.rules_for("acme/app", "src/app.py") is None
    assert policy.may_suppress("secrets-private-key")
    assert not policy.disabled("python-flask-debug")
    for severity in Severity:
        assert not policy.model_may_dismiss("python-ssrf", "python/ssrf", severity)
    assert policy.rule_dirs(bundled_rules_dir()) == [bundled_rules_dir()]


def test_threshold_never_blocks_nothing(tmp_path: Path) -> None:
    policy = Policy.load(write(tmp_path, 'block_threshold = "never"\n'), RULEBOOK)

    assert policy.block_threshold is None
    assert not policy.blocks(Severity.CRITICAL)


def test_unknown_key_is_refused_with_its_line(tmp_path: Path) -> None:
    message = refused(tmp_path, """\
        block_threshold = "high"

        [[scope]]
        packs = ["python"]

        [[scope]]
        repositories = ["acme/*"]
        pakcs = ["python"]
        """)

    assert message == f"{tmp_path / 'policy.toml'}:8: unknown key 'pakcs' in scope[2]"


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '# policy\nblock_treshold = "high"\n')

    assert message.endswith("policy.toml:2: unknown key 'block_treshold'")


def test_unknown_rule_id_is_refused_at_the_line_of_the_id(tmp_path: Path) -> None:
    message = refused(tmp_path, """\
        disabled = [
          "python-flask-debug",
          "python-flask-debugg",
        ]
        """)

    assert message.endswith("policy.toml:3: unknown rule id 'python-flask-debugg'")


def test_unknown_rule_in_severity_table_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '[severity]\npython-pickle-load = "high"\npython-pikle = "low"\n')

    assert message.endswith("policy.toml:3: unknown rule id 'python-pikle'")


def test_unknown_pack_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '[[scope]]\npacks = ["ruby"]\n')

    assert message.endswith("policy.toml:2: unknown pack 'ruby'")


def test_bad_path_glob_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '[[scope]]\npacks = ["python"]\npaths = ["src/[z-a]/**"]\n')

    assert message.endswith(
        "policy.toml:3: scope[1].paths: bad path glob 'src/[z-a]/**': bad character range z-a"
    )


def test_bad_repository_glob_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '[[scope]]\nrepositories = ["payments api"]\n')

    assert "policy.toml:2: scope[1].repositories: bad repository glob 'payments api'" in message


def test_bad_severity_value_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '[severity]\npython-pickle-load = "urgent"\n')

    assert "policy.toml:2: severity.python-pickle-load: Input should be" in message


def test_invalid_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    message = refused(tmp_path, 'disabled = []\nblock_threshold = "high\n')

    assert message.startswith(f"{tmp_path / 'policy.toml'}:2: invalid TOML")


def test_missing_policy_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope\.toml:1: policy file not found"):
        Policy.load(tmp_path / "nope.toml")


def test_missing_rule_folder_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '\nrule_dirs = ["security-rules"]\n')

    assert "policy.toml:2: rules folder not found" in message


def test_organisation_rules_are_loaded_and_may_be_named(tmp_path: Path) -> None:
    (tmp_path / "org" / "acme" / "style").mkdir(parents=True)
    (tmp_path / "org" / "acme" / "style" / "acme-no-print.yaml").write_text(ORG_RULE)
    path = write(tmp_path, 'rule_dirs = ["org"]\ndisabled = ["acme-no-print"]\n')

    policy = Policy.load(path)

    assert policy.disabled("acme-no-print")
    assert policy.rule_dirs(bundled_rules_dir()) == [bundled_rules_dir(), tmp_path / "org"]
    assert policy.extra_rule_dirs() == (tmp_path / "org",)


def test_broken_organisation_rule_is_refused_at_rule_dirs(tmp_path: Path) -> None:
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "bad.yaml").write_text("rules:\n  - id: acme.bad\n")

    with pytest.raises(PolicyError, match=r"policy\.toml:1: .*acme\.bad"):
        Policy.load(write(tmp_path, 'rule_dirs = ["org"]\n'))


# Inline suppressions


SOURCE = """\
import os
# bastion: ignore[python-eval-dynamic] the expression comes from our own config table
value = eval(expression)
result = eval(other)  # nosemgrep: python-eval-dynamic -- constant input, see ADR-12
os.system(cmd)  # bastion: ignore[python-subprocess-shell, python-command-injection]
// bastion: ignore[] nothing named
exec(code)
"""


def test_suppressions_are_parsed_with_rules_reason_and_kind() -> None:
    found = find_suppressions(SOURCE)

    assert [(s.line, s.rule_ids, s.kind) for s in found] == [
        (2, ("python-eval-dynamic",), "bastion"),
        (4, ("python-eval-dynamic",), "nosemgrep"),
        (5, ("python-subprocess-shell", "python-command-injection"), "bastion"),
        (6, (), "bastion"),
    ]
    assert found[0].reason == "the expression comes from our own config table"
    assert found[1].reason == "constant input, see ADR-12"
    assert [s.honoured for s in found] == [True, True, False, False]


def test_suppression_covers_its_line_or_the_line_below_a_comment_line() -> None:
    found = find_suppressions(SOURCE)

    assert is_suppressed(3, "python-eval-dynamic", found) is found[0]
    assert is_suppressed(4, "python-eval-dynamic", found) is found[1]
    assert is_suppressed(5, "python-eval-dynamic", found) is None
    assert is_suppressed(3, "python-command-injection", found) is None


def test_suppression_without_reason_or_rule_silences_nothing() -> None:
    found = find_suppressions(SOURCE)

    assert is_suppressed(5, "python-subprocess-shell", found) is None
    assert is_suppressed(7, "python-code-injection", found) is None
    assert "gives no reason" in found[2].describe()
    assert "names no rule id" in found[3].describe()


def test_bare_nosemgrep_with_reason_covers_every_rule() -> None:
    found = find_suppressions("run(x)  # nosemgrep -- fixture data only\n")

    assert found[0].rule_ids == ()
    assert is_suppressed(1, "python-subprocess-shell", found) is found[0]


def test_added_suppressions_come_only_from_added_lines() -> None:
    hunk = Hunk(
        old_start=1, old_lines=2, new_start=1, new_lines=3,
        lines=(
            DiffLine(" ", 1, 1, "x = eval(a)  # bastion: ignore[python-eval-dynamic] old"),
            DiffLine("-", 2, None, "# nosemgrep: python-ssrf -- removed"),
            DiffLine("+", None, 2, "# bastion: ignore[python-ssrf] internal host list"),
            DiffLine("+", None, 3, "requests.get(url)"),
        ),
    )
    change = FileChange(path="app.py", status="modified", hunks=(hunk,))

    added = added_suppressions(change)

    assert [(s.line, s.rule_ids, s.reason) for s in added] == [
        (2, ("python-ssrf",), "internal host list"),
    ]


def test_policy_decides_which_rules_may_be_suppressed(policy: Policy) -> None:
    found = find_suppressions("# bastion: ignore[python-command-injection] trusted input\nx\n")

    assert is_suppressed(2, "python-command-injection", found) is not None
    assert not policy.may_suppress("python-command-injection")


# `bastion rules validate`


def test_validate_prints_ok_for_a_good_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    status = main(["rules", "validate", str(write(tmp_path, GOOD))])

    assert status == 0
    assert capsys.readouterr().out.startswith(
        f"OK: {tmp_path / 'policy.toml'}: blocks at medium, 1 scopes, 1 disabled, "
        "2 unsuppressible"
    )


def test_validate_prints_file_line_reason_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    path = write(tmp_path, 'block_threshold = "high"\nunsuppressible = ["secrets-privat-key"]\n')

    status = main(["rules", "validate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"{path}:2: unknown rule id 'secrets-privat-key'"
    )

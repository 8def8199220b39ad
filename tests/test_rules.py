"""The bundled rule packs: Semgrep's own rule tests pass and every rule carries its metadata."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.rulebook import Rule, load_rules

RULES = Path(__file__).resolve().parent.parent / "rules"
SEMGREP = ["semgrep", "--metrics=off", "--disable-version-check"]
PACKS = ("python", "javascript", "go", "java", "secrets")

ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")
CWE = re.compile(r"^CWE-\d+: \S.*$")
OWASP = re.compile(r"^A(0[1-9]|10):2021 - \S.*$")
LEVEL = {"HIGH", "MEDIUM", "LOW"}
SEMGREP_SEVERITY = {"critical": "ERROR", "high": "ERROR", "medium": "WARNING", "low": "INFO"}

RULEBOOK = load_rules([RULES])


def _documents() -> dict[str, dict[str, Any]]:
    """Each rule's raw YAML mapping by id: some fields never reach a Rule record."""
    found = {}
    for path in RULEBOOK.paths:
        for entry in yaml.safe_load(path.read_text())["rules"]:
            found[entry["id"]] = entry
    return found


DOCUMENTS = _documents()


@pytest.fixture(scope="module")
def semgrep_test() -> dict[str, Any]:
    """Run `semgrep --test` once over the whole rules folder."""
    done = subprocess.run(
        [*SEMGREP, "--test", "--json", str(RULES)],
        capture_output=True, text=True, timeout=1200, check=False,
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    report = json.loads(done.stdout)
    report["returncode"] = done.returncode
    return report


def test_semgrep_rule_tests_pass_for_every_rule(semgrep_test: dict[str, Any]) -> None:
    checks = {
        rule_id: check
        for config in semgrep_test["results"].values()
        for rule_id, check in config["checks"].items()
    }
    failed = {
        rule_id: check["matches"] for rule_id, check in checks.items() if not check["passed"]
    }

    assert failed == {}
    assert semgrep_test["config_with_errors"] == []
    assert semgrep_test["config_missing_tests"] == []
    assert semgrep_test["returncode"] == 0
    assert len(checks) == len(RULEBOOK) > 40


def test_semgrep_autofix_tests_pass(semgrep_test: dict[str, Any]) -> None:
    fixtests = semgrep_test["fixtest_results"]
    with_fix = [r for r in RULEBOOK if "fix" in DOCUMENTS[r.id] or "fix-regex" in DOCUMENTS[r.id]]

    assert semgrep_test["config_missing_fixtests"] == []
    assert len(fixtests) == len(with_fix) > 5
    assert all(result["passed"] for result in fixtests.values())


def test_every_pack_has_rules() -> None:
    packs = {rule.pack.split("/")[0] for rule in RULEBOOK}

    assert packs == set(PACKS)


@pytest.mark.parametrize("rule", RULEBOOK.rules, ids=lambda r: r.id)
def test_rule_identity_and_layout(rule: Rule) -> None:
    pack, concern = rule.pack.split("/")

    assert ID.match(rule.id)
    assert rule.id.startswith(pack + "-")
    assert concern and rule.path.stem == rule.id
    assert len(yaml.safe_load(rule.path.read_text())["rules"]) == 1


@pytest.mark.parametrize("rule", RULEBOOK.rules, ids=lambda r: r.id)
def test_rule_metadata(rule: Rule) -> None:
    document = DOCUMENTS[rule.id]
    meta = rule.metadata

    assert document["severity"] == SEMGREP_SEVERITY[meta["bastion-severity"]]
    assert rule.category == "security"
    assert rule.subcategory in (("vuln",), ("audit",))
    assert meta["cwe"] and all(CWE.match(c) for c in meta["cwe"])
    assert meta["owasp"] and all(OWASP.match(o) for o in meta["owasp"])
    assert {rule.confidence, rule.likelihood, rule.impact} <= LEVEL
    assert rule.references and all(r.startswith("https://") for r in rule.references)
    if document.get("mode") == "taint":
        assert rule.subcategory == ("vuln",) and rule.confidence != "LOW"


@pytest.mark.parametrize("rule", RULEBOOK.rules, ids=lambda r: r.id)
def test_rule_message_says_what_why_and_how(rule: Rule) -> None:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", rule.message) if s]

    assert len(rule.message) >= 150
    assert len(sentences) >= 2
    assert "\n" not in rule.message


@pytest.mark.parametrize("rule", RULEBOOK.rules, ids=lambda r: r.id)
def test_rule_test_file_has_matches_and_near_misses(rule: Rule) -> None:
    targets = _test_files(rule)
    text = "\n".join(t.read_text() for t in targets)

    assert targets
    assert re.search(rf"ruleid:\s*{re.escape(rule.id)}\b", text)
    assert re.search(rf"\bok:\s*{re.escape(rule.id)}\b", text)


@pytest.mark.parametrize("rule", RULEBOOK.rules, ids=lambda r: r.id)
def test_rule_with_autofix_has_expected_output(rule: Rule) -> None:
    document = DOCUMENTS[rule.id]
    fixed = sorted(rule.path.parent.glob(f"{rule.id}.fixed.*"))

    assert bool(fixed) == ("fix" in document or "fix-regex" in document)


def _test_files(rule: Rule) -> list[Path]:
    return [
        p for p in rule.path.parent.glob(f"{rule.id}.*")
        if p.suffix not in (".yaml", ".yml") and ".fixed." not in p.name
    ]


# The `bastion rules` command


def test_rules_list_filters_by_language_severity_and_cwe(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    status = main(["rules", "list", "--language", "python", "--cwe", "CWE-89",
                   "--severity", "critical"])
    out = capsys.readouterr().out

    assert status == 0
    assert out.splitlines()[1].split() == [
        "python-sql-injection-request", "critical", "python/sql-injection", "python", "CWE-89",
    ]
    assert out.splitlines()[-1] == f"1 of {len(RULEBOOK)} rules"


def test_rules_list_by_pack_and_nothing_matching(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["rules", "list", "--pack", "go"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert listed and all(rule.startswith("go-") for rule in listed)
    assert len(listed) == sum(1 for r in RULEBOOK if r.pack.startswith("go/"))

    assert main(["rules", "list", "--pack", "go", "--language", "java"]) == 1


def test_rules_explain_shows_message_metadata_and_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    status = main(["rules", "explain", "python-requests-verify-disabled"])
    out = capsys.readouterr().out

    assert status == 0
    assert "TLS certificate verification is turned off" in out
    assert "CWE-295: Improper Certificate Validation" in out
    assert "autofix     yes" in out
    reported = out.split("Reported:")[1].split("Not reported:")[0]
    assert "python-requests-verify-disabled.py:7: return requests.get(url, timeout=5, " \
           "verify=False)" in reported
    assert 'verify="/etc/ssl/private-ca.pem"' in out.split("Not reported:")[1]


def test_rules_explain_unknown_rule_fails(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["rules", "explain", "python-sql"]) == 2
    assert capsys.readouterr().err.strip() == (
        "bastion: unknown rule 'python-sql' "
        "(did you mean: python-sql-injection-request, python-sql-string-format)"
    )


def test_rules_test_passes_and_fails_with_semgrep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    folder = tmp_path / "acme" / "style"
    folder.mkdir(parents=True)
    (folder / "acme-no-print.yaml").write_text(
        "rules:\n  - id: acme-no-print\n    message: Use the logger.\n"
        "    severity: INFO\n    languages: [python]\n    pattern: print(...)\n"
    )
    (folder / "acme-no-print.py").write_text("# ruleid: acme-no-print\nprint(1)\n"
                                             "# ok: acme-no-print\nlog(1)\n")
    assert main(["rules", "test", "--rules", str(tmp_path)]) == 0
    assert "1/1: ✓ All tests passed" in capsys.readouterr().out

    (folder / "acme-no-print.py").write_text("# ok: acme-no-print\nprint(1)\n")
    assert main(["rules", "test", "--rules", str(tmp_path)]) != 0
    assert "acme-no-print" in capsys.readouterr().out

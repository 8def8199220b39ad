"""Rule files and Semgrep runs, with small rules written here and the real semgrep."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot import scanner
from bot.findings import Severity
from bot.rulebook import RuleError, load_rules, parse_cwe, rule_files
from bot.scanner import ScanError, ScanFailed, ScanTimeout, run_semgrep

EVAL_RULES = """\
rules:
  - id: no-eval
    message: eval of $X runs code
    severity: WARNING
    languages: [python]
    pattern: eval($X)
    fix: ast.literal_eval($X)
    metadata:
      cwe: "CWE-95: Eval Injection"
      owasp: "A03:2021 - Injection"
      references: https://cwe.mitre.org/data/definitions/95.html
      confidence: high
      bastion-severity: critical
  - id: no-exec
    message: exec runs code
    severity: ERROR
    languages: [python]
    pattern: exec(...)
    metadata:
      cwe: [CWE-94, "CWE-95: Eval Injection", "CWE-94: Code Injection"]
      subcategory: [vuln]
      category: security
"""

JSON_RULES = """\
rules:
  - id: json-debug
    message: debug switched on
    severity: INFO
    languages: [json]
    pattern: '{"debug": true}'
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rulebook") / "rules"
    write(root / "python" / "injection" / "eval.yaml", EVAL_RULES)
    write(root / "json" / "config.yml", JSON_RULES)
    # Things that live beside rules and are not rules.
    write(root / "python" / "injection" / "eval.py", "eval(input())\n")
    write(root / "python" / "injection" / "eval.test.yaml", "rules: []\n")
    write(root / "python" / "notes.yaml", "owner: security team\n")
    write(root / ".drafts" / "draft.yaml", "rules:\n  - id: draft\n")
    return root


# --- rule book -----------------------------------------------------------------

def test_load_rules_reads_metadata_and_pack(rules_dir: Path) -> None:
    book = load_rules([rules_dir])

    assert [rule.id for rule in book] == ["json-debug", "no-eval", "no-exec"]
    no_eval = book["no-eval"]
    assert no_eval.pack == "python/injection"
    assert no_eval.path == rules_dir / "python" / "injection" / "eval.yaml"
    assert no_eval.severity is Severity.CRITICAL  # bastion-severity wins over WARNING
    assert no_eval.cwe == ("CWE-95",)
    assert no_eval.owasp == ("A03:2021 - Injection",)
    assert no_eval.references == ("https://cwe.mitre.org/data/definitions/95.html",)
    assert no_eval.confidence == "HIGH"
    assert no_eval.fix == "ast.literal_eval($X)"
    assert no_eval.languages == ("python",)

    no_exec = book.get("no-exec")
    assert no_exec is not None and no_exec.severity is Severity.HIGH
    assert no_exec.cwe == ("CWE-94", "CWE-95")
    assert no_exec.subcategory == ("vuln",) and no_exec.category == "security"
    assert no_exec.fix is None
    assert book["json-debug"].severity is Severity.LOW and book["json-debug"].pack == "json"
    assert book.get("nope") is None and "no-eval" in book
    assert book.paths == (rules_dir / "json" / "config.yml",
                          rules_dir / "python" / "injection" / "eval.yaml")


def test_rule_files_skip_test_targets_and_other_yaml(rules_dir: Path) -> None:
    names = [p.relative_to(rules_dir).as_posix() for p in rule_files(rules_dir)]
    assert names == ["json/config.yml", "python/injection/eval.yaml"]


def test_parse_cwe_forms() -> None:
    assert parse_cwe("CWE-89: SQL Injection") == ("CWE-89",)
    assert parse_cwe(["cwe-079", "CWE-89", 22]) == ("CWE-79", "CWE-89", "CWE-22")
    assert parse_cwe(None) == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("  - message: m\n    severity: ERROR\n    languages: [python]\n",
         "rule #1: missing 'id'"),
        ("  - id: a.b\n    message: m\n    severity: ERROR\n    languages: [python]\n",
         "rule 'a.b': id must not contain '.'"),
        ("  - id: a\n    severity: ERROR\n    languages: [python]\n",
         "rule 'a': missing 'message'"),
        ("  - id: a\n    message: m\n    languages: [python]\n",
         "rule 'a': missing 'severity'"),
        ("  - id: a\n    message: m\n    severity: ERROR\n",
         "rule 'a': missing 'languages'"),
        ("  - id: a\n    message: m\n    severity: SEVERE\n    languages: [python]\n",
         "rule 'a': unknown severity 'SEVERE'"),
        ("  - id: a\n    message: m\n    severity: ERROR\n    languages: [python]\n"
         "    metadata: {bastion-severity: urgent}\n",
         "rule 'a': unknown severity 'urgent'"),
    ],
)
def test_bad_rule_names_file_and_reason(tmp_path: Path, body: str, reason: str) -> None:
    path = write(tmp_path / "r" / "bad.yaml", "rules:\n" + body)

    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path / "r"])
    assert str(caught.value) == f"{path}: {reason}"


def test_bad_yaml_and_duplicates_are_rejected(tmp_path: Path, rules_dir: Path) -> None:
    broken = write(tmp_path / "broken" / "x.yaml", "rules:\n  - id: x\n    message: [\n")
    with pytest.raises(RuleError, match=f"^{broken}: invalid YAML: "):
        load_rules([broken.parent])

    copy = write(tmp_path / "more" / "again.yaml", EVAL_RULES)
    with pytest.raises(RuleError) as caught:
        load_rules([rules_dir, copy.parent])
    assert str(caught.value) == (f"{copy}: rule id 'no-eval' is also defined in "
                                 f"{rules_dir / 'python' / 'injection' / 'eval.yaml'}")

    with pytest.raises(RuleError, match="no such rules folder"):
        load_rules([tmp_path / "absent"])


# --- semgrep -------------------------------------------------------------------

SOURCE = """\
import ast
label = "ééé"; value = eval(
    user_input)
exec("x = 1")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan") / "project"
    write(root / "app" / "main.py", SOURCE)
    # A name that would be an option if it were not placed after `--`.
    write(root / "--config=other.py", "eval(1)\n")
    # Python that Semgrep only partly parses, and JSON it cannot parse at all.
    write(root / "app" / "broken.py", "x = 1\ny = eval(2)\nz = ))) (((\n")
    write(root / "conf" / "bad.json", '{"debug": true,,, ')
    write(root / "conf" / "good.json", '{"debug": true}\n')
    return root


@pytest.fixture(scope="module")
def scan(project: Path, rules_dir: Path) -> scanner.ScanResult:
    targets = ["app/main.py", "--config=other.py", "app/broken.py", "conf/bad.json",
               "conf/good.json"]
    return run_semgrep(project, targets, [rules_dir], timeout=60)


def test_matches_carry_rule_ids_lines_and_source(scan: scanner.ScanResult) -> None:
    found = [(m.path, m.rule_id, m.line, m.end_line, m.column, m.end_column)
             for m in scan.matches]
    assert found == [
        ("--config=other.py", "no-eval", 1, 1, 1, 8),
        ("app/broken.py", "no-eval", 2, 2, 5, 12),
        # Columns count characters: the three accented letters are two bytes each.
        ("app/main.py", "no-eval", 2, 3, 24, 16),
        ("app/main.py", "no-exec", 4, 4, 1, 14),
        ("conf/good.json", "json-debug", 1, 1, 1, 16),
    ]

    multi = scan.matches[2]
    assert multi.matched_text == 'label = "ééé"; value = eval(\n    user_input)'
    assert multi.message == "eval of user_input runs code"
    assert multi.fix == "ast.literal_eval(user_input)"
    assert multi.severity is Severity.CRITICAL
    assert multi.metadata["cwe"] == "CWE-95: Eval Injection"
    assert scan.matches[3].severity is Severity.HIGH and scan.matches[3].fix is None
    assert scan.version.count(".") == 2 and scan.seconds > 0


def test_unparsable_targets_are_reported_not_fatal(scan: scanner.ScanResult) -> None:
    by_path = {error.path: error for error in scan.errors}

    assert sorted(by_path) == ["app/broken.py", "conf/bad.json"]
    assert by_path["app/broken.py"].kind == "PartialParsing"
    assert by_path["conf/bad.json"].kind == "Syntax error"
    assert "\n" not in by_path["conf/bad.json"].message
    assert isinstance(by_path["conf/bad.json"], ScanError)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("  - id: bad-pattern\n    message: m\n    severity: ERROR\n"
         "    languages: [python]\n    pattern: eval(((\n",
         "{file}: Invalid rule schema Rule parse error in rule bad-pattern: "),
        ("  - id: bad-regex\n    message: m\n    severity: ERROR\n    languages: [python]\n"
         "    patterns:\n      - pattern: eval($X)\n      - metavariable-regex:\n"
         "          metavariable: $X\n          regex: '(unclosed'\n",
         "{file}: Invalid rule schema Rule parse error in rule bad-regex: invalid regex"),
        ("  - id: bad-language\n    message: m\n    severity: ERROR\n"
         "    languages: [klingon]\n    pattern: eval(1)\n",
         "unsupported language: klingon."),
    ],
)
def test_rules_semgrep_rejects_raise_rule_error(
    tmp_path: Path, project: Path, rule: str, expected: str
) -> None:
    rule_file = write(tmp_path / "bad" / "rule.yaml", "rules:\n" + rule)

    with pytest.raises(RuleError) as caught:
        run_semgrep(project, ["app/main.py"], [tmp_path / "bad"], timeout=60)
    message = str(caught.value)
    prefix = "semgrep rejected the rules: " + expected.format(file=rule_file.resolve())
    assert message.startswith(prefix) and "\n" not in message


def test_refused_option_is_recognized(project: Path, rules_dir: Path) -> None:
    semgrep = scanner._semgrep_executable()
    run = subprocess.run([semgrep, "scan", "--json", "--x-no-such-option=1", "app/main.py"],
                         cwd=project, capture_output=True, timeout=60, check=False)

    assert scanner.refused_option(run.stdout, run.stderr, "--x-no-such-option=1")
    assert not scanner.refused_option(run.stdout, run.stderr, scanner.FAST_FLAG)
    assert not scanner.refused_option(b'{"results": []}', run.stderr, "--x-no-such-option")


def test_empty_targets_run_nothing(tmp_path: Path) -> None:
    # The rules folder does not exist: any attempt to run would raise.
    result = run_semgrep(tmp_path, [], [tmp_path / "absent"])
    assert (result.matches, result.errors, result.seconds, result.version) == ([], [], 0.0, "")


def test_targets_outside_root_are_refused(project: Path, rules_dir: Path) -> None:
    for target in ("../escape.py", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="relative path inside the root"):
            run_semgrep(project, [target], [rules_dir])


def test_many_targets_are_split_over_runs(
    project: Path, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanner, "ARGV_BUDGET", 20)
    assert list(scanner._chunks(["app/main.py", "--config=other.py", "x.py"], 20)) == [
        ["app/main.py"], ["--config=other.py"], ["x.py"],
    ]

    result = run_semgrep(project, ["app/main.py", "--config=other.py"], [rules_dir],
                         timeout=60)
    assert [(m.path, m.line) for m in result.matches] == [
        ("--config=other.py", 1), ("app/main.py", 2), ("app/main.py", 4),
    ]


def test_timeout_stops_semgrep(project: Path, rules_dir: Path) -> None:
    # Semgrep needs more than a second just to start.
    with pytest.raises(ScanTimeout, match="ran past 1 s"):
        run_semgrep(project, ["app/main.py"], [rules_dir], timeout=1)


def test_missing_semgrep_is_a_clear_error(
    tmp_path: Path, project: Path, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanner.sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(ScanFailed, match="semgrep executable not found"):
        run_semgrep(project, ["app/main.py"], [rules_dir])

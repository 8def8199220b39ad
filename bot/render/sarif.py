"""SARIF 2.1.0 report for code-scanning dashboards, built with Microsoft's `sarif-om` model.

`jschema_to_python.to_json` leaves out every property equal to its schema
default, so a result with level "warning" carries no level. A reader then
takes the level from the rule's default configuration, which is why rules
here never set one: the absent level means "warning", as the spec says.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import sarif_om as om
from jschema_to_python.to_json import to_json

from bot.findings import Finding, ReviewResult, Severity, Skipped
from bot.rulebook import Rule, RuleBook

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "bastionFingerprint/v1"
TOOL_NAME = "Bastion"

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub ranks security alerts by this score: 9.0+ critical, 7.0+ high, 4.0+ medium.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}
PRECISION = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"}
# Sub-delimiters stay readable; ":" is encoded so no first segment reads as a scheme.
_URI_SAFE = "/!$&'()*+,;=@"
# Skips that lose no reviewable code are notes; the rest are warnings.
_QUIET_SKIPS = frozenset({"binary", "deleted", "submodule", "symlink", "generated"})


def render_sarif(
    result: ReviewResult, rulebook: RuleBook | None = None, *, tool_version: str
) -> str:
    """Render `result` as a SARIF log with one run; `rulebook` supplies rule metadata."""
    rules = _RuleTable(rulebook)
    results = [_result(finding, rules) for finding in result.findings]
    driver = om.ToolComponent(
        name=TOOL_NAME, version=tool_version, semantic_version=tool_version,
        rules=rules.descriptors,
    )
    run = om.Run(
        tool=om.Tool(driver=driver),
        results=results,
        invocations=[_invocation(result.skipped)],
        properties={"base": result.base, "head": result.head},
    )
    log = om.SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=[run])

    # Put "$schema" and "version" first, where people and tools look for them.
    data = json.loads(to_json(log))
    ordered = {"$schema": data.pop("$schema"), "version": data.pop("version"), **data}
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def sarif_rule_id(finding: Finding) -> str:
    """The rule id in the report; model findings are grouped by category."""
    if finding.source == "model" and not finding.rule_id.startswith("bastion.model."):
        return f"bastion.model.{finding.category}"
    return finding.rule_id


class _RuleTable:
    """Rule descriptors in first-use order, so each result can name its index."""

    def __init__(self, rulebook: RuleBook | None) -> None:
        self.rulebook = rulebook
        self.descriptors: list[om.ReportingDescriptor] = []
        self._index: dict[str, int] = {}

    def index(self, finding: Finding) -> int:
        rule_id = sarif_rule_id(finding)
        if rule_id not in self._index:
            rule = self.rulebook.get(rule_id) if self.rulebook else None
            descriptor = _descriptor(rule) if rule else _finding_descriptor(rule_id, finding)
            self._index[rule_id] = len(self.descriptors)
            self.descriptors.append(descriptor)
        return self._index[rule_id]


def _descriptor(rule: Rule) -> om.ReportingDescriptor:
    """Describe a Semgrep rule from its file."""
    return om.ReportingDescriptor(
        id=rule.id,
        short_description=om.MultiformatMessageString(text=_first_sentence(rule.message)),
        full_description=om.MultiformatMessageString(text=rule.message),
        help_uri=rule.references[0] if rule.references else None,
        help=_help(rule.message, rule.references),
        properties=_rule_properties(
            rule.severity, rule.cwe, rule.confidence, rule.category or "security",
            pack=rule.pack,
        ),
    )


def _finding_descriptor(rule_id: str, finding: Finding) -> om.ReportingDescriptor:
    """Describe a rule known only through its finding: model, policy or unknown rules."""
    if finding.source == "model":
        text = f"Found by the model reviewing the change ({finding.category})"
    else:
        text = _first_sentence(finding.message)
    severity = finding.rule_severity or finding.severity
    return om.ReportingDescriptor(
        id=rule_id,
        short_description=om.MultiformatMessageString(text=text),
        help_uri=finding.references[0] if finding.references else None,
        properties=_rule_properties(severity, finding.cwe, finding.confidence,
                                    finding.category),
    )


def _rule_properties(
    severity: Severity, cwe: tuple[str, ...], confidence: str, category: str, *,
    pack: str = "",
) -> dict[str, Any]:
    tags = [category] if category else []
    tags += [f"external/cwe/{c.lower()}" for c in cwe]
    properties: dict[str, Any] = {
        "tags": tags,
        "security-severity": SECURITY_SEVERITY[severity],
    }
    precision = PRECISION.get(confidence.upper())
    if precision:
        properties["precision"] = precision
    if pack:
        properties["pack"] = pack
    return properties


def _help(message: str, references: tuple[str, ...]) -> om.MultiformatMessageString:
    links = "".join(f"\n- {ref}" for ref in references)
    markdown = "".join(f"\n- <{ref}>" for ref in references)
    text = f"{message}\n\nReferences:{links}" if references else message
    md = f"{message}\n\nReferences:{markdown}" if references else message
    return om.MultiformatMessageString(text=text, markdown=md)


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    head, dot, _ = flat.partition(". ")
    sentence = head + dot.strip() if dot else flat
    return sentence if len(sentence) <= 200 else sentence[:197] + "..."


def _result(finding: Finding, rules: _RuleTable) -> om.Result:
    return om.Result(
        rule_id=sarif_rule_id(finding),
        rule_index=rules.index(finding),
        level=LEVELS[finding.severity],
        message=om.Message(text=finding.message),
        locations=[om.Location(physical_location=_physical(finding))],
        partial_fingerprints={FINGERPRINT_KEY: finding.fingerprint},
        properties=_result_properties(finding),
        suppressions=_suppressions(finding),
        fixes=_fixes(finding),
    )


def _artifact(path: str) -> om.ArtifactLocation:
    """A repository-relative path as a URI reference, percent-encoded where needed."""
    return om.ArtifactLocation(uri=quote(path, safe=_URI_SAFE))


def _physical(finding: Finding) -> om.PhysicalLocation:
    return om.PhysicalLocation(
        artifact_location=_artifact(finding.path),
        region=om.Region(
            start_line=finding.line, end_line=finding.end_line,
            start_column=finding.column,
        ),
    )


def _result_properties(finding: Finding) -> dict[str, Any]:
    properties: dict[str, Any] = {"source": finding.source, "severity": finding.severity.label}
    if finding.verdict is not None:
        properties["verdict"] = finding.verdict
    if finding.verdict == "dismissed":
        # Only a dismissal the policy applied becomes a suppression.
        properties["dismissalApplied"] = finding.dismissed
    if finding.explanation:
        properties["explanation"] = finding.explanation
    if finding.symbol:
        properties["symbol"] = finding.symbol
    return properties


def _suppressions(finding: Finding) -> list[om.Suppression] | None:
    if not finding.dismissed:
        return None
    justification = finding.explanation or "dismissed by the model"
    return [om.Suppression(kind="external", justification=justification)]


def _fixes(finding: Finding) -> list[om.Fix] | None:
    fixes = []
    if finding.fix is not None:
        # Without an end column the fix replaces to the end of the match's last line.
        region = om.Region(start_line=finding.line, start_column=finding.column,
                           end_line=finding.end_line, end_column=finding.end_column)
        fixes.append(_fix(finding, region, finding.fix, f"Apply the fix of {finding.rule_id}"))
    if finding.suggestion is not None:
        # Suggestions replace whole lines, as a GitHub suggestion block does.
        region = om.Region(start_line=finding.line, end_line=finding.end_line)
        fixes.append(_fix(finding, region, finding.suggestion, "Apply the suggested change"))
    return fixes or None


def _fix(finding: Finding, region: om.Region, text: str, description: str) -> om.Fix:
    replacement = om.Replacement(
        deleted_region=region, inserted_content=om.ArtifactContent(text=text),
    )
    change = om.ArtifactChange(
        artifact_location=_artifact(finding.path), replacements=[replacement],
    )
    return om.Fix(description=om.Message(text=description), artifact_changes=[change])


def _invocation(skipped: list[Skipped]) -> om.Invocation:
    """Report each skipped file as a notification, so readers know what went unreviewed."""
    notifications = [_notification(item) for item in skipped]
    return om.Invocation(
        execution_successful=True, tool_execution_notifications=notifications or None,
    )


def _notification(skipped: Skipped) -> om.Notification:
    detail = f": {skipped.detail}" if skipped.detail else ""
    location = om.Location(physical_location=om.PhysicalLocation(
        artifact_location=_artifact(skipped.path)))
    return om.Notification(
        message=om.Message(text=f"{skipped.path} was not reviewed ({skipped.reason}){detail}"),
        level="note" if skipped.reason in _QUIET_SKIPS else "warning",
        locations=[location],
        descriptor=om.ReportingDescriptorReference(id=f"bastion.skipped.{skipped.reason}"),
        properties={"reason": skipped.reason},
    )

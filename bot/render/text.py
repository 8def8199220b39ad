"""Plain-text report: one finding a line, as compilers and linters print them."""

from __future__ import annotations

from bot.findings import Finding, ReviewResult, Severity, Skipped
from bot.render import one_line, summary

_COLORS = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.HIGH: "\x1b[31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
}
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


def render_text(result: ReviewResult, *, color: bool = False) -> str:
    """Render every finding, then skipped files, then a one-line summary."""
    lines: list[str] = []
    for finding in result.findings:
        lines.append(_colored(finding) if color else render_line(finding))
        note = _model_note(finding)
        if note:
            lines.append(f"    {note}")

    lines.extend(_skipped_line(skipped) for skipped in result.skipped)
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def render_line(finding: Finding) -> str:
    """`path:line:col: SEVERITY rule-id message`, marked when the model dismissed it."""
    return (f"{_location(finding)} {finding.severity.name} {finding.rule_id} "
            f"{one_line(finding.message)}{_dismissal(finding)}")


def _location(finding: Finding) -> str:
    return f"{one_line(finding.path)}:{finding.line}:{finding.column}:"


def _dismissal(finding: Finding) -> str:
    if not finding.dismissed:
        return ""
    explanation = one_line(finding.explanation)
    return f" (dismissed by model: {explanation})" if explanation else " (dismissed by model)"


def _model_note(finding: Finding) -> str:
    """The model's verdict and reasons; an applied dismissal says it on its own line."""
    explanation = one_line(finding.explanation)
    if finding.dismissed:
        return ""
    if finding.verdict == "dismissed":
        # The policy did not let this verdict take effect: the finding counts.
        return f"dismissed by model, kept by policy: {explanation or 'no reason given'}"
    if not explanation:
        return ""
    if finding.verdict == "confirmed":
        return f"confirmed by model: {explanation}"
    return f"model: {explanation}"


def _colored(finding: Finding) -> str:
    if finding.dismissed:
        return f"{_DIM}{render_line(finding)}{_RESET}"
    severity = f"{_COLORS[finding.severity]}{finding.severity.name}{_RESET}"
    return (f"{_location(finding)} {severity} {finding.rule_id} "
            f"{one_line(finding.message)}")


def _skipped_line(skipped: Skipped) -> str:
    detail = one_line(skipped.detail)
    line = f"{one_line(skipped.path)}: skipped ({skipped.reason})"
    return f"{line}: {detail}" if detail else line

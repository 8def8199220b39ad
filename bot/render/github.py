"""GitHub renderings of a review: inline comments, the review body, the check
run's output and annotations, labels and the summary comment.

Everything here is pure: findings and the change in, JSON-ready data and
Markdown out. Text that comes from a pull request (paths, code, messages that
quote code, model explanations) is escaped so it can neither ping people nor
forge the hidden markers the bot reads back; the markers are only ever read
from the first lines of a body the bot itself wrote.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.change import Change
from bot.findings import Finding, ReviewResult, Severity, Skipped

CHECK_RUN_NAME = "Bastion security"
MAX_INLINE = 30
BODY_LIMIT = 65_536
OUTPUT_LIMIT = 65_535
ANNOTATIONS_PER_REQUEST = 50
LABEL_PREFIX = "security: "
LABEL_COLORS = {
    Severity.CRITICAL: "b60205",
    Severity.HIGH: "d93f0b",
    Severity.MEDIUM: "fbca04",
    Severity.LOW: "c5def5",
}
SUMMARY_MARKER = "<!-- bastion:summary -->"
# Room kept under each limit for the note that says something was cut.
_MARGIN = 400
_MARKER = re.compile(r"<!-- bastion:([a-z]+)(?:[= ]([^<>]*?))? -->\n?")


# -- hidden markers ------------------------------------------------------------


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- bastion:fp={fingerprint} -->"


def review_marker(sha: str) -> str:
    return f"<!-- bastion:review sha={sha} -->"


def list_marker(key: str, fingerprints: Iterable[str]) -> str:
    """A marker carrying fingerprints, e.g. those a review lists or resolves."""
    return f"<!-- bastion:{key}={','.join(sorted(fingerprints))} -->"


def leading_markers(body: str | None) -> dict[str, str]:
    """The markers at the very start of a body, where no quoted text can be."""
    found: dict[str, str] = {}
    position = 0
    while match := _MARKER.match(body or "", position):
        found[match[1]] = match[2] or ""
        position = match.end()
    return found


def reviewed_sha(body: str | None) -> str | None:
    value = leading_markers(body).get("review", "")
    return value.removeprefix("sha=") if value.startswith("sha=") else None


def marked_fingerprints(body: str | None, key: str) -> set[str]:
    value = leading_markers(body).get(key, "")
    return {fp for fp in value.split(",") if re.fullmatch(r"[0-9a-f]{6,64}", fp)}


# -- safe Markdown -------------------------------------------------------------


def escape(text: str) -> str:
    """Untrusted text as inert Markdown: no HTML, no mentions, no hidden characters."""
    printable = "".join(
        ch if ch.isprintable() or ch in "\n\t" else "\N{REPLACEMENT CHARACTER}"
        for ch in text
    )
    return (printable.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("@", "&#64;"))


def one_line(text: str) -> str:
    return escape(" ".join(text.split()))


def code_span(text: str) -> str:
    """Inline code that survives backticks in `text`."""
    flat = " ".join(text.split())
    ticks = "`" * (_longest_run(flat, "`") + 1)
    return f"{ticks} {flat} {ticks}" if "`" in flat else f"`{flat}`"


def fenced(code: str, info: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside it."""
    fence = "`" * max(3, _longest_run(code, "`") + 1)
    return f"{fence}{info}\n{code.rstrip(chr(10))}\n{fence}"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(r) for r in runs), default=0)


def fit(text: str, limit: int, note: str) -> str:
    """Cut `text` at a line boundary to fit `limit` characters, ending with `note`."""
    if len(text) <= limit:
        return text
    budget = limit - len(note) - 2
    cut = text.rfind("\n", 0, budget)
    return text[: cut if cut > 0 else budget] + "\n\n" + note


# -- placing a finding on the diff ----------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where an inline comment goes: `line`, or the range start_line..line."""

    path: str
    line: int
    start_line: int | None = None

    @property
    def first(self) -> int:
        return self.start_line or self.line


def place(finding: Finding, change: Change) -> Placement | None:
    """Place a finding where GitHub accepts a comment, or None when it cannot be.

    The anchor is the finding's last line when the diff shows it, else its
    first; a range is kept only when both ends lie in one hunk.
    """
    fc = change.file(finding.path)
    if fc is None or fc.binary or fc.submodule or fc.status == "deleted":
        return None
    commentable = fc.commentable_lines
    start, end = finding.line, max(finding.end_line, finding.line)

    if end in commentable:
        hunk = fc.hunk_at(end)
        same = start < end and start in commentable and fc.hunk_at(start) is hunk
        return Placement(fc.path, end, start if same else None)
    if start in commentable:
        return Placement(fc.path, start)
    return None


def covers(placement: Placement, finding: Finding) -> bool:
    """Whether the comment spans exactly the finding's lines, as a suggestion must."""
    end = max(finding.end_line, finding.line)
    return placement.first == finding.line and placement.line == end


# -- inline comments -------------------------------------------------------------


def heading(finding: Finding) -> str:
    tags = [f"**{finding.severity.name}**", code_span(finding.rule_id)]
    tags += [escape(c) for c in finding.cwe[:2]]
    if finding.source == "model":
        tags.append("model review")
    return " · ".join(tags)


def comment_body(finding: Finding, placement: Placement) -> str:
    """The text of one inline comment, led by its fingerprint marker."""
    parts = [fingerprint_marker(finding.fingerprint), heading(finding), "",
             escape(finding.message.strip())]
    verdict = _verdict_note(finding)
    if verdict:
        parts += ["", verdict]

    if finding.suggestion is not None and covers(placement, finding):
        parts += ["", fenced(finding.suggestion, "suggestion")]
    elif finding.fix is not None:
        # TODO: Semgrep fixes replace a column span the Finding does not keep
        # the end of, so they are shown as code, not as a one-click suggestion.
        parts += ["", "Fix proposed by the rule for the matched code:",
                  fenced(finding.fix)]
    references = _references(finding)
    if references:
        parts += ["", references]
    body = "\n".join(parts)
    return fit(body, BODY_LIMIT - _MARGIN, "_(comment cut to fit GitHub's limit)_")


def inline_comment(finding: Finding, placement: Placement) -> dict[str, object]:
    comment: dict[str, object] = {
        "path": placement.path, "line": placement.line, "side": "RIGHT",
        "body": comment_body(finding, placement),
    }
    if placement.start_line is not None:
        comment["start_line"] = placement.start_line
        comment["start_side"] = "RIGHT"
    return comment


def _verdict_note(finding: Finding) -> str:
    explanation = one_line(finding.explanation)
    if finding.verdict == "confirmed":
        return f"> Model: confirmed. {explanation}".rstrip()
    if finding.dismissed:
        return f"> Model: dismissed. {explanation}".rstrip()
    if finding.verdict == "dismissed":
        return f"> Model: dismissed, kept by policy. {explanation}".rstrip()
    return f"> Model: {explanation}" if explanation else ""


def _references(finding: Finding) -> str:
    links = [r for r in finding.references if re.fullmatch(r"https://[^\s()<>]+", r)]
    return " · ".join(f"[reference]({link})" for link in links[:3])


# -- the review body -------------------------------------------------------------


@dataclass(frozen=True)
class Unplaced:
    """A finding reported in the review body instead of inline, and why."""

    finding: Finding
    reason: str


@dataclass(frozen=True)
class Resolved:
    """A finding an earlier review reported that this head no longer has."""

    fingerprint: str
    where: str = ""


def counts_line(findings: Sequence[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    if not counts:
        return "no findings"
    noun = "finding" if len(findings) == 1 else "findings"
    ranked = ", ".join(f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True))
    return f"{len(findings)} {noun} ({ranked})"


def finding_item(finding: Finding, why: str = "") -> str:
    where = code_span(f"{finding.path}:{finding.line}")
    reason = f" _({why})_" if why else ""
    return (f"- **{finding.severity.name}** {code_span(finding.rule_id)} {where}: "
            f"{one_line(finding.message)}{reason}")


def review_body(
    result: ReviewResult, *, blocking: bool, threshold: Severity | None,
    unplaced: Sequence[Unplaced], resolved: Sequence[Resolved],
    inline: int, notes: Sequence[str] = (),
) -> str:
    """The review's summary: markers, counts, findings not inline, resolved ones."""
    markers = [review_marker(result.head)]
    listed = [u.finding.fingerprint for u in unplaced]
    if listed:
        markers.append(list_marker("listed", listed))
    if resolved:
        markers.append(list_marker("resolved", [r.fingerprint for r in resolved]))

    lines = ["\n".join(markers), "### Bastion security review", "",
             f"Commit {code_span(result.head[:12])}: {counts_line(result.active())}; "
             f"{inline} new inline comment{'s' if inline != 1 else ''}."]
    if blocking and threshold is not None:
        lines.append(f"**Changes requested:** a finding at {threshold.label} severity "
                     "or above blocks this pull request.")
    lines += [f"> {one_line(note)}" for note in notes]
    if unplaced:
        lines += ["", "#### Findings not shown inline"]
        lines += [finding_item(u.finding, u.reason) for u in unplaced]
    if resolved:
        lines += ["", "#### Resolved since the last review"]
        lines += [f"- {r.where or 'finding ' + code_span(r.fingerprint)}" for r in resolved]
    dismissed = [f for f in result.findings if f.dismissed]
    if dismissed:
        lines += ["", "#### Dismissed by the model (not counted)"]
        lines += [finding_item(f) for f in dismissed[:50]]
    body = "\n".join(lines)
    return fit(body, BODY_LIMIT - _MARGIN,
               "_(review cut to fit GitHub's limit; the check run lists every finding)_")


# -- the check run ---------------------------------------------------------------


def conclusion(result: ReviewResult, threshold: Severity | None, *, degraded: bool) -> str:
    """failure when a finding blocks; neutral for lesser findings or a degraded run."""
    if result.fails(threshold):
        return "failure"
    if result.active() or degraded:
        return "neutral"
    return "success"


def check_title(result: ReviewResult) -> str:
    return counts_line(result.active()).capitalize()


def check_summary(
    result: ReviewResult, *, threshold: Severity | None, notes: Sequence[str] = ()
) -> str:
    """Counts per severity, then notes, model dismissals and skipped files."""
    active = Counter(f.severity for f in result.active())
    dismissed = Counter(f.severity for f in result.findings if f.dismissed)
    lines = ["| Severity | Findings | Dismissed by the model |", "|---|---:|---:|"]
    lines += [f"| {s.label} | {active[s]} | {dismissed[s]} |"
              for s in sorted(Severity, reverse=True)]
    lines.append("")
    if threshold is not None:
        lines.append(f"Findings at {threshold.label} severity or above fail this check.")
    lines += [f"> {one_line(note)}" for note in notes]

    dismissed_list = [f for f in result.findings if f.dismissed]
    if dismissed_list:
        lines += ["", "#### Dismissed by the model"]
        lines += [finding_item(f, one_line(f.explanation)[:300]) for f in dismissed_list]
    if result.skipped:
        lines += ["", "#### Files not fully reviewed"]
        lines += [_skipped_item(s) for s in result.skipped]
    body = "\n".join(lines)
    return fit(body, OUTPUT_LIMIT - _MARGIN, "_(summary cut to fit GitHub's limit)_")


def check_text(result: ReviewResult) -> str:
    """Every active finding, worst first."""
    ordered = sorted(result.active(), key=rank)
    body = "\n".join(finding_item(f) for f in ordered) or "No findings."
    return fit(body, OUTPUT_LIMIT - _MARGIN, "_(list cut to fit GitHub's limit)_")


def _skipped_item(skipped: Skipped) -> str:
    detail = f": {one_line(skipped.detail)}" if skipped.detail else ""
    return f"- {code_span(skipped.path)} ({skipped.reason}){detail}"


def rank(finding: Finding) -> tuple[int, str, int, str]:
    """Order findings worst first, then by place."""
    return (-int(finding.severity), finding.path, finding.line, finding.rule_id)


def check_annotations(
    findings: Sequence[Finding], threshold: Severity | None
) -> list[dict[str, object]]:
    """One annotation per finding: failure when it blocks, else warning or notice."""
    out: list[dict[str, object]] = []
    for finding in sorted(findings, key=rank):
        if threshold is not None and finding.severity >= threshold:
            level = "failure"
        elif finding.severity >= Severity.MEDIUM:
            level = "warning"
        else:
            level = "notice"
        out.append({
            "path": finding.path, "start_line": finding.line,
            "end_line": max(finding.end_line, finding.line),
            "annotation_level": level,
            "title": f"{finding.rule_id} ({finding.severity.label})"[:255],
            "message": fit(finding.message or finding.rule_id, 60_000, "(cut)"),
        })
    return out


def batches(items: Sequence[dict[str, object]], size: int = ANNOTATIONS_PER_REQUEST
            ) -> list[list[dict[str, object]]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)] or [[]]


# -- labels and the summary comment ----------------------------------------------


def severity_label(severity: Severity | None) -> str | None:
    return f"{LABEL_PREFIX}{severity.label}" if severity is not None else None


def summary_comment(
    result: ReviewResult, *, conclusion_name: str, threshold: Severity | None,
    notes: Sequence[str] = (),
) -> str:
    """The one issue comment the bot keeps up to date on a pull request."""
    lines = [SUMMARY_MARKER, "### Bastion security review", "",
             "| Commit | Findings | Result |", "|---|---|---|",
             f"| {code_span(result.head[:12])} | {counts_line(result.active())} | "
             f"{conclusion_name} |"]
    if threshold is not None:
        lines += ["", f"Findings at {threshold.label} severity or above block merging."]
    lines += [f"> {one_line(note)}" for note in notes]
    skipped = len({s.path for s in result.skipped})
    if skipped:
        lines.append(f"{skipped} file{'s' if skipped != 1 else ''} not fully reviewed; "
                     f"see the {CHECK_RUN_NAME} check for details.")
    return fit("\n".join(lines), BODY_LIMIT - _MARGIN, "_(cut)_")


def failure_comment(head: str, reason: str) -> str:
    """The summary comment when a review could not be done at all."""
    return "\n".join([
        SUMMARY_MARKER, "### Bastion security review", "",
        f"Commit {code_span(head[:12])} could not be reviewed: {one_line(reason)}",
    ])[:BODY_LIMIT - _MARGIN]

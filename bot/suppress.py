"""Inline suppressions: Bastion's own `bastion: ignore[rule]` and Semgrep's `nosemgrep`.

Forms, after any line-comment marker (`#`, `//`, `/*`, `--`, `;`, `<!--`):

    bastion: ignore[rule-id] reason
    bastion: ignore[rule-a, rule-b] reason
    nosemgrep: rule-id -- reason
    nosemgrep -- reason                      (every rule)

A comment that is the whole line covers the next line; one after code covers
its own line. Both cover the first line of a finding.

Every suppression needs a reason and, in Bastion's form, at least one rule
id. One without is still found and reported when a change adds it, but it
silences nothing: an unexplained silence is exactly what a reviewer must see.
Semgrep itself would honour a bare `nosemgrep`; Bastion runs Semgrep with
`--disable-nosem` and applies these rules instead. Whether a rule may be
silenced at all is the policy's decision (`Policy.may_suppress`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.change import FileChange

Kind = Literal["bastion", "nosemgrep"]

_MARKER = r"(?:#|//|/\*|--|;|<!--)"
BASTION_IGNORE = re.compile(
    _MARKER + r"\s*bastion:\s*ignore\[(?P<rules>[^\]]*)\](?P<reason>[^\n]*)", re.IGNORECASE
)
NOSEMGREP = re.compile(
    _MARKER + r"\s*nosem(?:grep)?\b(?::\s*(?P<rules>[\w.\-]+(?:\s*,\s*[\w.\-]+)*))?"
    r"(?P<reason>[^\n]*)",
    re.IGNORECASE,
)
_REASON_LEAD = re.compile(r"^\s*(?:--|:|-|—)?\s*")
_COMMENT_END = re.compile(r"\s*(?:\*/|-->)\s*$")


@dataclass(frozen=True)
class Suppression:
    """One suppression comment at `line` (1-based) of the new side of a file."""

    line: int
    rule_ids: tuple[str, ...]
    reason: str
    kind: Kind
    standalone: bool = True

    def covers(self, rule_id: str) -> bool:
        """An empty rule list (a bare `nosemgrep`) names every rule."""
        return not self.rule_ids or rule_id in self.rule_ids

    def applies_to(self, line: int) -> bool:
        """Whether this comment sits where it can silence a finding starting at `line`."""
        if self.line == line:
            return True
        return self.standalone and self.line == line - 1

    @property
    def problem(self) -> str:
        """Why this suppression is not honoured; empty when it is."""
        if self.kind == "bastion" and not self.rule_ids:
            return "names no rule id"
        if not self.reason:
            return "gives no reason"
        return ""

    @property
    def honoured(self) -> bool:
        return not self.problem

    def describe(self) -> str:
        """One sentence for a review comment about this suppression."""
        rules = ", ".join(self.rule_ids) or "every rule"
        form = "bastion: ignore" if self.kind == "bastion" else "nosemgrep"
        if self.honoured:
            return f"A `{form}` comment silences {rules}: {self.reason}"
        named = f" for {rules}" if self.rule_ids else ""
        return f"A `{form}` comment{named} {self.problem}, so it silences nothing."


def parse_line(number: int, text: str) -> Suppression | None:
    """The suppression written on one line, if any."""
    match = BASTION_IGNORE.search(text)
    kind: Kind = "bastion"
    if match is None:
        match = NOSEMGREP.search(text)
        kind = "nosemgrep"
    if match is None:
        return None

    standalone = not text[: match.start()].strip()
    return Suppression(
        line=number,
        rule_ids=_ids(match["rules"] or ""),
        reason=_reason(match["reason"]),
        kind=kind,
        standalone=standalone,
    )


def _ids(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def _reason(text: str) -> str:
    reason = _COMMENT_END.sub("", text)
    return _REASON_LEAD.sub("", reason, count=1).strip()


def find_suppressions(text: str) -> list[Suppression]:
    """Every suppression comment in a file's text, by 1-based line."""
    lowered = text.lower()
    if "bastion:" not in lowered and "nosem" not in lowered:
        return []
    return _parse_lines(enumerate(text.splitlines(), start=1))


def _parse_lines(lines: Iterable[tuple[int, str]]) -> list[Suppression]:
    found = (parse_line(number, line) for number, line in lines)
    return [sup for sup in found if sup is not None]


def is_suppressed(
    finding_line: int, rule_id: str, suppressions: Iterable[Suppression]
) -> Suppression | None:
    """The honoured suppression that silences `rule_id` at `finding_line`, if any."""
    for sup in suppressions:
        if sup.honoured and sup.applies_to(finding_line) and sup.covers(rule_id):
            return sup
    return None


def added_suppressions(file_change: FileChange) -> list[Suppression]:
    """Suppressions on the lines a change adds, honoured or not."""
    added = (
        (line.new_lineno, line.content)
        for hunk in file_change.hunks
        for line in hunk.lines
        if line.origin == "+" and line.new_lineno is not None
    )
    return _parse_lines(added)

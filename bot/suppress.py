"""Inline suppressions: Bastion's own `bastion: ignore[rule]` and Semgrep's `nosemgrep`.

A suppression sits on the finding's line or on the line above it. Bastion's own
form needs a reason; one without a reason is still reported as added, so a
reviewer sees it, and it silences nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.change import FileChange

Kind = Literal["bastion", "nosemgrep"]

BASTION_IGNORE = re.compile(
    r"(?:#|//|/\*|--|;|<!--)\s*bastion:\s*ignore\[(?P<rules>[^\]]*)\](?P<reason>[^\n]*)"
)
NOSEMGREP = re.compile(r"(?:#|//|/\*|--|;|<!--)\s*nosemgrep(?::\s*(?P<rules>[\w.,\s-]+))?")


@dataclass(frozen=True)
class Suppression:
    line: int
    rule_ids: tuple[str, ...]
    reason: str
    kind: Kind

    def covers(self, rule_id: str) -> bool:
        """An empty rule list silences every rule (nosemgrep without ids)."""
        return not self.rule_ids or rule_id in self.rule_ids

    @property
    def honoured(self) -> bool:
        return self.kind == "nosemgrep" or bool(self.reason)


def parse_line(number: int, text: str) -> Suppression | None:
    """The suppression written on one line, if any."""
    match = BASTION_IGNORE.search(text)
    if match:
        reason = match["reason"].strip().removesuffix("*/").removesuffix("-->").strip()
        return Suppression(number, _ids(match["rules"]), reason, "bastion")

    match = NOSEMGREP.search(text)
    if match:
        return Suppression(number, _ids(match["rules"] or ""), "", "nosemgrep")
    return None


def _ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def find_suppressions(text: str) -> list[Suppression]:
    """Every suppression comment in a file, by 1-based line."""
    if "bastion:" not in text and "nosemgrep" not in text:
        return []
    found = (parse_line(n, line) for n, line in enumerate(text.splitlines(), start=1))
    return [s for s in found if s is not None]


def is_suppressed(line: int, rule_id: str, suppressions: list[Suppression]) -> Suppression | None:
    """The honoured suppression on `line` or the line above that covers `rule_id`."""
    for sup in suppressions:
        if sup.line in (line, line - 1) and sup.honoured and sup.covers(rule_id):
            return sup
    return None


def added_suppressions(change: FileChange) -> list[Suppression]:
    """Suppressions on lines the change adds."""
    found = []
    for hunk in change.hunks:
        for diff_line in hunk.lines:
            if diff_line.origin != "+" or diff_line.new_lineno is None:
                continue
            sup = parse_line(diff_line.new_lineno, diff_line.content)
            if sup is not None:
                found.append(sup)
    return found

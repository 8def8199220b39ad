"""Findings, skipped files and the review result: the records every renderer reads."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

Source = Literal["semgrep", "model", "policy"]
Verdict = Literal["confirmed", "dismissed", "unjudged"]


class Severity(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name, accepting Semgrep's INFO/WARNING/ERROR too."""
        name = text.strip().upper()
        aliases = {"INFO": "LOW", "WARNING": "MEDIUM", "ERROR": "HIGH"}
        try:
            return cls[aliases.get(name, name)]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One problem at one place in the new side of a change."""

    path: str
    line: int
    end_line: int
    rule_id: str
    severity: Severity
    message: str
    source: Source
    fingerprint: str
    column: int = 1
    end_column: int | None = None
    verdict: Verdict | None = None
    dismissal_applied: bool = False
    explanation: str = ""
    category: str = "security"
    rule_severity: Severity | None = None
    confidence: str = ""
    cwe: tuple[str, ...] = ()
    owasp: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    fix: str | None = None
    suggestion: str | None = None
    symbol: str = ""
    snippet: str = ""

    @property
    def dismissed(self) -> bool:
        """The model dismissed it and the policy let that verdict take effect.

        A dismissal the policy does not allow stays an annotation: the verdict
        reads "dismissed" and the finding still counts.
        """
        return self.verdict == "dismissed" and self.dismissal_applied

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "end_line": self.end_line,
            "column": self.column,
            "rule_id": self.rule_id,
            "severity": self.severity.label,
            "message": self.message,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "category": self.category,
            "symbol": self.symbol,
        }
        if self.source == "semgrep":
            data["verdict"] = self.verdict or "unjudged"
            data["dismissed"] = self.dismissed
            data["explanation"] = self.explanation
            data["rule_severity"] = (self.rule_severity or self.severity).label
            data["cwe"] = list(self.cwe)
            data["owasp"] = list(self.owasp)
            data["references"] = list(self.references)
            data["confidence"] = self.confidence
            if self.fix is not None:
                data["fix"] = self.fix
        if self.suggestion is not None:
            data["suggestion"] = self.suggestion
        return data


def fingerprint(rule_id: str, path: str, symbol: str, code: str, occurrence: int = 0) -> str:
    """Hash what identifies a finding without its line number.

    Line numbers move whenever code above is edited, so the key is the rule,
    the file, the enclosing symbol and the matched code with whitespace
    collapsed; `occurrence` tells apart identical matches in one symbol.
    """
    normalized = " ".join(code.split())
    key = "\x1f".join([rule_id, path, symbol, normalized, str(occurrence)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


SkipReason = Literal[
    "binary", "too-large", "generated", "budget", "undecodable",
    "parse-error", "submodule", "symlink", "deleted", "unsupported", "scan-error",
    "model-error",
]


@dataclass(frozen=True)
class Skipped:
    """A changed file, or part of one, that was not (fully) reviewed, and why."""

    path: str
    reason: SkipReason
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "detail": self.detail}


@dataclass
class ReviewResult:
    base: str
    head: str
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def active(self) -> list[Finding]:
        """Findings that count: everything the model did not dismiss."""
        return [f for f in self.findings if not f.dismissed]

    def worst(self) -> Severity | None:
        severities = [f.severity for f in self.active()]
        return max(severities) if severities else None

    def fails(self, threshold: Severity | None) -> bool:
        worst = self.worst()
        return threshold is not None and worst is not None and worst >= threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "findings": [f.to_dict() for f in self.findings],
            "skipped": [s.to_dict() for s in self.skipped],
            "stats": self.stats,
        }

"""The model's two tasks: judge each rule finding, and review each hunk.

Both spend one token budget per review, worst findings and riskiest files
first; what the budget does not reach is reported, never silently dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from bot import structure
from bot.change import FileChange, Hunk
from bot.findings import Finding, Severity, Skipped, fingerprint
from bot.model import prompts
from bot.model.backend import ModelBackend, ModelError, ModelReply

if TYPE_CHECKING:
    from bot.policy import Policy
    from bot.rulebook import RuleBook

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


class Trees(Protocol):
    def text(self, path: str) -> str: ...
    def lines(self, path: str, start: int, end: int) -> str: ...
    def context(self, path: str, line: int) -> tuple[str, str]: ...


class Judge:
    def __init__(self, model: ModelBackend, budget: int, progress: Progress | None) -> None:
        self.model = model
        self.budget = budget
        self.progress = progress
        self.spent = 0
        self.counts = {"calls": 0, "cached": 0, "errors": 0, "failed_calls": 0,
                       "prompt_tokens": 0,
                       "completion_tokens": 0, "outside_hunk": 0, "bad_suggestions": 0}
        self.seconds = 0.0

    def judge_findings(
        self,
        findings: list[Finding],
        files: dict[str, FileChange],
        trees: Trees,
        rulebook: RuleBook,
        policy: Policy,
    ) -> list[Finding]:
        """Ask for a verdict on every rule finding, worst first, while budget lasts."""
        rule_findings = [f for f in findings if f.source == "semgrep" and f.path in files]
        order = sorted(rule_findings, key=lambda f: (-f.severity, f.path, f.line))
        judged: dict[str, Finding] = {}
        for index, finding in enumerate(order):
            self._tick("judge", index, len(order))
            judged[finding.fingerprint] = self._judge_one(finding, files, trees, rulebook,
                                                          policy)
        return [judged.get(f.fingerprint, f) for f in findings]

    def _judge_one(
        self,
        finding: Finding,
        files: dict[str, FileChange],
        trees: Trees,
        rulebook: RuleBook,
        policy: Policy,
    ) -> Finding:
        symbol, code = trees.context(finding.path, finding.line)
        language = structure.detect_language(finding.path, files[finding.path].new_data)
        messages = prompts.judge_messages(
            rule_id=finding.rule_id, rule_message=finding.message,
            rule_severity=finding.severity.label, path=finding.path, line=finding.line,
            language=language or "text", code=code, symbol=symbol,
        )
        reply = self._ask(messages, prompts.JUDGE_SCHEMA, prompts.judge_max_tokens())
        if reply is None:
            why = "not judged: the review's model budget was spent" if self._over else \
                "not judged: the model gave no usable answer"
            return replace(finding, verdict="unjudged", explanation=why)

        rule = rulebook.get(finding.rule_id)
        return apply_verdict(finding, reply.data, policy, rule.pack if rule else "")

    def review_hunks(
        self, files: Iterable[FileChange], trees: Trees, skipped: list[Skipped]
    ) -> list[Finding]:
        """Ask for comments on each hunk, riskiest files first, while budget lasts."""
        work = [(fc, h) for fc in files for h in fc.hunks if h.added]
        findings: list[Finding] = []
        for index, (fc, hunk) in enumerate(work):
            self._tick("review", index, len(work))
            comments = self._review_one(fc, hunk, trees, skipped)
            findings.extend(comments)
        return findings

    def _review_one(
        self, fc: FileChange, hunk: Hunk, trees: Trees, skipped: list[Skipped]
    ) -> list[Finding]:
        first = min(hunk.added)
        symbol, scope = trees.context(fc.path, first)
        language = structure.detect_language(fc.path, fc.new_data) or "text"
        messages = prompts.review_messages(
            path=fc.path, language=language, hunk=hunk, scope=scope, symbol=symbol,
        )
        reply = self._ask(messages, prompts.REVIEW_SCHEMA, prompts.review_max_tokens())
        if reply is None:
            why = "token budget spent" if self._over else "the model gave no usable answer"
            detail = f"lines {hunk.new_start}-{hunk.new_end} not reviewed by the model: {why}"
            skipped.append(Skipped(fc.path, "budget" if self._over else "model-error", detail))
            return []
        return [f for c in reply.data.get("comments", [])
                if (f := self.comment_finding(fc, hunk, c, symbol, trees, language))]

    def comment_finding(
        self, fc: FileChange, hunk: Hunk, comment: dict[str, Any], symbol: str,
        trees: Trees, language: str,
    ) -> Finding | None:
        """Keep a model comment only when its line is in the hunk, as GitHub requires."""
        line = int(comment["line"])
        if line not in hunk.commentable:
            self.counts["outside_hunk"] += 1
            return None

        suggestion = (comment.get("suggestion") or "").rstrip("\n") or None
        text = trees.text(fc.path)
        if suggestion is not None and not structure.replacement_parses(
            text, language, line, line, suggestion
        ):
            self.counts["bad_suggestions"] += 1
            suggestion = None

        category = comment["category"]
        rule_id = f"bastion.model.{category}"
        code = trees.lines(fc.path, line, line)
        return Finding(
            path=fc.path, line=line, end_line=line, rule_id=rule_id,
            severity=Severity.parse(comment["severity"]), message=comment["message"].strip(),
            source="model", category=category, suggestion=suggestion, symbol=symbol,
            fingerprint=fingerprint(rule_id, fc.path, symbol, code), snippet=code,
        )

    @property
    def _over(self) -> bool:
        return self.spent >= self.budget

    def _ask(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
    ) -> ModelReply | None:
        """Call the model while the budget holds at least this prompt; None otherwise.

        A call is charged the tokens it really used, which a cached answer
        repeats, so a cached review makes the same choices as the first one.
        """
        prompt = prompts.estimate_prompt_tokens(messages)
        if self.spent + prompt > self.budget:
            self.spent = max(self.spent, self.budget)
            return None

        try:
            reply = self.model.complete_json(messages, schema, max_tokens)
        except ModelError as exc:
            self.spent += prompt + max_tokens
            self.counts["errors"] += 1
            if not exc.cached:
                self.counts["failed_calls"] += 1
            log.warning("model answer rejected", extra={"reason": str(exc)})
            return None
        self.spent += reply.prompt_tokens + reply.completion_tokens
        self._count(reply)
        return reply

    def _count(self, reply: ModelReply) -> None:
        self.counts["calls"] += 1
        if reply.cached:
            self.counts["cached"] += 1
            return
        self.counts["prompt_tokens"] += reply.prompt_tokens
        self.counts["completion_tokens"] += reply.completion_tokens
        self.seconds += reply.seconds

    def _tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def stats(self) -> dict[str, Any]:
        rate = self.counts["completion_tokens"] / self.seconds if self.seconds else 0.0
        return {
            **self.counts,
            "model_calls": (self.counts["calls"] - self.counts["cached"]
                            + self.counts["failed_calls"]),
            "seconds": round(self.seconds, 3),
            "tokens_per_second": round(rate, 1),
            "budget": self.budget,
            "budget_spent": min(self.spent, self.budget),
        }


def apply_verdict(
    finding: Finding, data: dict[str, Any], policy: Policy, pack: str
) -> Finding:
    """Record the model's verdict; it may raise a rule's severity, never lower it.

    A dismissal takes effect only where the policy allows it for this rule,
    pack and severity (by default nowhere); elsewhere it is an annotation.
    """
    explanation = without_repeats(str(data.get("explanation", "")))
    if data["verdict"] == "dismissed":
        applied = policy.model_may_dismiss(finding.rule_id, pack, finding.severity)
        return replace(finding, verdict="dismissed", explanation=explanation,
                       dismissal_applied=applied)

    model_severity = Severity.parse(data["severity"])
    return replace(finding, verdict="confirmed", explanation=explanation,
                   severity=max(finding.severity, model_severity))


def without_repeats(text: str) -> str:
    """Collapse whitespace and drop sentences a small model repeated word for word."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    kept: list[str] = []
    for sentence in sentences:
        if sentence and sentence not in kept:
            kept.append(sentence)
    return " ".join(kept)

"""The review engine: a Change and settings in, a ReviewResult out, no network.

The steps are: choose the files, materialize their new side, run Semgrep once,
keep the matches the filter mode admits, anchor each to its enclosing symbol,
then let the model judge the findings and review the hunks within a budget.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from bot import structure
from bot.change import Change, FileChange
from bot.config import ReviewSettings, Settings
from bot.findings import (
    Finding,
    ReviewResult,
    Severity,
    Skipped,
    SkipReason,
    fingerprint,
)
from bot.judging import Judge
from bot.model.backend import ModelBackend
from bot.policy import Policy
from bot.rulebook import RuleBook, load_rules
from bot.scanner import RuleMatch, run_semgrep
from bot.selection import risk, select_files

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
SUPPRESSION_RULE = "bastion-suppression-added"
PARSE_ERRORS = frozenset({
    "Lexical error", "Syntax error", "Other syntax error", "AST builder error", "PartialParsing",
})


class ReviewEngine:
    """One per process: it holds the loaded model and the loaded rule books."""

    def __init__(self, model: ModelBackend | None = None) -> None:
        self.model = model
        self._rulebooks: dict[tuple[Path, ...], RuleBook] = {}

    def rulebook(self, dirs: tuple[Path, ...]) -> RuleBook:
        """Load and validate rules once per set of folders."""
        if dirs not in self._rulebooks:
            self._rulebooks[dirs] = load_rules(dirs)
        return self._rulebooks[dirs]

    def review(
        self,
        change: Change,
        settings: ReviewSettings,
        *,
        policy: Policy | None = None,
        repository: str = "",
        progress: Progress | None = None,
    ) -> ReviewResult:
        """Review `change` and return every finding and every skipped file."""
        started = time.perf_counter()
        policy = policy or Policy.default()
        result = ReviewResult(base=change.base, head=change.head)
        timings: dict[str, float] = {}

        dirs = rule_dirs(settings, policy)
        rulebook = self.rulebook(dirs)
        selection = select_files(change.files, settings)
        result.skipped.extend(selection.skipped)
        files = {fc.path: fc for fc in selection.reviewed}
        model_files = {fc.path: fc for fc in selection.for_model()}
        _tick(progress, "scan", 0, 1)

        t0 = time.perf_counter()
        matches = self._scan(files, dirs, settings, result)
        timings["scan"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        trees = Trees(files)
        findings = self._rule_findings(matches, files, trees, rulebook, settings, policy,
                                       repository)
        findings += _suppression_findings(files, policy)
        timings["structure"] = time.perf_counter() - t0

        if settings.use_model and self.model is not None:
            t0 = time.perf_counter()
            judge = Judge(self.model, settings.token_budget, progress)
            findings = judge.judge_findings(findings, model_files, trees, rulebook, policy)
            findings = [_keep_must_report(f, settings) for f in findings]
            if settings.review_hunks:
                order = _by_risk(model_files, findings)
                findings += judge.review_hunks(order, trees, result.skipped)
            timings["model"] = time.perf_counter() - t0
            result.stats["model"] = judge.stats()

        if settings.drop_dismissed:
            findings = [f for f in findings if not f.dismissed]

        result.findings = sorted(findings, key=lambda f: (f.path, f.line, f.rule_id))
        timings["total"] = time.perf_counter() - started
        result.stats.update(_counts(result, files, matches), timings=_rounded(timings))
        return result

    def _scan(
        self,
        files: dict[str, FileChange],
        rule_dirs: tuple[Path, ...],
        settings: ReviewSettings,
        result: ReviewResult,
    ) -> list[RuleMatch]:
        """Write the new side of each file to a scratch folder and run Semgrep there once."""
        if not files:
            return []
        with tempfile.TemporaryDirectory(prefix="bastion-scan-") as tmp:
            root = Path(tmp)
            for path, fc in files.items():
                target = root / PurePosixPath(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(fc.new_data or b"")
            scan = run_semgrep(root, sorted(files), rule_dirs, timeout=settings.semgrep_timeout)

        for error in scan.errors:
            reason: SkipReason = "parse-error" if error.kind in PARSE_ERRORS else "scan-error"
            result.skipped.append(Skipped(error.path, reason, error.message))
        result.stats["semgrep"] = {"seconds": round(scan.seconds, 3), "version": scan.version}
        return scan.matches

    def _rule_findings(
        self,
        matches: list[RuleMatch],
        files: dict[str, FileChange],
        trees: Trees,
        rulebook: RuleBook,
        settings: ReviewSettings,
        policy: Policy,
        repository: str,
    ) -> list[Finding]:
        """Turn the matches the filter mode admits into findings anchored to symbols."""
        findings: list[Finding] = []
        seen: Counter[tuple[str, str, str, str]] = Counter()
        for match in matches:
            fc = files.get(match.path)
            if fc is None or not _admitted(match, fc, settings.filter):
                continue
            if not _applies(policy, repository, match):
                continue
            if trees.suppressed(match, policy):
                continue

            symbol = trees.symbol(match.path, match.line)
            code = trees.lines(match.path, match.line, match.end_line)
            key = (match.rule_id, match.path, symbol, " ".join(code.split()))
            occurrence = seen[key]
            seen[key] += 1
            finding = _rule_finding(match, rulebook, symbol, code, occurrence)
            severity = policy.severity_for(finding.rule_id, finding.severity)
            findings.append(replace(finding, severity=severity, rule_severity=severity))
        return findings


def _keep_must_report(finding: Finding, settings: ReviewSettings) -> Finding:
    """Rules the operator marked must-report are never dismissed, whatever the policy."""
    if finding.dismissed and finding.rule_id in settings.must_report:
        return replace(finding, dismissal_applied=False)
    return finding


def rule_dirs(settings: ReviewSettings, policy: Policy) -> tuple[Path, ...]:
    """The operator's rule folders plus the organisation's own, from the policy."""
    dirs = settings.rule_dirs()
    return dirs + tuple(d for d in policy.extra_rule_dirs() if d not in dirs)


def _applies(policy: Policy, repository: str, match: RuleMatch) -> bool:
    """Whether the policy enables this rule for this repository and path."""
    if policy.disabled(match.rule_id):
        return False
    selected = policy.rules_for(repository, match.path)
    return selected is None or match.rule_id in selected


def _rule_finding(
    match: RuleMatch, rulebook: RuleBook, symbol: str, code: str, occurrence: int
) -> Finding:
    rule = rulebook.get(match.rule_id)
    severity = rule.severity if rule else match.severity
    return Finding(
        path=match.path,
        line=match.line,
        end_line=match.end_line,
        column=match.column,
        end_column=match.end_column,
        rule_id=match.rule_id,
        severity=severity,
        rule_severity=severity,
        message=match.message,
        source="semgrep",
        fingerprint=fingerprint(match.rule_id, match.path, symbol, code, occurrence),
        verdict="unjudged",
        confidence=rule.confidence if rule else "",
        cwe=rule.cwe if rule else (),
        owasp=rule.owasp if rule else (),
        references=rule.references if rule else (),
        fix=match.fix,
        symbol=symbol,
        snippet=code,
        category=(rule.category if rule and rule.category else "security"),
    )


def _admitted(match: RuleMatch, fc: FileChange, mode: str) -> bool:
    """Apply the filter mode: added lines, any hunk line, or the whole file."""
    lines = range(match.line, match.end_line + 1)
    if mode == "file":
        return True
    if mode == "hunk":
        return any(h.new_start <= ln <= h.new_end for h in fc.hunks for ln in lines)
    added = fc.added_lines
    return any(ln in added for ln in lines)


def _suppression_findings(files: dict[str, FileChange], policy: Policy) -> list[Finding]:
    """Report each suppression comment the change adds, so none goes unnoticed."""
    from bot.suppress import added_suppressions

    findings: list[Finding] = []
    for path, fc in files.items():
        # Prose and data files mention these comments without being code.
        if structure.detect_language(path, fc.new_data) is None:
            continue
        for sup in added_suppressions(fc):
            locked = any(not policy.may_suppress(r) for r in sup.rule_ids)
            message = sup.describe()
            if locked:
                message += " The policy does not allow suppressing this rule."
            findings.append(Finding(
                path=path, line=sup.line, end_line=sup.line, rule_id=SUPPRESSION_RULE,
                severity=Severity.MEDIUM if locked else Severity.LOW,
                message=message, source="policy", category="suppression",
                fingerprint=fingerprint(SUPPRESSION_RULE, path, sup.kind, message),
            ))
    return findings


class Trees:
    """Parsed new sides, built once per file and only for files that need one."""

    def __init__(self, files: dict[str, FileChange]) -> None:
        self.files = files
        self._texts: dict[str, list[str]] = {}
        self._trees: dict[str, structure.SourceTree | None] = {}

    def text(self, path: str) -> str:
        fc = self.files[path]
        return fc.new_text() or (fc.new_data or b"").decode("utf-8", errors="replace")

    def lines(self, path: str, start: int, end: int) -> str:
        if path not in self._texts:
            self._texts[path] = self.text(path).splitlines()
        return "\n".join(self._texts[path][start - 1:end])

    def tree(self, path: str) -> structure.SourceTree | None:
        if path not in self._trees:
            language = structure.detect_language(path, self.files[path].new_data)
            self._trees[path] = structure.parse(self.text(path), language) if language else None
        return self._trees[path]

    def symbol(self, path: str, line: int) -> str:
        tree = self.tree(path)
        scope = tree.enclosing(line) if tree else None
        return scope.qualified_name if scope else ""

    def context(self, path: str, line: int) -> tuple[str, str]:
        """The enclosing symbol and the code around `line`, for a prompt."""
        return structure.context_for(self.tree(path), self.text(path), line)

    def suppressed(self, match: RuleMatch, policy: Policy) -> bool:
        """Honour an inline ignore comment unless the policy forbids it for this rule."""
        from bot.suppress import find_suppressions, is_suppressed

        if not policy.may_suppress(match.rule_id):
            return False
        found = is_suppressed(match.line, match.rule_id, find_suppressions(self.text(match.path)))
        return found is not None


def _by_risk(files: dict[str, FileChange], findings: list[Finding]) -> list[FileChange]:
    per_file = Counter(f.path for f in findings)
    return sorted(files.values(), key=lambda fc: (-risk(fc, per_file[fc.path]), fc.path))


def _counts(result: ReviewResult, files: dict[str, FileChange], matches: list[RuleMatch]) -> dict:
    """Counts per file, not per skip entry: a file can be reviewed in part."""
    skipped = {s.path for s in result.skipped}
    reviewed = set(files)
    return {
        "files_changed": len(reviewed | skipped),
        "files_reviewed": len(reviewed),
        "files_skipped": len(skipped - reviewed),
        "files_partly_reviewed": len(skipped & reviewed),
        "semgrep_matches": len(matches),
        "findings": len(result.findings),
        "dismissed": sum(1 for f in result.findings if f.dismissed),
        "by_severity": dict(Counter(f.severity.label for f in result.active())),
    }


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _tick(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def build_engine(settings: Settings, *, use_model: bool = True) -> ReviewEngine:
    """Load the configured (or default) model once, behind the answer cache."""
    if not use_model:
        return ReviewEngine(None)

    from bot.model.cache import CachedBackend
    from bot.model.llama import load_backend

    backend = load_backend(
        settings.model, n_ctx=settings.model_context, n_threads=settings.model_threads
    )
    cache = CachedBackend(backend, settings.data_dir / "model-cache.sqlite3")
    return ReviewEngine(cache)

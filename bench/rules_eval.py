"""Measure the rule packs on the labelled corpus in eval/: precision and recall per category.

A case is a file, or a folder of files, named `vuln-*` (the weakness is
there) or `safe-*` (it looks alike but is not), under
`eval/<language>/<category>/`. A case counts as reported when a finding of a
rule from the same category lands in it: findings of other categories are
ignored, so an SQL rule firing in an XSS case is neither a hit nor a false
alarm. Rule categories are the rule's folder (`rules/python/ssrf/` is
`ssrf`); every rule of the secrets pack and every `*/secrets/` rule is
`secrets`.

With Bandit installed (`--bandit PATH`, or `bandit` on PATH), the same run
scans the Python cases with Bandit and maps its test ids to the same
categories, and prints TPR-FPR per category for both tools.

Usage: python bench/rules_eval.py [--corpus eval] [--rules rules] [--bandit PATH]
       [--no-bandit] [--misses] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.rulebook import Rule, load_rules
from bot.scanner import run_semgrep

REPO = Path(__file__).resolve().parent.parent

# Bandit's checks by category. B603/B606/B607 are left out on purpose: they
# flag every process start, including the argument-list form the corpus uses
# as its safe pattern, and are not command-injection claims.
BANDIT_CATEGORIES = {
    "B102": "code-injection", "B307": "code-injection",
    "B602": "command-injection", "B604": "command-injection",
    "B605": "command-injection", "B609": "command-injection",
    "B301": "deserialization", "B302": "deserialization", "B506": "deserialization",
    "B608": "sql-injection",
    "B310": "ssrf",
    "B308": "xss", "B703": "xss", "B701": "xss", "B702": "xss",
    "B313": "xxe", "B314": "xxe", "B315": "xxe", "B316": "xxe", "B317": "xxe",
    "B318": "xxe", "B319": "xxe", "B320": "xxe",
    "B303": "crypto", "B324": "crypto", "B311": "crypto",
    "B501": "tls", "B502": "tls", "B503": "tls", "B504": "tls", "B323": "tls",
    "B201": "debug",
    "B105": "secrets", "B106": "secrets", "B107": "secrets",
}


@dataclass
class Case:
    """One labelled example: its files and whether the weakness is really there."""

    language: str
    category: str
    name: str
    vulnerable: bool
    files: list[str]
    reported_by: set[str] = field(default_factory=set)


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, vulnerable: bool, reported: bool) -> None:
        if vulnerable:
            self.tp += reported
            self.fn += not reported
        else:
            self.fp += reported
            self.tn += not reported

    @property
    def precision(self) -> float | None:
        reported = self.tp + self.fp
        return self.tp / reported if reported else None

    @property
    def recall(self) -> float | None:
        real = self.tp + self.fn
        return self.tp / real if real else None

    @property
    def fpr(self) -> float | None:
        safe = self.fp + self.tn
        return self.fp / safe if safe else None

    @property
    def youden(self) -> float | None:
        """TPR - FPR: 1 is perfect, 0 is no better than chance."""
        if self.recall is None or self.fpr is None:
            return None
        return self.recall - self.fpr


def collect_cases(corpus: Path) -> list[Case]:
    """Read the cases from `corpus/<language>/<category>/{vuln,safe}-*`."""
    cases = []
    for entry in sorted(corpus.glob("*/*/*")):
        label = entry.name.split("-", 1)[0]
        if label not in ("vuln", "safe"):
            continue
        files = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
        language, category = entry.parent.parent.name, entry.parent.name
        cases.append(Case(
            language=language, category=category, name=entry.name,
            vulnerable=label == "vuln",
            files=[p.relative_to(corpus).as_posix() for p in files],
        ))
    return cases


def rule_category(rule: Rule) -> str:
    pack, _, concern = rule.pack.partition("/")
    return "secrets" if "secrets" in (pack, concern) else concern


def run_bastion(corpus: Path, cases: list[Case], rule_dirs: list[Path]) -> float:
    """Scan every case with the packs once; mark the cases their own category reports."""
    rulebook = load_rules(rule_dirs)
    targets = [path for case in cases for path in case.files]
    scan = run_semgrep(corpus, targets, rule_dirs, timeout=600)
    for error in scan.errors:
        print(f"warning: {error.path}: {error.kind}: {error.message}", file=sys.stderr)

    hits = defaultdict(set)
    for match in scan.matches:
        rule = rulebook.get(match.rule_id)
        if rule is not None:
            hits[match.path].add(rule_category(rule))
    _mark(cases, hits, "bastion")
    return scan.seconds


def run_bandit(corpus: Path, cases: list[Case], bandit: str) -> None:
    """Scan the Python cases with Bandit; mark the cases it reports in their category."""
    targets = [p for case in cases if case.language == "python" for p in case.files
               if p.endswith(".py")]
    done = subprocess.run([bandit, "-f", "json", "-q", *targets], cwd=corpus,
                          capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        sys.exit(f"bandit failed ({done.returncode}): {done.stderr[-500:]}")

    hits = defaultdict(set)
    for result in json.loads(done.stdout)["results"]:
        category = BANDIT_CATEGORIES.get(result["test_id"])
        if category:
            hits[Path(result["filename"]).as_posix()].add(category)
    _mark([c for c in cases if c.language == "python"], hits, "bandit")


def _mark(cases: Iterable[Case], hits: dict[str, set[str]], tool: str) -> None:
    for case in cases:
        if any(case.category in hits.get(path, ()) for path in case.files):
            case.reported_by.add(tool)


def scores(cases: list[Case], tool: str, languages: Iterable[str] | None = None) -> dict:
    """Scores per (language, category), per language and overall."""
    wanted = set(languages) if languages else None
    table: dict[tuple[str, str], Score] = defaultdict(Score)
    for case in cases:
        if wanted is not None and case.language not in wanted:
            continue
        reported = tool in case.reported_by
        for key in ((case.language, case.category), (case.language, "ALL"), ("ALL", "ALL")):
            table[key].add(case.vulnerable, reported)
    return table


def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{value * 100:4.0f}"


def _signed(value: float | None) -> str:
    return "    -" if value is None else f"{value:+.2f}"


def report(cases: list[Case], with_bandit: bool) -> list[str]:
    bastion = scores(cases, "bastion")
    bandit = scores(cases, "bandit", ["python"]) if with_bandit else {}
    head = f"{'language/category':32} {'vuln':>4} {'safe':>4}  {'TP':>3} {'FP':>3} {'FN':>3}" \
           f"  {'prec%':>5} {'rec%':>4}  {'TPR-FPR':>7}"
    if with_bandit:
        head += f"  {'bandit TPR-FPR':>14}"
    lines = [head, "-" * len(head)]
    for key in sorted(bastion, key=lambda k: (k[0] == "ALL", k[0], k[1] == "ALL", k[1])):
        s = bastion[key]
        row = f"{'/'.join(key):32} {s.tp + s.fn:4} {s.fp + s.tn:4}  {s.tp:3} {s.fp:3} " \
              f"{s.fn:3}  {_pct(s.precision):>5} {_pct(s.recall):>4}  {_signed(s.youden):>7}"
        if with_bandit:
            other = bandit.get(key)
            row += f"  {_signed(other.youden if other else None):>14}"
        lines.append(row)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "eval")
    parser.add_argument("--rules", type=Path, action="append")
    parser.add_argument("--bandit", help="the bandit executable (default: bandit on PATH)")
    parser.add_argument("--no-bandit", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list the cases each tool got wrong")
    parser.add_argument("--json", type=Path, help="also write the per-case results here")
    args = parser.parse_args()

    corpus = args.corpus.resolve()
    cases = collect_cases(corpus)
    if not cases:
        sys.exit(f"no cases under {corpus}")
    seconds = run_bastion(corpus, cases, args.rules or [REPO / "rules"])

    bandit = None if args.no_bandit else (args.bandit or shutil.which("bandit"))
    if bandit:
        run_bandit(corpus, cases, bandit)

    vulnerable = sum(c.vulnerable for c in cases)
    print(f"{len(cases)} cases ({vulnerable} vulnerable, {len(cases) - vulnerable} safe), "
          f"semgrep {seconds:.1f} s; Bandit: {bandit or 'not run'}")
    print("\n".join(report(cases, bandit is not None)))
    if args.misses:
        print("\n".join(_misses(cases, ["bastion", "bandit"] if bandit else ["bastion"])))
    if args.json:
        args.json.write_text(json.dumps([case.__dict__ | {"reported_by": sorted(
            case.reported_by)} for case in cases], indent=2))
    return 0


def _misses(cases: list[Case], tools: list[str]) -> list[str]:
    lines = []
    for tool in tools:
        for case in cases:
            if tool == "bandit" and case.language != "python":
                continue
            reported = tool in case.reported_by
            if reported != case.vulnerable:
                kind = "missed" if case.vulnerable else "false alarm"
                lines.append(f"{tool}: {kind}: {case.language}/{case.category}/{case.name}")
    return lines


if __name__ == "__main__":
    sys.exit(main())

"""`bastion rules`: list, test and explain rules, and validate a policy file."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from bot.findings import Severity
from bot.rulebook import Rule, RuleBook, load_rules

SEMGREP_TEST = ("semgrep", "--test", "--metrics=off", "--disable-version-check")
_ANNOTATION = re.compile(r"(?:#|//|/\*|--|<!--)\s*(?P<kind>ruleid|ok):\s*(?P<ids>[\w,\s-]+)")
_COMMENT_LINE = re.compile(r"^\s*(?:#|//|/\*|\*|--|<!--)")


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Register `rules` and its sub-commands on the `bastion` command."""
    rules = commands.add_parser("rules", help="list, test and explain rules; validate a policy")
    actions = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="a table of the rules")
    _add_sources(listing)
    listing.add_argument("--language", help="only rules for this language (python, go, ...)")
    listing.add_argument("--severity", choices=("low", "medium", "high", "critical"),
                         help="only rules of this Bastion severity or above")
    listing.add_argument("--pack", help="only rules of this pack (python, python/sql-injection)")
    listing.add_argument("--cwe", help="only rules for this CWE (CWE-89 or 89)")

    testing = actions.add_parser("test", help="run semgrep --test over the rule folders")
    _add_sources(testing)

    validate = actions.add_parser("validate", help="load and check a policy file")
    validate.add_argument("policy", type=Path, metavar="POLICY")

    explain = actions.add_parser("explain", help="a rule's message, metadata and examples")
    _add_sources(explain)
    explain.add_argument("rule_id", metavar="RULE-ID")

    rules.set_defaults(run=run)
    return rules


def _add_sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=Path, action="append", metavar="DIR",
                        help="rule folder (repeatable; default: the built-in packs)")
    parser.add_argument("--policy", type=Path, metavar="FILE",
                        help="add the policy's own rule folders")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run one `rules` action; the exit status follows `bastion`'s conventions."""
    out = out or sys.stdout
    action = args.rules_command
    if action == "validate":
        return validate_policy(args.policy, out)
    if action == "test":
        return run_rule_tests(rule_dirs(args), out)

    rulebook = load_rules(rule_dirs(args))
    if action == "explain":
        return explain_rule(rulebook, args.rule_id, out)
    return list_rules(rulebook, args, out)


def rule_dirs(args: argparse.Namespace) -> list[Path]:
    """The folders named with --rules (or the built-in packs) plus the policy's own."""
    from bot.config import bundled_rules_dir

    dirs = list(args.rules or [bundled_rules_dir()])
    if getattr(args, "policy", None):
        from bot.policy import Policy

        policy = Policy.load(args.policy)
        dirs += [d for d in policy.extra_rule_dirs() if d not in dirs]
    return dirs


def list_rules(rulebook: RuleBook, args: argparse.Namespace, out: TextIO) -> int:
    """Print the rules that pass the filters as a table; exit 1 when none does."""
    chosen = select(rulebook, language=args.language, severity=args.severity,
                    pack=args.pack, cwe=args.cwe)
    rows = [("RULE", "SEVERITY", "PACK", "LANGUAGES", "CWE")]
    rows += [
        (r.id, r.severity.label, r.pack, ",".join(r.languages), ",".join(r.cwe))
        for r in chosen
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        print("  ".join(cells).rstrip(), file=out)
    print(f"{len(chosen)} of {len(rulebook)} rules", file=out)
    return 0 if chosen else 1


def select(
    rulebook: Iterable[Rule],
    *,
    language: str | None = None,
    severity: str | None = None,
    pack: str | None = None,
    cwe: str | None = None,
) -> list[Rule]:
    """The rules matching every filter given; severity means that severity or above."""
    floor = Severity.parse(severity) if severity else None
    cwe_id = f"CWE-{int(cwe.upper().removeprefix('CWE-'))}" if cwe else None
    chosen = []
    for rule in rulebook:
        if language and language.lower() not in (x.lower() for x in rule.languages):
            continue
        if floor is not None and rule.severity < floor:
            continue
        if pack and not (rule.pack == pack or rule.pack.startswith(pack.rstrip("/") + "/")):
            continue
        if cwe_id and cwe_id not in rule.cwe:
            continue
        chosen.append(rule)
    return chosen


def run_rule_tests(dirs: Sequence[Path], out: TextIO) -> int:
    """Run `semgrep --test` once per folder (it takes one target); the worst status wins."""
    status = 0
    for folder in dirs:
        print(f"== {folder}", file=out, flush=True)
        done = subprocess.run([*SEMGREP_TEST, str(folder)], capture_output=True, text=True,
                              check=False)
        summary = [line for line in done.stdout.splitlines() if _is_summary(line)]
        print("\n".join(summary or done.stdout.splitlines()[-20:]), file=out)
        if done.returncode != 0:
            print(done.stderr.strip()[-4000:], file=out)
        status = max(status, done.returncode)
    return status


def _is_summary(line: str) -> bool:
    # Semgrep's progress boxes go to stdout too; keep its results only.
    text = line.strip()
    return bool(text) and not text.startswith(("┌", "│", "└", "Scanning", "Scan Status"))


def validate_policy(path: Path, out: TextIO) -> int:
    """Load and check a policy: OK and a summary, or `FILE:LINE: reason` and status 2."""
    from bot.policy import Policy, PolicyError

    try:
        policy = Policy.load(path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return 2
    threshold = policy.block_threshold
    blocks = threshold.label if threshold else "never"
    print(f"OK: {path}: blocks at {blocks}, {len(policy.scopes)} scopes, "
          f"{len(policy.spec.disabled)} disabled, "
          f"{len(policy.spec.unsuppressible)} unsuppressible", file=out)
    return 0


def explain_rule(rulebook: RuleBook, rule_id: str, out: TextIO) -> int:
    """Print a rule's message, metadata and the examples from its test file."""
    rule = rulebook.get(rule_id)
    if rule is None:
        close = [r.id for r in rulebook if rule_id in r.id][:5]
        hint = f" (did you mean: {', '.join(close)})" if close else ""
        print(f"bastion: unknown rule {rule_id!r}{hint}", file=sys.stderr)
        return 2

    print(f"{rule.id}  [{rule.severity.label}]  {rule.pack}", file=out)
    print(f"\n{rule.message}\n", file=out)
    for label, value in _facts(rule):
        if value:
            print(f"{label:<12}{value}", file=out)
    for kind, title in (("ruleid", "Reported"), ("ok", "Not reported")):
        examples = examples_for(rule, kind)
        if examples:
            print(f"\n{title}:", file=out)
            for path, line, code in examples:
                print(f"  {path.name}:{line}: {code.strip()}", file=out)
    return 0


def _facts(rule: Rule) -> list[tuple[str, str]]:
    return [
        ("languages", ", ".join(rule.languages)),
        ("cwe", "; ".join(str(c) for c in rule.metadata.get("cwe", ()))),
        ("owasp", "; ".join(rule.owasp)),
        ("confidence", rule.confidence),
        ("likelihood", rule.likelihood),
        ("impact", rule.impact),
        ("kind", ", ".join(rule.subcategory)),
        ("autofix", "yes" if rule.fix or "fix-regex" in _raw(rule) else ""),
        ("references", "\n            ".join(rule.references)),
        ("file", str(rule.path)),
    ]


def _raw(rule: Rule) -> str:
    return rule.path.read_text(encoding="utf-8")


def examples_for(rule: Rule, kind: str) -> list[tuple[Path, int, str]]:
    """The code lines annotated `ruleid:` or `ok:` for this rule in its test files."""
    found = []
    for path in sorted(rule.path.parent.glob(f"{rule.id}.*")):
        if path.suffix in (".yaml", ".yml") or ".fixed." in path.name:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, text in enumerate(lines):
            match = _ANNOTATION.search(text)
            if not match or match["kind"] != kind:
                continue
            if rule.id not in (part.strip() for part in match["ids"].split(",")):
                continue
            target = _annotated_line(lines, index)
            if target is not None:
                found.append((path, target + 1, lines[target]))
    return found


def _annotated_line(lines: list[str], index: int) -> int | None:
    """The line an annotation speaks of: its own when it trails code, else the next code line."""
    if not _COMMENT_LINE.match(lines[index]):
        return index
    for number in range(index + 1, len(lines)):
        if lines[number].strip() and not _ANNOTATION.search(lines[number]):
            return number
    return None

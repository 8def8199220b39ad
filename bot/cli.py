"""The `bastion` command: review a range, serve webhooks, manage rules and baselines."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import __version__
from bot.findings import Severity

if TYPE_CHECKING:
    from bot.findings import ReviewResult
    from bot.policy import Policy
    from bot.rulebook import RuleBook

# Sub-commands that live beside their subsystem; each module has add_parser and run.
SUBCOMMANDS = ("bot.server.cli", "bot.rules_cli", "bot.baseline")


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


def severity_arg(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bastion", description="Self-hosted security review: rules and a local model."
    )
    parser.add_argument("--version", action="version", version=f"bastion {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_review_parser(commands)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_parser(commands)
    return parser


def add_review_parser(commands: argparse._SubParsersAction) -> None:
    review = commands.add_parser(
        "review", help="review a git range (or the staged change) of a local repository"
    )
    review.add_argument("--repo", type=Path, default=Path("."), help="repository (default: .)")
    review.add_argument("--base", help="base revision; the review covers merge-base..head")
    review.add_argument("--head", default="HEAD", help="head revision (default: HEAD)")
    review.add_argument("--staged", action="store_true", help="review the index against HEAD")
    review.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    review.add_argument("--output", "-o", type=Path, help="write the report to FILE")
    review.add_argument("--no-llm", action="store_true", help="rules only, no model")
    review.add_argument("--model", type=Path, help="a GGUF model file (default: built-in)")
    review.add_argument("--fail-on", type=severity_arg, metavar="SEVERITY",
                        help="exit 1 when a finding at or above low|medium|high|critical stays")
    review.add_argument("--filter", choices=("added", "hunk", "file"),
                        help="which lines a finding must touch (default: added)")
    review.add_argument("--rules", type=Path, action="append", metavar="DIR",
                        help="rule folder (repeatable; default: the built-in packs)")
    review.add_argument("--policy", type=Path, help="policy file (TOML)")
    review.add_argument("--config", type=Path, help="settings file (TOML)")
    review.add_argument("--budget", type=int, metavar="TOKENS", help="model token budget")
    review.set_defaults(run=run_review)


def run_review(args: argparse.Namespace) -> int:
    from bot import gitdiff
    from bot.config import load_settings
    from bot.engine import build_engine, rule_dirs

    if not args.staged and not args.base:
        raise UsageError("review needs --base REV (or --staged)")
    settings = load_settings(args.config, model=args.model)
    policy = _load_policy(args.policy or settings.policy)
    review_settings = settings.review.merged(_review_overrides(args))
    if review_settings.fail_on is None and policy.path is not None:
        review_settings = review_settings.merged({"fail_on": policy.block_threshold})

    # Fail on an unwritable --output now, not after a review of several minutes.
    output = _open_output(args.output)
    started = time.perf_counter()
    repo = gitdiff.open_repository(args.repo)
    change = gitdiff.diff_staged(repo) if args.staged else gitdiff.diff_range(
        repo, args.base, args.head
    )
    git_seconds = time.perf_counter() - started

    if "data_dir" not in settings.model_fields_set:
        # The answer cache lives with the repository, not wherever the command ran.
        settings = settings.model_copy(update={"data_dir": Path(repo.path) / "bastion"})
    engine = build_engine(settings, use_model=review_settings.use_model)
    with _progress_display() as progress:
        result = engine.review(change, review_settings, policy=policy, progress=progress)
    result.stats["timings"]["git"] = round(git_seconds, 3)

    rulebook = engine.rulebook(rule_dirs(review_settings, policy))
    report = render_report(result, args.format, rulebook)
    _write(report, output)
    return 1 if result.fails(review_settings.fail_on) else 0


def render_report(result: ReviewResult, fmt: str, rulebook: RuleBook | None) -> str:
    """Render with the chosen format; renderers read only the result (and rule metadata)."""
    if fmt == "json":
        from bot.render.json import render_json

        return render_json(result)
    if fmt == "sarif":
        from bot.render.sarif import render_sarif

        return render_sarif(result, rulebook, tool_version=__version__)
    from bot.render.text import render_text

    return render_text(result, color=sys.stdout.isatty())


def _review_overrides(args: argparse.Namespace) -> dict[str, object]:
    overrides: dict[str, object] = {}
    if args.no_llm:
        overrides["use_model"] = False
    if args.fail_on is not None:
        overrides["fail_on"] = args.fail_on
    if args.filter:
        overrides["filter"] = args.filter
    if args.rules:
        overrides["rules"] = tuple(args.rules)
    if args.budget is not None:
        overrides["token_budget"] = args.budget
    return overrides


def _load_policy(path: Path | None) -> Policy:
    from bot.policy import Policy

    return Policy.load(path) if path is not None else Policy.default()


def _progress_display():  # type: ignore[no-untyped-def]
    """A progress bar on a terminal; nothing when output is piped or in CI."""
    from bot.progress import progress_display

    return progress_display(sys.stderr)


def _open_output(path: Path | None) -> TextIO:
    if path is None:
        return sys.stdout
    return path.open("w", encoding="utf-8")


def _write(report: str, output: TextIO) -> None:
    output.write(report if report.endswith("\n") else report + "\n")
    if output is not sys.stdout:
        output.close()


def known_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean bad input, not a bug: one line on stderr, exit status 2."""
    errors: list[type[BaseException]] = [UsageError, OSError]
    for module, name in (
        ("bot.config", "ConfigError"), ("bot.gitdiff", "GitError"),
        ("bot.model.backend", "ModelError"), ("bot.rulebook", "RuleError"),
        ("bot.policy", "PolicyError"), ("bot.scanner", "ScanFailed"),
    ):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    # Behave like other command-line tools when piped into `head`.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args))
    except known_errors() as exc:
        print(f"bastion: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

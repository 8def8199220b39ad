"""`bastion-review-hook`: the rule scan plus the local model's judgement, for pre-push.

The model judges each rule finding and reviews each changed hunk. Loading
it and generating take seconds to minutes, so the manifest offers this hook
for the pre-push and manual stages; the rule-only hook guards each commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.findings import Finding, Severity
from hooks.options import build_parser
from hooks.runner import HookRun, Outcome, run_hook
from hooks.target import Target

if TYPE_CHECKING:
    from bot.engine import ReviewEngine

PROG = "bastion-review"
# Where a rule finding is: path, line, column, rule id.
Place = tuple[str, int, int, str]


def main(argv: Sequence[str] | None = None) -> int:
    """Review the staged change (or the pushed range) with the rules and the model."""
    parser = build_parser(
        PROG,
        "Review the staged change, or the pushed range at pre-push, with the rules "
        "and a local model. Nothing leaves the machine.",
        default_fail_on=Severity.HIGH,
    )
    parser.add_argument("--model", type=Path, metavar="GGUF",
                        help="model file (default: the built-in small model)")
    parser.add_argument("--budget", type=int, metavar="TOKENS",
                        help="model token budget for the whole review")
    args = parser.parse_args(argv)
    return run_hook(args, PROG, review_target)


def review_target(run: HookRun, target: Target) -> Outcome:
    """Review with the model; drop rule findings the baseline already holds."""
    from bot.engine import ReviewEngine, build_engine

    known = _baselined(ReviewEngine(None), run, target) if len(run.baseline) else set()
    # Whole files have no hunks to filter by; they are checked in full.
    mode = "file" if target.whole else (run.filter or "added")
    settings = run.review.merged({"filter": mode, "use_model": True})

    engine = build_engine(_cache_in_git_dir(run), use_model=True)
    result = engine.review(target.change, settings, policy=run.policy)
    new = [f for f in result.findings if _where(f) not in known]
    skipped = [*target.skipped, *result.skipped]
    return Outcome(new, len(result.findings) - len(new), skipped)


def _baselined(engine: ReviewEngine, run: HookRun, target: Target) -> set[Place]:
    """Where the baseline's findings are, from a rule scan over whole files.

    Fingerprints count identical matches over a whole file, so they are
    taken from a whole-file scan and matched to the model run by place.
    """
    from hooks.runner import scan

    admitted, _ = scan(engine, run, target)
    return {_where(f) for f in admitted if run.baseline.known(f)}


def _where(finding: Finding) -> Place:
    return (finding.path, finding.line, finding.column, finding.rule_id)


def _cache_in_git_dir(run: HookRun) -> Settings:
    """Keep the answer cache inside .git unless configured: it never shows as untracked."""
    if "data_dir" in run.settings.model_fields_set:
        return run.settings
    return run.settings.model_copy(update={"data_dir": Path(run.repo.path) / "bastion"})


if __name__ == "__main__":
    raise SystemExit(main())

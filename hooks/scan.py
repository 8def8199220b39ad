"""`bastion-scan`: check what is staged with the rules alone, for the pre-commit stage.

No model and no network: the hook must stay quick enough to run on every
commit, so nothing here imports the model runtime.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.findings import Severity
from hooks.options import build_parser
from hooks.runner import HookRun, Outcome, run_hook
from hooks.target import Target

PROG = "bastion-scan"


def main(argv: Sequence[str] | None = None) -> int:
    """Scan the staged content of the given files; exit 1 on a finding at the threshold."""
    parser = build_parser(
        PROG,
        "Scan the staged change (index content, not the working tree) with the rules.",
        default_fail_on=Severity.HIGH,
    )
    args = parser.parse_args(argv)
    return run_hook(args, PROG, scan_target)


def scan_target(run: HookRun, target: Target) -> Outcome:
    """Rules only; findings the baseline holds are counted, not shown."""
    from bot.engine import ReviewEngine
    from hooks.runner import scan

    admitted, result = scan(ReviewEngine(None), run, target)
    new, known = run.baseline.split(admitted)
    return Outcome(new, len(known), [*target.skipped, *result.skipped])


if __name__ == "__main__":
    raise SystemExit(main())

"""Command-line options shared by the pre-commit hooks.

Parsing imports nothing heavy, so a bad option fails at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from bot.findings import Severity

FILTERS = ("added", "hunk", "file")


class HookParser(argparse.ArgumentParser):
    """An argument parser that reports a usage error as one line on stderr."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown severity {text!r} (low, medium, high or critical)"
        ) from None


def build_parser(prog: str, description: str, *, default_fail_on: Severity) -> HookParser:
    """The options both hooks take; the model hook adds its own after this."""
    parser = HookParser(prog=prog, description=description)
    parser.add_argument("filenames", nargs="*", metavar="FILE",
                        help="staged files to check (pre-commit passes them)")
    parser.add_argument("--fail-on", type=severity, metavar="SEVERITY",
                        help="exit 1 on a new finding at or above low|medium|high|critical "
                        f"(default: {default_fail_on.label})")
    parser.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    parser.add_argument("--rules", type=Path, action="append", metavar="DIR",
                        help="rule folder (repeatable; default: the built-in packs)")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="report only findings not in FILE "
                        "(default: .bastion-baseline.json when present)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="ignore the baseline and report every finding")
    parser.add_argument("--policy", type=Path, metavar="FILE", help="policy file (TOML)")
    parser.add_argument("--filter", choices=FILTERS,
                        help="which lines a finding must touch (default: added for a "
                        "staged change, file when whole files are passed)")
    parser.set_defaults(default_fail_on=default_fail_on)
    return parser

"""A repository's own settings: `.bastion.toml` on its default branch.

The file is read from the default branch, never from a pull request's head,
so a pull request cannot switch off its own review. It may tune the review
but not widen what the operator allows: no rule folders on the host, no
model when the operator turned it off, limits only lowered.
"""

from __future__ import annotations

import tomllib
from typing import Any


from bot.config import ConfigError, ReviewSettings
from bot.findings import Severity

CONFIG_FILE = ".bastion.toml"
TUNABLE = frozenset({"filter", "use_model", "fail_on", "drop_dismissed", "must_report",
                     "review_hunks"})
LOWER_ONLY = frozenset({"max_file_lines", "max_file_bytes", "token_budget",
                        "semgrep_timeout"})


class RepoConfigError(Exception):
    """A repository settings file that cannot be used; the message says why."""


def parse_overrides(data: bytes, base: ReviewSettings) -> dict[str, Any]:
    """The `[review]` table of the file, checked against what a repository may set."""
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RepoConfigError(f"not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"review"})
    if unknown:
        raise RepoConfigError(f"unknown table or key: {', '.join(unknown)}")
    review = document.get("review", {})
    if not isinstance(review, dict):
        raise RepoConfigError("review must be a table")

    overrides: dict[str, Any] = {}
    for key, value in review.items():
        overrides[key] = _checked(key, value, base)
    return overrides


def _checked(key: str, value: Any, base: ReviewSettings) -> Any:
    if key == "fail_on":
        return _severity(value)
    if key == "use_model" and value is True and not base.use_model:
        raise RepoConfigError("use_model: the model is turned off for this bot")
    if key in LOWER_ONLY:
        if not isinstance(value, int) or isinstance(value, bool):
            raise RepoConfigError(f"{key}: expected a whole number")
        limit = getattr(base, key)
        if value > limit:
            raise RepoConfigError(f"{key}: at most {limit} on this bot")
        return value
    if key not in TUNABLE:
        raise RepoConfigError(f"review.{key}: not a setting a repository may change")
    return value


def _severity(value: Any) -> Severity:
    # A threshold may move, not vanish: the check stays a gate.
    if not isinstance(value, str):
        raise RepoConfigError("fail_on: expected a severity name")
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise RepoConfigError(f"fail_on: {exc}") from None


def merge_repo_settings(
    base: ReviewSettings, data: bytes | None
) -> tuple[ReviewSettings, str | None]:
    """A per-job copy of `base` with the file applied, and the reason if it was not."""
    if data is None:
        return base, None
    try:
        return base.merged(parse_overrides(data, base)), None
    except RepoConfigError as exc:
        return base, f"{CONFIG_FILE}: {exc}"
    except ConfigError as exc:
        return base, f"{CONFIG_FILE}: {exc}"

"""Which changed files are reviewed, which are skipped and why, and in what order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.change import FileChange
from bot.config import ReviewSettings
from bot.findings import Skipped

GENERATED_NAMES = frozenset({
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Pipfile.lock",
    "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock", "uv.lock",
})
GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", "_pb2.py", ".pb.go", ".generated.cs")
# Only the headers generators really write, at the start of a line comment.
GENERATED_MARKER = re.compile(
    rb"^\s*(?://|#|/\*|\*|--|;)\s*(?:@generated\b|Code generated .* DO NOT EDIT\.$)",
    re.MULTILINE,
)
RISKY_PATH = re.compile(
    r"auth|login|passw|secret|token|crypt|session|admin|sql|query|exec|shell|upload|"
    r"deserial|pickle|template|api|handler|view|route|controller",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Selection:
    """Files the rules scan, the subset the model also reads, and what is skipped."""

    reviewed: tuple[FileChange, ...]
    skipped: tuple[Skipped, ...]
    rules_only: frozenset[str] = frozenset()

    def for_model(self) -> tuple[FileChange, ...]:
        return tuple(fc for fc in self.reviewed if fc.path not in self.rules_only)


def select_files(files: tuple[FileChange, ...], settings: ReviewSettings) -> Selection:
    """Split changed files into those to review and those skipped, with a reason each.

    Generated and non-UTF-8 files are still scanned by the rules, so that a
    header comment or one odd byte cannot hide code; only the model skips them.
    """
    reviewed: list[FileChange] = []
    skipped: list[Skipped] = []
    rules_only: set[str] = set()
    for change in files:
        reason = skip_reason(change, settings) or model_skip_reason(change)
        if reason is None or reason.reason in ("generated", "undecodable"):
            reviewed.append(change)
        if reason is not None:
            skipped.append(reason)
            rules_only.add(change.path)
    return Selection(tuple(reviewed), tuple(skipped), frozenset(rules_only))


def skip_reason(change: FileChange, settings: ReviewSettings) -> Skipped | None:
    """Why `change` cannot be scanned at all, or None when it can."""
    path = change.path
    if change.status == "deleted":
        return Skipped(path, "deleted", "the file is deleted at head")
    if change.submodule:
        return Skipped(path, "submodule", "submodule pointer change")
    if change.symlink:
        return Skipped(path, "symlink", "symbolic link")
    if change.binary or change.new_data is None:
        return Skipped(path, "binary", "binary content")

    data = change.new_data
    if len(data) > settings.max_file_bytes:
        return Skipped(path, "too-large", f"{len(data)} bytes > {settings.max_file_bytes}")
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if lines > settings.max_file_lines:
        return Skipped(path, "too-large", f"{lines} lines > {settings.max_file_lines}")
    return None


def model_skip_reason(change: FileChange) -> Skipped | None:
    """Why the model should not read a file the rules still scan."""
    if is_generated(change.path, change.new_data or b""):
        return Skipped(change.path, "generated", "generated or vendored file: rules only")
    if change.new_text() is None:
        return Skipped(change.path, "undecodable", "not valid UTF-8: rules only")
    return None


def is_generated(path: str, data: bytes) -> bool:
    """Lock files, minified bundles and files that say they are generated."""
    name = PurePosixPath(path).name
    if name in GENERATED_NAMES or name.endswith(GENERATED_SUFFIXES):
        return True
    parts = PurePosixPath(path).parts
    if "node_modules" in parts or "vendor" in parts[:1]:
        return True
    return GENERATED_MARKER.search(data[:2048]) is not None


def risk(change: FileChange, findings: int) -> int:
    """Order files for the model's budget: rule hits first, then risky paths, then size."""
    score = findings * 1000
    if RISKY_PATH.search(change.path):
        score += 500
    return score + min(len(change.added_lines), 400)

"""A Change: two trees and the hunks between them, with old and new line numbers.

Everything after a Change is the same code path for the webhook, the hook and
the command line, so these records carry the new side's bytes with them and
no handle on the repository they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["added", "deleted", "modified", "renamed", "copied", "typechange"]
Origin = Literal["+", "-", " "]


@dataclass(frozen=True)
class DiffLine:
    origin: Origin
    old_lineno: int | None
    new_lineno: int | None
    content: str


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: tuple[DiffLine, ...]
    header: str = ""

    @property
    def added(self) -> frozenset[int]:
        """New-side line numbers this hunk adds."""
        return frozenset(
            ln.new_lineno for ln in self.lines if ln.origin == "+" and ln.new_lineno
        )

    @property
    def commentable(self) -> frozenset[int]:
        """New-side lines GitHub accepts a comment on: added and context lines."""
        return frozenset(ln.new_lineno for ln in self.lines if ln.new_lineno)

    @property
    def new_end(self) -> int:
        return self.new_start + max(self.new_lines, 1) - 1

    def text(self) -> str:
        """The hunk as a unified-diff body, for a prompt."""
        return "\n".join(f"{ln.origin}{ln.content}" for ln in self.lines)


@dataclass(frozen=True)
class FileChange:
    path: str
    status: Status
    old_path: str | None = None
    old_mode: int = 0
    new_mode: int = 0
    binary: bool = False
    symlink: bool = False
    submodule: bool = False
    similarity: int | None = None
    hunks: tuple[Hunk, ...] = ()
    new_data: bytes | None = field(default=None, repr=False)

    @property
    def added_lines(self) -> frozenset[int]:
        return frozenset().union(*(h.added for h in self.hunks)) if self.hunks else frozenset()

    @property
    def commentable_lines(self) -> frozenset[int]:
        if not self.hunks:
            return frozenset()
        return frozenset().union(*(h.commentable for h in self.hunks))

    def hunk_at(self, line: int) -> Hunk | None:
        """The hunk whose new-side range holds `line`."""
        for hunk in self.hunks:
            if hunk.new_start <= line <= hunk.new_end:
                return hunk
        return None

    def new_text(self) -> str | None:
        """The new side decoded as UTF-8, or None when it is not text."""
        if self.new_data is None or self.binary:
            return None
        try:
            return self.new_data.decode("utf-8")
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True)
class Change:
    """What is reviewed: the new side at `head`, compared with `base`.

    For staged changes `head` is the index's tree id.
    """

    base: str
    head: str
    files: tuple[FileChange, ...]
    merge_base: str | None = None

    def file(self, path: str) -> FileChange | None:
        for fc in self.files:
            if fc.path == path:
                return fc
        return None

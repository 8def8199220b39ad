"""What a hook run reviews: the staged change, cut down to the files pre-commit passed.

pre-commit passes the staged files' names at a commit, every tracked file
with `--all-files`, and the files of the pushed range at pre-push (with
PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF set). Content always comes from
git objects, never from the working tree, so unstaged edits neither hide
nor create findings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pygit2
from pygit2.enums import RepositoryState

from bot import gitdiff
from bot.baseline import snapshot_files
from bot.change import Change, FileChange
from bot.findings import Finding, Skipped


@dataclass(frozen=True)
class Target:
    """The change to review and which of its files are checked in full."""

    change: Change
    whole: frozenset[str]
    skipped: tuple[Skipped, ...] = ()

    @property
    def default_filter(self) -> str:
        # Files passed by name but unchanged (`--all-files`, `--files`) are
        # checked in full; one such file puts the whole run in file mode so
        # every file of the run is judged alike.
        return "file" if self.whole else "added"

    def admits(self, finding: Finding, mode: str) -> bool:
        """Apply the filter mode to a finding made from whole files."""
        if mode == "file" or finding.path in self.whole:
            return True
        fc = self.change.file(finding.path)
        if fc is None:
            return False
        lines = range(finding.line, finding.end_line + 1)
        if mode == "hunk":
            return any(h.new_start <= ln <= h.new_end for h in fc.hunks for ln in lines)
        added = fc.added_lines
        return any(ln in added for ln in lines)


def collect(repo: pygit2.Repository, filenames: Sequence[str]) -> Target:
    """Build the Target for `filenames` (paths as given, relative to the current folder)."""
    pushed = _pushed_range()
    if pushed is not None:
        change = gitdiff.diff_range(repo, *pushed)
    else:
        change = gitdiff.diff_staged(repo)
    if not filenames:
        return Target(change, frozenset())

    names = {_repo_path(repo, name) for name in filenames}
    files = [fc for fc in change.files if fc.path in names]
    rest = names - {fc.path for fc in files}
    if not rest or _merging(repo):
        # During a merge pre-commit also passes files that only differ
        # between the two parents; unchanged in the index, nothing is new.
        return Target(_narrowed(change, files), frozenset())

    rev = pushed[1] if pushed else None
    whole, missing = snapshot_files(repo, rest, rev=rev)
    where = f"not in {rev}" if rev else "not in the index"
    skipped = tuple(Skipped(p, "unsupported", where) for p in missing)
    return Target(
        _narrowed(change, [*files, *whole]),
        frozenset(fc.path for fc in whole),
        skipped,
    )


def _pushed_range() -> tuple[str, str] | None:
    """The range pre-commit checks at pre-push, or with --from-ref/--to-ref."""
    base = os.environ.get("PRE_COMMIT_FROM_REF")
    head = os.environ.get("PRE_COMMIT_TO_REF")
    return (base, head) if base and head else None


def _merging(repo: pygit2.Repository) -> bool:
    return repo.state() == RepositoryState.MERGE


def _narrowed(change: Change, files: Sequence[FileChange]) -> Change:
    ordered = tuple(sorted(files, key=lambda fc: fc.path))
    return Change(change.base, change.head, ordered, change.merge_base)


def _repo_path(repo: pygit2.Repository, name: str) -> str:
    """A file name as given on the command line, as a path inside the repository."""
    root = Path(repo.workdir).resolve()
    path = Path(name)
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        # Resolve only the folder: the file itself may be a symlink or gone.
        relative = path.parent.resolve().relative_to(root) / path.name
    except ValueError:
        return PurePosixPath(name).as_posix()
    return relative.as_posix()

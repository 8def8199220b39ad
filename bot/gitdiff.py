"""Read a Change out of a git repository: a commit range or the staged index.

Only pygit2 reads the repository; nothing here runs the git command line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, DiffOption

from bot.change import Change, DiffLine, FileChange, Hunk, Status

# The id git gives a tree with no entries; the base of a first commit.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

_GITLINK = 0o160000
_SYMLINK = 0o120000

# git calls a blob binary when a NUL byte shows up in its first 8000 bytes.
_BINARY_PROBE = 8000

# Binary or not is decided from content alone (see _is_binary): attributes
# come from the repository under review, and `*.py -diff` there must not
# hide its code from the review.
_DIFF_FLAGS = DiffOption.INCLUDE_TYPECHANGE | DiffOption.FORCE_TEXT

# Other origins ('<', '>', '=') mark "\ No newline at end of file", not a line.
_LINE_ORIGINS = frozenset("+- ")

_STATUS: dict[DeltaStatus, Status] = {
    DeltaStatus.ADDED: "added",
    DeltaStatus.DELETED: "deleted",
    DeltaStatus.MODIFIED: "modified",
    DeltaStatus.RENAMED: "renamed",
    DeltaStatus.COPIED: "copied",
    DeltaStatus.TYPECHANGE: "typechange",
}


class GitError(Exception):
    """A repository, revision or diff that cannot be read."""


def open_repository(path: Path | str) -> pygit2.Repository:
    """Open the repository that holds `path`, searching upwards as git does."""
    try:
        found = pygit2.discover_repository(str(path))
        if found is None:
            raise GitError(f"not a git repository: {path}")
        return pygit2.Repository(found)
    except pygit2.GitError as exc:
        raise GitError(f"cannot open repository {path}: {exc}") from None


def resolve_commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit:
    """Resolve a revision expression (sha, branch, tag, HEAD~2) to its commit."""
    try:
        target = repo.revparse_single(rev)
    except (KeyError, ValueError, pygit2.GitError):
        raise GitError(f"unknown revision: {rev}") from None

    try:
        return target.peel(pygit2.Commit)
    except (ValueError, pygit2.GitError):
        raise GitError(f"not a commit: {rev} is a {target.type_str}") from None


def diff_range(
    repo: pygit2.Repository, base: str, head: str, *, context_lines: int = 3
) -> Change:
    """Diff `head` against its merge base with `base`, as `git diff base...head` does."""
    base_commit = resolve_commit(repo, base)
    head_commit = resolve_commit(repo, head)

    fork = repo.merge_base(base_commit.id, head_commit.id)
    if fork is None:
        raise GitError(f"no merge base between {base} and {head}")

    fork_tree = repo[fork].peel(pygit2.Tree)
    files = _diff_or_raise(
        repo, fork_tree, head_commit.tree, context_lines, f"{base}...{head}"
    )
    return Change(
        base=str(base_commit.id),
        head=str(head_commit.id),
        files=files,
        merge_base=str(fork),
    )


def diff_staged(repo: pygit2.Repository, *, context_lines: int = 3) -> Change:
    """Diff the index against HEAD, or against the empty tree before a first commit."""
    if repo.is_bare:
        raise GitError(f"a bare repository has no index: {repo.path}")

    index = repo.index
    # The index may have changed on disk since the repository was opened.
    index.read(False)
    if index.conflicts is not None:
        raise GitError("the index has unresolved merge conflicts")
    staged_tree = repo[index.write_tree()].peel(pygit2.Tree)

    if repo.head_is_unborn:
        base, head_tree = EMPTY_TREE, None
    else:
        head_commit = repo.head.peel(pygit2.Commit)
        base, head_tree = str(head_commit.id), head_commit.tree

    files = _diff_or_raise(repo, head_tree, staged_tree, context_lines, "the index")
    return Change(base=base, head=str(staged_tree.id), files=files)


def diff_trees(
    repo: pygit2.Repository,
    old_tree: pygit2.Tree | None,
    new_tree: pygit2.Tree,
    *,
    context_lines: int = 3,
) -> tuple[FileChange, ...]:
    """Diff two trees (None: the empty tree) into file changes sorted by path."""
    if old_tree is None:
        # With no tree given pygit2 diffs against the empty tree; swap puts
        # the empty tree on the old side.
        diff = new_tree.diff_to_tree(
            flags=_DIFF_FLAGS, context_lines=context_lines, swap=True
        )
    else:
        diff = old_tree.diff_to_tree(
            new_tree, flags=_DIFF_FLAGS, context_lines=context_lines
        )
    diff.find_similar(flags=DiffFind.FIND_RENAMES)

    files = [
        _file_change(repo, diff, number, delta, context_lines)
        for number, delta in enumerate(diff.deltas)
    ]
    return tuple(sorted(files, key=lambda change: change.path))


def _diff_or_raise(
    repo: pygit2.Repository,
    old_tree: pygit2.Tree | None,
    new_tree: pygit2.Tree,
    context_lines: int,
    what: str,
) -> tuple[FileChange, ...]:
    """Run diff_trees, turning a libgit2 failure (a missing object) into GitError."""
    try:
        return diff_trees(repo, old_tree, new_tree, context_lines=context_lines)
    except (KeyError, pygit2.GitError) as exc:
        raise GitError(f"cannot diff {what}: {exc}") from None


def _file_change(
    repo: pygit2.Repository,
    diff: pygit2.Diff,
    number: int,
    delta: pygit2.DiffDelta,
    context_lines: int,
) -> FileChange:
    """Build the FileChange for one delta of `diff`."""
    status = _STATUS[delta.status]
    old, new = delta.old_file, delta.new_file
    # A deleted file is known by its old side; everything else by its new one.
    side = old if status == "deleted" else new
    moved = status in ("renamed", "copied")

    old_blob, new_blob = _blob(repo, old), _blob(repo, new)
    if side.mode == _GITLINK:
        # A submodule pointer: a commit id, no content to diff or scan.
        binary, hunks = False, ()
    elif _is_binary(old_blob if status == "deleted" else new_blob):
        binary, hunks = True, ()
    elif status == "typechange" or _is_binary(old_blob):
        binary, hunks = False, _rewrite(old_blob, new_blob, context_lines)
    else:
        patch = diff[number]
        # Content was checked above; libgit2 still gives up past its size limit.
        binary = patch.delta.is_binary
        hunks = () if binary else _hunks(patch.hunks)

    return FileChange(
        path=side.path,
        status=status,
        old_path=old.path if moved else None,
        old_mode=int(old.mode),
        new_mode=int(new.mode),
        binary=binary,
        symlink=side.mode == _SYMLINK,
        submodule=side.mode == _GITLINK,
        similarity=delta.similarity if moved else None,
        hunks=hunks,
        new_data=None if binary or new_blob is None else new_blob.data,
    )


def _rewrite(
    old_blob: pygit2.Blob | None, new_blob: pygit2.Blob | None, context_lines: int
) -> tuple[Hunk, ...]:
    """Diff as all old lines out and all new lines in, in one hunk.

    libgit2 gives a type change (file, symlink, submodule) no hunks and a
    binary file turned text none either; git shows both as a deletion and an
    addition, so every new line counts as added.
    """
    if _is_binary(old_blob):
        old_blob = None
    removed = _one_sided(old_blob, None, context_lines)
    added = _one_sided(None, new_blob, context_lines)
    if not removed and not added:
        return ()

    old_count, new_count = len(removed), len(added)
    old_start, new_start = min(old_count, 1), min(new_count, 1)
    header = f"@@ -{_span(old_start, old_count)} +{_span(new_start, new_count)} @@"
    hunk = Hunk(
        old_start=old_start,
        old_lines=old_count,
        new_start=new_start,
        new_lines=new_count,
        lines=removed + added,
        header=header,
    )
    return (hunk,)


def _span(start: int, count: int) -> str:
    """Write a hunk range the way a unified diff header does."""
    return str(start) if count == 1 else f"{start},{count}"


def _one_sided(
    old: pygit2.Blob | None, new: pygit2.Blob | None, context_lines: int
) -> tuple[DiffLine, ...]:
    """Return every line of one blob, as removed (old) or as added (new)."""
    if old is None and new is None:
        return ()
    patch = pygit2.Patch.create_from(
        old, new, flag=_DIFF_FLAGS, context_lines=context_lines
    )
    return tuple(line for hunk in _hunks(patch.hunks) for line in hunk.lines)


def _hunks(hunks: Iterable[pygit2.DiffHunk]) -> tuple[Hunk, ...]:
    return tuple(
        Hunk(
            old_start=hunk.old_start,
            old_lines=hunk.old_lines,
            new_start=hunk.new_start,
            new_lines=hunk.new_lines,
            lines=_lines(hunk.lines),
            header=hunk.header.rstrip("\r\n"),
        )
        for hunk in hunks
    )


def _lines(lines: Iterable[pygit2.DiffLine]) -> tuple[DiffLine, ...]:
    """Convert libgit2 lines, dropping end-of-file newline markers and line ends."""
    out: list[DiffLine] = []
    append = out.append
    for line in lines:
        origin = line.origin
        if origin not in _LINE_ORIGINS:
            continue

        raw = line.raw_content
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        old_lineno, new_lineno = line.old_lineno, line.new_lineno
        append(
            DiffLine(
                origin,
                old_lineno if old_lineno > 0 else None,
                new_lineno if new_lineno > 0 else None,
                raw.decode("utf-8", "replace"),
            )
        )
    return tuple(out)


def _blob(repo: pygit2.Repository, side: pygit2.DiffFile) -> pygit2.Blob | None:
    """Return the blob on one side of a delta; None for a submodule or no file."""
    if side.mode in (0, _GITLINK):
        return None
    return repo[side.id].peel(pygit2.Blob)


def _is_binary(blob: pygit2.Blob | None) -> bool:
    """Tell binary content the way git does: a NUL byte near the start."""
    return blob is not None and b"\0" in bytes(memoryview(blob)[:_BINARY_PROBE])

"""The baseline: fingerprints of findings a project already knows about.

A hook reports only findings whose fingerprint is not in the baseline, so a
team can adopt the rules on an old code base and still block new problems.
Fingerprints leave out line numbers (see `bot.findings.fingerprint`), so a
baselined finding stays known while code above it moves; moving the file or
editing the matched code makes it new again.

`bastion baseline` writes the file from a full scan of the index (or of a
commit) with the rules alone.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot.config import ConfigError

if TYPE_CHECKING:
    import pygit2

    from bot.change import FileChange
    from bot.findings import Finding
    from bot.policy import Policy

BASELINE_FILE = ".bastion-baseline.json"
FORMAT_VERSION = 1

# git's own binary test: a NUL byte in the first 8000 bytes.
_BINARY_PROBE = 8000
_GITLINK = 0o160000
_SYMLINK = 0o120000


class BaselineError(ConfigError):
    """A baseline file that cannot be read or written; names the file and the reason."""


@dataclass(frozen=True)
class BaselineEntry:
    rule_id: str
    path: str
    fingerprint: str
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "note": self.note,
        }


@dataclass(frozen=True)
class Baseline:
    entries: tuple[BaselineEntry, ...] = ()
    _keys: frozenset[tuple[str, str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = frozenset((e.rule_id, e.path, e.fingerprint) for e in self.entries)
        object.__setattr__(self, "_keys", keys)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read and validate a baseline file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BaselineError(f"{path}: baseline file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BaselineError(f"{path}: not a readable baseline: {exc}") from None
        return cls(_validate(data, path))

    @classmethod
    def from_findings(
        cls,
        findings: Iterable[Finding],
        *,
        note: str | None = None,
        previous: Baseline | None = None,
    ) -> Baseline:
        """Record `findings`, keeping the notes of entries `previous` already had."""
        kept = {e.fingerprint: e.note for e in previous.entries} if previous else {}
        entries: dict[str, BaselineEntry] = {}
        for finding in findings:
            text = note if note is not None else kept.get(finding.fingerprint)
            if text is None:
                text = f"line {finding.line}: {finding.message}"[:200]
            entries[finding.fingerprint] = BaselineEntry(
                finding.rule_id, finding.path, finding.fingerprint, text
            )
        ordered = sorted(entries.values(), key=lambda e: (e.path, e.rule_id, e.fingerprint))
        return cls(tuple(ordered))

    def dumps(self) -> str:
        """The file's text: stable order and layout, so it diffs well in review."""
        data = {
            "version": FORMAT_VERSION,
            "findings": [e.to_dict() for e in self.entries],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def write(self, path: Path) -> None:
        try:
            path.write_text(self.dumps(), encoding="utf-8")
        except OSError as exc:
            raise BaselineError(f"{path}: cannot write the baseline: {exc}") from None

    def known(self, finding: Finding) -> bool:
        return (finding.rule_id, finding.path, finding.fingerprint) in self._keys

    def split(self, findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
        """Separate new findings from those the baseline already holds."""
        new: list[Finding] = []
        known: list[Finding] = []
        for finding in findings:
            (known if self.known(finding) else new).append(finding)
        return new, known



def _validate(data: object, path: Path) -> tuple[BaselineEntry, ...]:
    """Check the file's shape with pydantic and return its entries."""
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    class _Entry(BaseModel):
        model_config = ConfigDict(extra="forbid")
        rule_id: str = Field(min_length=1)
        path: str = Field(min_length=1)
        fingerprint: str = Field(min_length=1)
        note: str = ""

    class _File(BaseModel):
        model_config = ConfigDict(extra="forbid")
        version: Literal[1]
        findings: list[_Entry]

    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise BaselineError(f"{path}: {where}: {first['msg']}") from None
    return tuple(BaselineEntry(**e.model_dump()) for e in parsed.findings)


def snapshot_files(
    repo: pygit2.Repository, paths: Iterable[str] | None = None, rev: str | None = None
) -> tuple[tuple[FileChange, ...], tuple[str, ...]]:
    """Whole files as they are in the index (or at `rev`), as added files.

    Returns the files found and the paths asked for that are not there.
    """
    entries = _index_entries(repo) if rev is None else _tree_entries(repo, rev)
    if paths is None:
        wanted = sorted(entries)
    else:
        wanted = sorted(set(paths))
    found = tuple(_whole_file(repo, p, *entries[p]) for p in wanted if p in entries)
    missing = tuple(p for p in wanted if p not in entries)
    return found, missing


def _index_entries(repo: pygit2.Repository) -> dict[str, tuple[int, str]]:
    from bot.gitdiff import GitError

    index = repo.index
    index.read(False)
    if index.conflicts is not None:
        raise GitError("the index has unresolved merge conflicts")
    return {entry.path: (entry.mode, str(entry.id)) for entry in index}


def _tree_entries(repo: pygit2.Repository, rev: str) -> dict[str, tuple[int, str]]:
    from bot.gitdiff import resolve_commit

    entries: dict[str, tuple[int, str]] = {}
    stack = [("", resolve_commit(repo, rev).tree)]
    while stack:
        prefix, tree = stack.pop()
        for obj in tree:
            path = f"{prefix}{obj.name}"
            if obj.type_str == "tree":
                stack.append((f"{path}/", obj))
            else:
                entries[path] = (obj.filemode, str(obj.id))
    return entries


def _whole_file(repo: pygit2.Repository, path: str, mode: int, oid: str) -> FileChange:
    """One file's content as an addition with no hunks: every line is in scope."""
    from bot.change import FileChange

    if mode == _GITLINK:
        return FileChange(path, "added", new_mode=mode, submodule=True)
    data: bytes = repo[oid].data
    binary = b"\0" in data[:_BINARY_PROBE]
    return FileChange(
        path,
        "added",
        new_mode=mode,
        symlink=mode == _SYMLINK,
        binary=binary,
        new_data=None if binary else data,
    )


# The `bastion baseline` command.

def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "baseline",
        help="record the current findings so hooks report only new ones",
        description="Scan every file in the index (or at --rev) with the rules and "
        f"write the findings' fingerprints to {BASELINE_FILE}.",
    )
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository (default: .)")
    parser.add_argument("--rev", help="scan this commit instead of the index")
    parser.add_argument("--output", "-o", type=Path,
                        help=f"baseline file (default: {BASELINE_FILE} at the top of the repo)")
    parser.add_argument("--note", help="note stored with every entry (default: line and message)")
    parser.add_argument("--rules", type=Path, action="append", metavar="DIR",
                        help="rule folder (repeatable; default: the built-in packs)")
    parser.add_argument("--policy", type=Path, help="policy file (TOML)")
    parser.add_argument("--config", type=Path, help="settings file (TOML)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Scan, then write the baseline; keep the notes of entries already there."""
    from bot import gitdiff
    from bot.change import Change
    from bot.config import load_settings
    from bot.engine import ReviewEngine

    settings = load_settings(args.config)
    overrides: dict[str, object] = {"filter": "file", "use_model": False}
    if args.rules:
        overrides["rules"] = tuple(args.rules)
    review_settings = settings.review.merged(overrides)
    policy = load_policy(args.policy or settings.policy)

    repo = gitdiff.open_repository(args.repo)
    files, _ = snapshot_files(repo, rev=args.rev)
    change = Change(base=gitdiff.EMPTY_TREE, head=args.rev or "index", files=files)
    result = ReviewEngine(None).review(change, review_settings, policy=policy)
    findings = [f for f in result.findings if f.source == "semgrep"]

    output = args.output or Path(repo.workdir or ".") / BASELINE_FILE
    previous = Baseline.load(output) if output.is_file() else None
    baseline = Baseline.from_findings(findings, note=args.note, previous=previous)
    baseline.write(output)

    paths = len({e.path for e in baseline.entries})
    print(f"bastion: wrote {len(baseline)} findings in {paths} files to {output}")
    return 0


def load_policy(path: Path | None) -> Policy | None:
    """Load the policy file when one is given."""
    if path is None:
        return None
    from bot.policy import Policy

    return Policy.load(path)

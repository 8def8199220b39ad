"""The security lead's policy: which rules apply where, how severe, what may be silenced.

A policy is a TOML file, checked in full when it is loaded; any mistake (an
unknown key, a rule id or pack the rule book does not have, a glob that does
not compile, a missing rules folder) is refused with the file, the line and
the reason, so a typo never quietly turns a rule off. Example:

    block_threshold = "high"           # low | medium | high | critical | never
    rule_dirs = ["security/rules"]     # the organisation's own, beside this file
    disabled = ["python-flask-debug"]
    unsuppressible = ["secrets-private-key", "python-command-injection"]

    [severity]
    python-pickle-load = "high"

    [[scope]]                          # packs for some repositories and paths
    repositories = ["acme/payments-*"]
    paths = ["src/**", "!src/vendored/**"]
    packs = ["python", "secrets"]
    rules = ["go-ssrf"]
    exclude_rules = ["python-pickle-load"]

    [[model.dismiss]]                  # where a model verdict may dismiss a finding
    packs = ["javascript/xss"]
    max_severity = "medium"

Scopes restrict: a file that no scope matches gets every rule; a file that
one or more scopes match gets the union of their rules. Without a
`[[model.dismiss]]` entry a model's "dismissed" verdict only annotates a
finding; an entry must name `critical` as its `max_severity` to let a model
dismiss critical findings.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pathspec
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.findings import Severity
from bot.rulebook import RuleBook, RuleError, load_rules

SeverityName = Literal["low", "medium", "high", "critical"]
ThresholdName = Literal["low", "medium", "high", "critical", "never"]
_REPOSITORY_GLOB = re.compile(r"^[\w.*?\[\]!-]+/[\w.*?\[\]!-]+$|^\*$")


class PolicyError(Exception):
    """A policy that cannot be used; the message reads `FILE:LINE: reason`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScopeSpec(_Strict):
    repositories: tuple[str, ...] = ("*",)
    paths: tuple[str, ...] = ("**",)
    packs: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    exclude_rules: tuple[str, ...] = ()

    @field_validator("repositories")
    @classmethod
    def _repository_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for glob in value:
            _check_repository_glob(glob)
        return value

    @field_validator("paths")
    @classmethod
    def _path_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for glob in value:
            _compile_paths([glob])
        return value


class DismissSpec(_Strict):
    packs: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    max_severity: SeverityName = "medium"


class ModelSpec(_Strict):
    dismiss: tuple[DismissSpec, ...] = ()


class PolicySpec(_Strict):
    """The file's schema: every key it may hold."""

    version: Literal[1] = 1
    block_threshold: ThresholdName = "high"
    rule_dirs: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    unsuppressible: tuple[str, ...] = ()
    severity: dict[str, SeverityName] = {}
    scope: tuple[ScopeSpec, ...] = ()
    model: ModelSpec = ModelSpec()


@dataclass(frozen=True)
class _Scope:
    repositories: tuple[str, ...]
    paths: pathspec.PathSpec
    rule_ids: frozenset[str]

    def matches(self, repository: str, path: str) -> bool:
        repo = repository.lower()
        named = any(fnmatch.fnmatchcase(repo, glob.lower()) for glob in self.repositories)
        return named and self.paths.match_file(path)


@dataclass(frozen=True)
class Policy:
    """A loaded, checked policy; `Policy.default()` when the operator wrote none."""

    spec: PolicySpec = field(default_factory=PolicySpec)
    path: Path | None = None
    scopes: tuple[_Scope, ...] = ()

    @classmethod
    def default(cls) -> Policy:
        return cls()

    @classmethod
    def load(cls, path: Path, rulebook: RuleBook | None = None) -> Policy:
        """Read and check `path`; without `rulebook`, load the bundled rules and `rule_dirs`."""
        source = _read(path)
        where = _Locator(path, source)
        data = _parse(path, source)
        spec = _validate(data, where)

        base = path.resolve().parent
        extra = tuple(_rule_dir(base, d, where) for d in spec.rule_dirs)
        if rulebook is None:
            rulebook = _load_rulebook(extra, where)
        _check_names(spec, rulebook, where)

        scopes = tuple(_scope(s, rulebook) for s in spec.scope)
        return cls(spec=spec, path=path, scopes=scopes)

    @property
    def block_threshold(self) -> Severity | None:
        """The lowest severity that fails a check run; None when nothing blocks."""
        name = self.spec.block_threshold
        return None if name == "never" else Severity.parse(name)

    def blocks(self, severity: Severity) -> bool:
        threshold = self.block_threshold
        return threshold is not None and severity >= threshold

    def extra_rule_dirs(self) -> tuple[Path, ...]:
        """The organisation's own rule folders, resolved against the policy file."""
        if self.path is None:
            return ()
        base = self.path.resolve().parent
        return tuple((base / d).resolve() for d in self.spec.rule_dirs)

    def rule_dirs(self, bundled: Path) -> list[Path]:
        """The bundled rule packs followed by the organisation's own."""
        return [bundled, *(d for d in self.extra_rule_dirs() if d != bundled)]

    def rules_for(self, repository: str, path: str) -> set[str] | None:
        """The rule ids that apply to `path` in `repository`; None means every rule."""
        matched = [s for s in self.scopes if s.matches(repository, path)]
        if not matched:
            return None
        return set().union(*(s.rule_ids for s in matched))

    def severity_for(self, rule_id: str, severity: Severity) -> Severity:
        override = self.spec.severity.get(rule_id)
        return Severity.parse(override) if override else severity

    def disabled(self, rule_id: str) -> bool:
        return rule_id in self.spec.disabled

    def may_suppress(self, rule_id: str) -> bool:
        return rule_id not in self.spec.unsuppressible

    def model_may_dismiss(self, rule_id: str, pack: str, severity: Severity) -> bool:
        """Whether a model's "dismissed" verdict may remove this finding, not just annotate it."""
        for entry in self.spec.model.dismiss:
            if severity > Severity.parse(entry.max_severity):
                continue
            if rule_id in entry.rules or any(_in_pack(pack, p) for p in entry.packs):
                return True
        return False


def _in_pack(rule_pack: str, name: str) -> bool:
    """A pack name covers its own folder and every folder below it."""
    return rule_pack == name or rule_pack.startswith(name.rstrip("/") + "/")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}:1: policy file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}:1: cannot read policy file: {exc}") from None


def _parse(path: Path, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise PolicyError(f"{path}:{line[1] if line else 1}: invalid TOML: {reason}") from None


def _validate(data: dict[str, Any], where: _Locator) -> PolicySpec:
    try:
        return PolicySpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            table = _describe(loc[:-1])
            inside = f" in {table}" if table else ""
            raise where.error(loc, f"unknown key '{loc[-1]}'{inside}") from None
        reason = error["msg"].removeprefix("Value error, ")
        raise where.error(loc, f"{_describe(loc)}: {reason}") from None


def _describe(loc: tuple[Any, ...]) -> str:
    """A TOML location for people: ('scope', 1, 'paths') reads `scope[2].paths`."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _check_repository_glob(glob: str) -> None:
    if not _REPOSITORY_GLOB.match(glob) or glob.count("[") != glob.count("]"):
        raise ValueError(f"bad repository glob {glob!r}: expected 'owner/name' with * ? [ ]")


def _compile_paths(globs: Sequence[str]) -> pathspec.PathSpec:
    for glob in globs:
        body = glob.removeprefix("!")
        if not body.strip() or "***" in body or body.count("[") != body.count("]"):
            raise ValueError(f"bad path glob {glob!r}")
        try:
            pathspec.GitIgnoreSpec.from_lines([glob])
        except re.error as exc:
            raise ValueError(f"bad path glob {glob!r}: {exc.msg}") from None
        except ValueError as exc:
            raise ValueError(f"bad path glob {glob!r}: {exc}") from None
    return pathspec.GitIgnoreSpec.from_lines(globs)


def _rule_dir(base: Path, name: str, where: _Locator) -> Path:
    folder = (base / name).resolve()
    if not folder.is_dir():
        raise where.error(("rule_dirs",), f"rules folder not found: {folder}", value=name)
    return folder


def _load_rulebook(extra: tuple[Path, ...], where: _Locator) -> RuleBook:
    from bot.config import bundled_rules_dir

    try:
        return load_rules([bundled_rules_dir(), *extra])
    except RuleError as exc:
        raise where.error(("rule_dirs",), str(exc)) from None


def _check_names(spec: PolicySpec, rulebook: RuleBook, where: _Locator) -> None:
    """Refuse rule ids and packs the rule book lacks: a typo would quietly match nothing."""
    rule_ids = {
        ("disabled",): spec.disabled,
        ("unsuppressible",): spec.unsuppressible,
        ("severity",): tuple(spec.severity),
    }
    for index, scope in enumerate(spec.scope):
        rule_ids[("scope", index, "rules")] = scope.rules
        rule_ids[("scope", index, "exclude_rules")] = scope.exclude_rules
    for index, entry in enumerate(spec.model.dismiss):
        rule_ids[("model", "dismiss", index, "rules")] = entry.rules

    for loc, names in rule_ids.items():
        for name in names:
            if name not in rulebook:
                key = loc + (name,) if loc == ("severity",) else loc
                raise where.error(key, f"unknown rule id '{name}'", value=name)

    packs = {rule.pack for rule in rulebook}
    pack_lists = {("scope", i, "packs"): s.packs for i, s in enumerate(spec.scope)}
    pack_lists.update(
        {("model", "dismiss", i, "packs"): d.packs for i, d in enumerate(spec.model.dismiss)}
    )
    for loc, names in pack_lists.items():
        for name in names:
            if not any(_in_pack(pack, name) for pack in packs):
                raise where.error(loc, f"unknown pack '{name}'", value=name)


def _scope(spec: ScopeSpec, rulebook: RuleBook) -> _Scope:
    chosen = {r.id for r in rulebook if any(_in_pack(r.pack, p) for p in spec.packs)}
    chosen |= set(spec.rules)
    return _Scope(
        repositories=spec.repositories,
        paths=_compile_paths(spec.paths),
        rule_ids=frozenset(chosen - set(spec.exclude_rules)),
    )


class _Locator:
    """Find the line of a key, or of a value inside it, in the policy's TOML source.

    tomllib keeps no positions, so the source is read line by line: table
    headers (`[a.b]`, `[[scope]]` counted per occurrence) set the current
    table, and `key =` lines name keys in it. Good enough for the flat shape
    a policy has; a key it cannot place is reported at the nearest table.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
    _KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-]+)\s*=""")

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.keys: dict[tuple[str | int, ...], int] = {}
        self._index()

    def _index(self) -> None:
        table: tuple[str | int, ...] = ()
        counts: dict[tuple[str, ...], int] = {}
        for number, text in enumerate(self.lines, start=1):
            header = self._HEADER.match(text)
            if header:
                names = tuple(_split_key(header[2]))
                if header[1] == "[[":
                    counts[names] = counts.get(names, -1) + 1
                    table = names + (counts[names],)
                else:
                    table = names
                self.keys.setdefault(table, number)
                continue
            key = self._KEY.match(text)
            if key:
                self.keys.setdefault(table + tuple(_split_key(key[1])), number)

    def line(self, loc: tuple[Any, ...], value: str | None = None) -> int:
        """The line of the longest known prefix of `loc`, then of `value` below it."""
        for end in range(len(loc), -1, -1):
            start = self.keys.get(tuple(loc[:end]))
            if start is not None or end == 0:
                break
        start = start or 1
        if value is not None:
            for number in range(start, len(self.lines) + 1):
                if re.search(rf"""["']{re.escape(value)}["']""", self.lines[number - 1]):
                    return number
        return start

    def error(self, loc: tuple[Any, ...], reason: str, value: str | None = None) -> PolicyError:
        return PolicyError(f"{self.path}:{self.line(loc, value)}: {reason}")


def _split_key(text: str) -> Iterable[str]:
    """Split a dotted TOML key, keeping quoted parts whole."""
    for part in re.findall(r""""[^"]*"|'[^']*'|[^.]+""", text):
        yield part.strip().strip("\"'")

"""Semgrep rule files, read once and checked: the rule book every review consults.

A rule's severity comes from its `severity:` field, which Semgrep itself
accepts as INFO/WARNING/ERROR or LOW/MEDIUM/HIGH/CRITICAL. A rule may state
`bastion-severity: low|medium|high|critical` in its metadata; that wins,
because it lets a pack rank a rule as critical while keeping a `severity:`
that every Semgrep version understands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.findings import Severity

RULE_SUFFIXES = (".yaml", ".yml")
SEVERITY_KEY = "bastion-severity"
_TEST_SUFFIXES = (".test.yaml", ".test.yml")
_CWE = re.compile(r"CWE-(\d+)", re.IGNORECASE)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleError(Exception):
    """A rule file or rule that cannot be used; the message starts with the file."""


@dataclass(frozen=True)
class Rule:
    """One Semgrep rule with the metadata a finding and a report need."""

    id: str
    path: Path
    message: str
    severity: Severity
    languages: tuple[str, ...]
    cwe: tuple[str, ...] = ()
    owasp: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    confidence: str = ""
    likelihood: str = ""
    impact: str = ""
    subcategory: tuple[str, ...] = ()
    category: str = ""
    fix: str | None = None
    pack: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RuleBook:
    """Rules by id, in the order their files were read."""

    rules: tuple[Rule, ...] = ()
    _by_id: dict[str, Rule] = field(default_factory=dict, init=False, repr=False,
                                    compare=False)

    def __post_init__(self) -> None:
        for rule in self.rules:
            self._by_id[rule.id] = rule

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def __getitem__(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    @property
    def paths(self) -> tuple[Path, ...]:
        """The rule files, each once, in reading order."""
        return tuple(dict.fromkeys(rule.path for rule in self.rules))


def load_rules(dirs: Sequence[Path]) -> RuleBook:
    """Read every rule file under `dirs` and reject bad or duplicate rules."""
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    for root in dirs:
        for path in rule_files(root):
            for rule in read_rule_file(path, root):
                if rule.id in seen:
                    raise RuleError(f"{path}: rule id {rule.id!r} is also defined in "
                                    f"{seen[rule.id]}")
                seen[rule.id] = path
                rules.append(rule)
    return RuleBook(tuple(rules))


def rule_files(root: Path) -> list[Path]:
    """Rule files under `root` (or `root` itself), skipping test targets and other YAML."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise RuleError(f"{root}: no such rules folder")

    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and _is_rule_file_name(path.name) and _has_rules(path):
            found.append(path)
    return found


def _is_rule_file_name(name: str) -> bool:
    # Semgrep's test convention names a YAML target `<rule>.test.yaml` and
    # the expected autofix output `<rule>.fixed.test.yaml`.
    return name.endswith(RULE_SUFFIXES) and not name.endswith(_TEST_SUFFIXES)


def _has_rules(path: Path) -> bool:
    """Whether `path` looks like a rule file: a mapping with a top-level `rules:` list.

    A file that does not parse counts as a rule file, so that its error is
    reported by `read_rule_file` instead of the file being skipped unseen.
    """
    try:
        document = _load_yaml(path)
    except RuleError:
        return True
    return isinstance(document, dict) and isinstance(document.get("rules"), list)


def _load_yaml(path: Path) -> Any:
    try:
        with path.open("rb") as stream:
            return yaml.load(stream, Loader=_Loader)
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise RuleError(f"{path}: invalid YAML: {reason}") from None
    except OSError as exc:
        raise RuleError(f"{path}: {exc.strerror or exc}") from None


def read_rule_file(path: Path, root: Path | None = None) -> list[Rule]:
    """Read the rules of one file; `root` decides the rule pack name."""
    document = _load_yaml(path)
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(f"{path}: not a rule file: no top-level 'rules:' list")

    pack = _pack(path, root)
    rules = []
    for index, entry in enumerate(document["rules"]):
        if not isinstance(entry, dict):
            raise RuleError(f"{path}: rule #{index + 1} is not a mapping")
        rules.append(_rule(entry, path, pack, index))
    return rules


def _pack(path: Path, root: Path | None) -> str:
    if root is None or root == path:
        return ""
    folder = path.parent.relative_to(root).as_posix()
    return "" if folder == "." else folder


def _rule(entry: dict[str, Any], path: Path, pack: str, index: int) -> Rule:
    """Build one Rule from its YAML mapping, naming the file in every error."""
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise RuleError(f"{path}: rule #{index + 1}: missing 'id'")
    where = f"{path}: rule {rule_id!r}"
    if "." in rule_id:
        # Semgrep prefixes ids with the config path's dotted parts; an id
        # without dots is what lets a match be traced back to its rule.
        raise RuleError(f"{where}: id must not contain '.'")

    message = _required_text(entry, "message", where)
    languages = entry.get("languages")
    if not isinstance(languages, list) or not languages:
        raise RuleError(f"{where}: missing 'languages'")

    metadata = entry.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise RuleError(f"{where}: 'metadata' must be a mapping")
    fix = entry.get("fix")
    return Rule(
        id=rule_id,
        path=path,
        message=message.strip(),
        severity=rule_severity(_required_text(entry, "severity", where), metadata, where),
        languages=tuple(str(language) for language in languages),
        cwe=parse_cwe(metadata.get("cwe")),
        owasp=_texts(metadata.get("owasp")),
        references=_texts(metadata.get("references")),
        confidence=_word(metadata.get("confidence")),
        likelihood=_word(metadata.get("likelihood")),
        impact=_word(metadata.get("impact")),
        subcategory=_texts(metadata.get("subcategory")),
        category=str(metadata.get("category") or ""),
        fix=str(fix) if fix is not None else None,
        pack=pack,
        metadata=metadata,
    )


def _required_text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{where}: missing '{key}'")
    return value


def rule_severity(severity: str, metadata: Mapping[str, Any], where: str = "") -> Severity:
    """The rule's severity: metadata `bastion-severity` if set, else `severity:`."""
    text = metadata.get(SEVERITY_KEY) or severity
    try:
        return Severity.parse(str(text))
    except ValueError as exc:
        raise RuleError(f"{where or 'rule'}: {exc}") from None


def parse_cwe(value: Any) -> tuple[str, ...]:
    """Read CWE ids from a string or list such as "CWE-89: SQL Injection"."""
    found: list[str] = []
    for text in _texts(value):
        matches = _CWE.findall(text)
        if not matches and text.isdigit():
            matches = [text]
        found.extend(f"CWE-{int(number)}" for number in matches)
    return tuple(dict.fromkeys(found))


def _texts(value: Any) -> tuple[str, ...]:
    """A metadata value that may be one item or a list, as stripped strings."""
    if value is None:
        return ()
    items: Iterable[Any] = value if isinstance(value, list) else [value]
    return tuple(str(item).strip() for item in items if str(item).strip())


def _word(value: Any) -> str:
    return str(value).strip().upper() if value is not None else ""

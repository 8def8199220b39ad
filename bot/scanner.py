"""Run Semgrep once over many targets with local rules, offline, and read its JSON.

Semgrep spends about 1.5 s starting up, so a review runs it once over all
targets. Targets go on the command line after `--`: Semgrep has no option to
read them from a file, and scanning a copied folder instead would bring back
its default ignore list (tests/, vendor/, ...). Past `ARGV_BUDGET` characters
of paths the targets are split over several runs that share one deadline, so
a huge change costs one extra start-up per chunk instead of failing with
E2BIG.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from bot.findings import Severity
from bot.rulebook import RuleError, read_rule_file, rule_files, rule_severity

log = logging.getLogger(__name__)

ARGV_BUDGET = 100_000
SEMGREP_ENV = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
# A token or a rules variable would make Semgrep log in or fetch rules.
_STRIPPED_ENV = ("SEMGREP_APP_TOKEN", "SEMGREP_RULES")
_MESSAGE_LIMIT = 300
# Semgrep's separate rule pre-validation pass costs more than a small scan;
# semgrep-core still reports every rule error while scanning, and the rule
# book has read the files already. The flag is internal to Semgrep, so an
# executable that refuses it is remembered and run without it.
FAST_FLAG = "--x-rule-validation=none"
_REFUSES_FAST_FLAG: set[str] = set()

# Problems with one target: that file is reported, the rest of the scan stands.
TARGET_ERROR_KINDS = frozenset({
    "Lexical error", "Syntax error", "Other syntax error", "AST builder error",
    "PartialParsing", "Timeout", "Out of memory", "Stack overflow",
    "Too many matches", "Internal matching error", "Fixpoint timeout",
})
# Problems with a rule or the configuration: no result can be trusted.
RULE_ERROR_KINDS = frozenset({
    "Rule parse error", "Pattern parse error", "PatternParseError", "Invalid YAML",
    "InvalidRuleSchemaError", "UnknownLanguageError", "MissingPlugin", "IncompatibleRule",
})
RULE_ERROR_CODES = frozenset({4, 5, 7, 8})
_RULE_NAMED = re.compile(r"in rule (\S+?):")


class ScanFailed(Exception):
    """Semgrep could not run or gave no usable answer."""


class ScanTimeout(ScanFailed):
    """Semgrep ran past its time limit and was stopped."""


@dataclass(frozen=True)
class ScanError:
    """A target Semgrep could not (fully) scan; the other targets were scanned."""

    path: str
    kind: str
    message: str


@dataclass(frozen=True)
class RuleMatch:
    """One Semgrep match; lines and columns are 1-based, columns count characters."""

    rule_id: str
    path: str
    line: int
    end_line: int
    column: int
    end_column: int
    severity: Severity
    message: str
    metadata: dict[str, Any] = field(compare=False)
    fix: str | None
    matched_text: str


@dataclass
class ScanResult:
    matches: list[RuleMatch]
    errors: list[ScanError]
    seconds: float
    version: str


def run_semgrep(
    root: Path,
    targets: Sequence[str],
    rules: Sequence[Path],
    *,
    timeout: int = 120,
    jobs: int | None = None,
) -> ScanResult:
    """Scan `targets` (paths relative to `root`) with the rule files or folders `rules`.

    Raises RuleError for a bad rule, ScanTimeout past `timeout` seconds and
    ScanFailed when Semgrep is missing or fails otherwise.
    """
    if not targets:
        return ScanResult([], [], 0.0, "")
    paths = [_checked_target(target) for target in targets]
    configs = _config_files(rules)
    command = _command(_semgrep_executable(), configs, timeout, jobs)

    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    result = ScanResult([], [], 0.0, "")
    for chunk in _chunks(paths, ARGV_BUDGET):
        output = _scan_chunk(command, chunk, root, deadline, timeout)
        _collect(output, root, configs, result)
    result.seconds = time.perf_counter() - started
    result.matches.sort(key=lambda m: (m.path, m.line, m.column, m.rule_id))
    return result


def _checked_target(target: str) -> str:
    """A target as a normalized relative path; anything that could escape `root` is refused."""
    path = PurePosixPath(target)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"scan target must be a relative path inside the root: {target!r}")
    return path.as_posix()


def _semgrep_executable() -> str:
    """Semgrep from this interpreter's environment first, then from PATH."""
    beside = Path(sys.executable).parent / "semgrep"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("semgrep")
    if found is None:
        raise ScanFailed(f"semgrep executable not found beside {sys.executable} or on PATH;"
                         " install the semgrep package")
    return found


def _config_files(rules: Sequence[Path]) -> list[Path]:
    """Rule files for `--config`: a folder would make Semgrep read its test targets too."""
    files: list[Path] = []
    for path in rules:
        files.extend(rule_files(Path(path)))
    if not files:
        raise RuleError(f"{', '.join(map(str, rules)) or '(none)'}: no rule files found")
    return files


def _command(executable: str, configs: list[Path], timeout: int, jobs: int | None) -> list[str]:
    # Semgrep's own --timeout limits one rule on one file; keeping it well
    # under the whole scan's limit lets one slow file be reported, not fatal.
    per_file = max(1, timeout // 4)
    command = [
        executable, "scan", "--json", "--metrics=off", "--disable-version-check",
        "--no-git-ignore", "--no-rewrite-rule-ids", "--max-target-bytes=0",
        # Suppression comments are judged by the policy, not by Semgrep.
        "--disable-nosem",
        f"--timeout={per_file}",
    ]
    if executable not in _REFUSES_FAST_FLAG:
        command.append(FAST_FLAG)
    if jobs is not None:
        command.append(f"--jobs={jobs}")
    for config in configs:
        command.append(f"--config={config.resolve()}")
    return command


def _chunks(paths: list[str], budget: int) -> Iterator[list[str]]:
    """Split `paths` into lists whose total length stays under `budget` characters."""
    chunk: list[str] = []
    size = 0
    for path in paths:
        if chunk and size + len(path) + 1 > budget:
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += len(path) + 1
    yield chunk


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
    env.update(SEMGREP_ENV)
    return env


def _scan_chunk(
    command: list[str], chunk: list[str], root: Path, deadline: float, timeout: int
) -> dict[str, Any]:
    """Scan one chunk of targets, dropping FAST_FLAG for good if Semgrep refuses it."""
    returncode, stdout, stderr = _run(command + ["--", *chunk], root, deadline, timeout)
    if FAST_FLAG in command and refused_option(stdout, stderr, FAST_FLAG):
        log.warning("semgrep refuses %s; scanning without it", FAST_FLAG)
        _REFUSES_FAST_FLAG.add(command[0])
        command.remove(FAST_FLAG)
        returncode, stdout, stderr = _run(command + ["--", *chunk], root, deadline, timeout)
    return _parse(returncode, stdout, stderr)


def refused_option(stdout: bytes, stderr: bytes, option: str) -> bool:
    """Whether Semgrep stopped at its usage error for `option` instead of scanning."""
    name = option.split("=", 1)[0].encode()
    return not stdout.strip() and name in stderr


def _run(
    command: list[str], root: Path, deadline: float, timeout: int
) -> tuple[int, bytes, bytes]:
    """Run one Semgrep process and return its status, output and error output."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ScanTimeout(f"semgrep ran past {timeout} s")

    # A new session lets a timeout stop semgrep-core too, not just the wrapper.
    process = subprocess.Popen(
        command, cwd=root, env=_environment(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ScanTimeout(f"semgrep ran past {timeout} s and was stopped") from None

    return process.returncode, stdout, stderr


def _parse(returncode: int, stdout: bytes, stderr: bytes) -> dict[str, Any]:
    """Read Semgrep's JSON; a run without JSON is a failure whatever its status."""
    try:
        output = json.loads(stdout)
    except ValueError:
        output = None
    if not isinstance(output, dict):
        raise ScanFailed(f"semgrep exited with status {returncode} without a JSON report: "
                         f"{_tail(stderr)}")

    output["returncode"] = returncode
    return output


def _tail(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return _one_line(" | ".join(lines[-3:])) or "no message"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT - 3] + "..."


def _collect(
    output: dict[str, Any], root: Path, configs: list[Path], result: ScanResult
) -> None:
    """Add one run's matches and target errors to `result`, raising on fatal errors."""
    errors = [e for e in output.get("errors", []) if isinstance(e, dict)]
    _raise_fatal(output["returncode"], errors, configs)

    result.version = result.version or str(output.get("version", ""))
    result.errors.extend(_target_error(error) for error in errors)
    sources = _Sources(root)
    result.matches.extend(_match(item, sources) for item in output.get("results", []))


def _raise_fatal(returncode: int, errors: list[dict[str, Any]], configs: list[Path]) -> None:
    """Raise for rule errors and for failures that are not about one target."""
    rule_errors = [e for e in errors if _is_rule_error(e)]
    if rule_errors or returncode in RULE_ERROR_CODES:
        detail = _rule_error_text(rule_errors or errors, configs)
        raise RuleError(f"semgrep rejected the rules: {detail}")

    fatal = [e for e in errors if e.get("level") == "error" and not _is_target_error(e)]
    if fatal or returncode not in (0, 1, 2):
        detail = _error_text(fatal[0]) if fatal else "no error reported"
        raise ScanFailed(f"semgrep failed with status {returncode}: {detail}")


def _kind(error: dict[str, Any]) -> str:
    kind = error.get("type")
    if isinstance(kind, list) and kind:
        kind = kind[0]
    return str(kind or "unknown")


def _is_rule_error(error: dict[str, Any]) -> bool:
    return _kind(error) in RULE_ERROR_KINDS or error.get("code") in RULE_ERROR_CODES


def _is_target_error(error: dict[str, Any]) -> bool:
    return _kind(error) in TARGET_ERROR_KINDS or (
        error.get("level") != "error" and bool(_error_path(error))
    )


def _error_path(error: dict[str, Any]) -> str:
    if error.get("path"):
        return str(error["path"])
    spans = error.get("spans") or []
    return str(spans[0].get("file", "")) if spans and isinstance(spans[0], dict) else ""


def _error_text(error: dict[str, Any]) -> str:
    text = error.get("message") or error.get("long_msg") or error.get("short_msg")
    return _one_line(str(text or _kind(error)))


def _rule_error_text(errors: list[dict[str, Any]], configs: list[Path]) -> str:
    """The most specific message: the first error, with its rule file when known."""
    if not errors:
        return "no error reported"
    first = errors[0]
    where = _error_path(first) or _defining_file(first, configs)
    return f"{where}: {_error_text(first)}" if where else _error_text(first)


def _defining_file(error: dict[str, Any], configs: list[Path]) -> str:
    """The rule file that defines the rule an error names, or "" when none does."""
    named = _RULE_NAMED.search(str(error.get("message") or ""))
    rule_id = str(error.get("rule_id") or (named.group(1) if named else ""))
    if not rule_id:
        return ""
    for config in configs:
        try:
            ids = {rule.id for rule in read_rule_file(config)}
        except RuleError:
            continue
        if rule_id.rsplit(".", 1)[-1] in ids:
            return str(config)
    return ""


def _target_error(error: dict[str, Any]) -> ScanError:
    # Errors here are warnings or target errors; _raise_fatal has let no other through.
    return ScanError(_error_path(error), _kind(error), _error_text(error))


class _Sources:
    """Target files read from disk once, split on newlines the way Semgrep counts lines."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[bytes]] = {}

    def lines(self, path: str) -> list[bytes]:
        if path not in self._lines:
            try:
                data = (self.root / path).read_bytes()
            except OSError:
                data = b""
            self._lines[path] = [ln.removesuffix(b"\r") for ln in data.split(b"\n")]
        return self._lines[path]

    def text(self, path: str, start: int, end: int) -> str:
        return b"\n".join(self.lines(path)[start - 1:end]).decode("utf-8", "replace")

    def column(self, path: str, line: int, byte_column: int) -> int:
        """Turn Semgrep's 1-based byte column into a 1-based character column."""
        lines = self.lines(path)
        if not 1 <= line <= len(lines):
            return byte_column
        prefix = lines[line - 1][:max(byte_column - 1, 0)]
        return len(prefix.decode("utf-8", "replace")) + 1


def _match(item: dict[str, Any], sources: _Sources) -> RuleMatch:
    """Build a RuleMatch from one Semgrep result, with source text from disk."""
    path = str(item["path"])
    start, end, extra = item["start"], item["end"], item.get("extra", {})
    metadata = extra.get("metadata") or {}
    rule_id = str(item["check_id"]).rsplit(".", 1)[-1]
    fix = extra.get("fix")
    return RuleMatch(
        rule_id=rule_id,
        path=path,
        line=start["line"],
        end_line=end["line"],
        column=sources.column(path, start["line"], start["col"]),
        end_column=sources.column(path, end["line"], end["col"]),
        severity=rule_severity(str(extra.get("severity", "")), metadata, f"rule {rule_id!r}"),
        message=str(extra.get("message", "")).strip(),
        metadata=metadata,
        fix=str(fix) if fix is not None else None,
        matched_text=sources.text(path, start["line"], end["line"]),
    )

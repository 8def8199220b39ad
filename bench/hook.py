"""Benchmark the scan hook as pre-commit runs it against a bare `semgrep scan`.

Builds a repository with a 5-file staged change, installs `bastion-scan` from
a snapshot of this checkout with pre-commit (not timed), then alternates
`pre-commit run bastion-scan` with a bare `semgrep scan` of the same 5 files
with the same rule files, and prints both medians and their ratio
(target: at most 1.2). A third run uses the exact flags the hook's scanner
passes, which include one that skips Semgrep's rule pre-validation; the
hook against that one is the hook's own overhead. The same Semgrep
executable, from the hook's environment, serves all three.

Usage: python bench/hook.py [--runs 5] [--pre-commit-home DIR] [--source DIR]
A kept --pre-commit-home skips the environment build on later runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
FILES = 5

# A fixed identity and clock: the same checkout gives the same snapshot commit,
# so a kept pre-commit home finds its hook environment again.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
}


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def checked(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = run(cmd, cwd, env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed ({done.returncode}): {done.stderr[-800:]}")
    return done.stdout


def snapshot(source: Path, target: Path, env: dict[str, str]) -> str:
    """Commit the checkout's files (tracked and untracked, not ignored) into `target`."""
    listed = checked(["git", "ls-files", "-z", "-co", "--exclude-standard"], source, env)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    checked(["git", "init", "-q"], target, env)
    for name in filter(None, listed.split("\0")):
        path = source / name
        if path.is_file() and not path.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / name)
    checked(["git", "add", "-A"], target, env)
    checked(["git", "commit", "-q", "-m", "snapshot"], target, env)
    return checked(["git", "rev-parse", "HEAD"], target, env).strip()


def module_text(number: int, functions: int = 40) -> str:
    """An ordinary Python module of a few hundred lines."""
    parts = [f'"""Module {number}."""\n\nimport json\nimport os\nimport subprocess\n']
    for index in range(functions):
        parts.append(
            f"\n\ndef load_{index}(path):\n"
            f"    with open(os.path.join('data', path)) as handle:\n"
            f"        data = json.load(handle)\n"
            f"    total = sum(item.get('size', 0) for item in data)\n"
            f"    return {{'path': path, 'total': total + {index}}}\n"
        )
    return "".join(parts)


def staged_edit(number: int) -> str:
    """The staged version: one new function with a finding per file."""
    return module_text(number) + (
        "\n\ndef refresh(name):\n"
        "    subprocess.run('git fetch ' + name, shell=True, check=False)\n"
    )


def build_repository(root: Path, source: Path, rev: str, env: dict[str, str]) -> list[str]:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    checked(["git", "init", "-q"], root, env)
    names = [f"pkg/module_{n}.py" for n in range(FILES)]
    for number, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(module_text(number))
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: bastion-scan\n"
    )
    checked(["git", "add", "-A"], root, env)
    checked(["git", "commit", "-q", "-m", "start"], root, env)
    for number, name in enumerate(names):
        (root / name).write_text(staged_edit(number))
    checked(["git", "add", *names], root, env)
    return names


def hook_python(home: Path, source: Path, rev: str) -> Path:
    """The interpreter of the environment pre-commit built for the hook at `rev`."""
    # pre-commit's store records where it cloned each repository at each rev.
    with sqlite3.connect(home / "db.db") as db:
        row = db.execute(
            "SELECT path FROM repos WHERE repo = ? AND ref = ?", (str(source), rev)
        ).fetchone()
    found = sorted(Path(row[0]).glob("py_env-*/bin/python")) if row else []
    if not found:
        sys.exit(f"no hook environment for {source}@{rev} under {home}")
    return found[0]


def semgrep_commands(python: Path, names: list[str], cwd: Path) -> tuple[list[str], list[str]]:
    """Two Semgrep runs over the files with the hook's rule files: plain, and with
    the exact flags the hook's scanner adds (it skips a rule pre-validation pass)."""
    # Run outside the checkout, so the installed package answers, not ./bot.
    listing = checked([str(python), "-c", SCANNER_COMMAND], cwd, dict(os.environ))
    scanner = listing.splitlines()
    semgrep = scanner[0]
    configs = [arg for arg in scanner if arg.startswith("--config=")]
    plain = [semgrep, "scan", "--json", "--metrics=off", "--disable-version-check", *configs]
    return [*plain, "--", *names], [*scanner, "--", *names]


# Run inside the hook environment: the command its installed scanner builds.
# TODO: call a public command builder once bot.scanner offers one.
SCANNER_COMMAND = (
    "from bot import scanner\n"
    "from bot.config import bundled_rules_dir\n"
    "configs = scanner._config_files([bundled_rules_dir()])\n"
    "command = scanner._command(scanner._semgrep_executable(), configs, 120, None)\n"
    "print('\\n'.join(command))\n"
)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = run(cmd, cwd, env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd[:4])} failed ({done.returncode}): "
                 f"{(done.stdout + done.stderr)[-800:]}")
    return elapsed


def check_hook_output(output: str) -> None:
    """Refuse to time a hook that did not scan: its summary must count the findings."""
    summary = [line for line in output.splitlines() if line.startswith("bastion-scan: ")]
    if not summary or f"{FILES} findings" not in summary[0]:
        sys.exit(f"the hook did not report {FILES} findings:\n{output[-1500:]}")
    print(summary[0])


def semgrep_version(semgrep: str) -> str:
    return checked([semgrep, "--version"], PROJECT, dict(os.environ)).strip()


def fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pre-commit-home", type=Path, help="kept between runs when given")
    parser.add_argument("--source", type=Path, default=PROJECT, help="checkout to install")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bastion-hook-bench-"))
    home = args.pre_commit_home or work / "pre-commit-home"
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)}
    env.pop("PRE_COMMIT_FROM_REF", None)
    env.pop("PRE_COMMIT_TO_REF", None)
    try:
        rev = snapshot(args.source, home / "hook-source", env)
        repo = work / "repo"
        names = build_repository(repo, home / "hook-source", rev, env)
        hook = [sys.executable, "-m", "pre_commit", "run", "bastion-scan", "--verbose"]
        print("building the hook environment (not timed)...", flush=True)
        checked([sys.executable, "-m", "pre_commit", "install-hooks"], repo, env)
        python = hook_python(home, home / "hook-source", rev)
        bare, same_flags = semgrep_commands(python, names, work)
        version = semgrep_version(bare[0])
        check_hook_output(run(hook, repo, env).stdout)  # also warms the file cache

        times: dict[str, list[float]] = {"hook": [], "bare": [], "same": []}
        for _ in range(args.runs):
            times["hook"].append(timed(hook, repo, env))
            times["bare"].append(timed(bare, repo, env))
            times["same"].append(timed(same_flags, repo, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"staged files: {len(names)}, Semgrep {version}")
    print(f"pre-commit run bastion-scan   median {median['hook']:.3f} s  "
          f"runs {fmt(times['hook'])}")
    print(f"bare semgrep scan             median {median['bare']:.3f} s  "
          f"runs {fmt(times['bare'])}")
    print(f"semgrep with the hook's flags median {median['same']:.3f} s  "
          f"runs {fmt(times['same'])}")
    print(f"ratio hook/bare semgrep: {median['hook'] / median['bare']:.3f} (target <= 1.2)")
    print(f"ratio hook/semgrep with the same flags: {median['hook'] / median['same']:.3f}")


if __name__ == "__main__":
    main()

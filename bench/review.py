"""Benchmark `bastion review` on a range of a real repository's history.

Prints, from one run on one machine:
- wall time per stage of a model review, and model tokens per second;
- the rules-only pipeline (`bastion review --no-llm`, a whole process) against a
  bare `semgrep scan` of the same files with the same rules, as a ratio of
  medians over interleaved runs (target: at most 1.15);
- a second review of the same change with a warm answer cache against the
  first, cold one (target: at most 0.2).

Usage: python bench/review.py [--repo .] [--base HEAD~8] [--head HEAD] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

from bot import gitdiff
from bot.config import ReviewSettings
from bot.rulebook import rule_files
from bot.scanner import FAST_FLAG
from bot.selection import select_files


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd[:3])} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, done.stdout


def materialize(repo_path: Path, base: str, head: str, root: Path) -> list[str]:
    """Write the files the review would scan, as they are at head."""
    repo = gitdiff.open_repository(repo_path)
    change = gitdiff.diff_range(repo, base, head)
    selection = select_files(change.files, ReviewSettings())
    for fc in selection.reviewed:
        target = root / PurePosixPath(fc.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fc.new_data or b"")
    return sorted(fc.path for fc in selection.reviewed)


def compare_rules_only(args: argparse.Namespace, rules: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        targets = materialize(args.repo, args.base, args.head, Path(tmp))
        bare = bare_semgrep(rules) + ["--", *targets]
        tuned = bare_semgrep(rules) + [FAST_FLAG, "--", *targets]
        review = [sys.executable, "-m", "bot", "review", "--repo", str(args.repo),
                  "--base", args.base, "--head", args.head, "--no-llm", "--format", "json"]
        times: dict[str, list[float]] = {"bare": [], "tuned": [], "review": []}
        for _ in range(args.runs):
            times["bare"].append(timed_in(bare, Path(tmp)))
            times["tuned"].append(timed_in(tuned, Path(tmp)))
            times["review"].append(timed(review)[0])

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"files scanned: {len(targets)}, rule files: {len(rule_files(rules))}")
    print(f"bare semgrep scan            median {medians['bare']:.3f} s  "
          f"runs {fmt(times['bare'])}")
    print(f"semgrep scan {FAST_FLAG} median {medians['tuned']:.3f} s  "
          f"runs {fmt(times['tuned'])}")
    print(f"bastion review --no-llm      median {medians['review']:.3f} s  "
          f"runs {fmt(times['review'])}")
    print(f"ratio pipeline/bare semgrep: {medians['review'] / medians['bare']:.3f} "
          "(target <= 1.15)")
    # The pipeline skips Semgrep's separate rule-validation pass; this ratio shows
    # what the pipeline adds over Semgrep run with the same flags.
    print(f"ratio pipeline/semgrep with the same flags: "
          f"{medians['review'] / medians['tuned']:.3f}")


def bare_semgrep(rules: Path) -> list[str]:
    """What a user would run by hand: the same rule files, offline flags, JSON out."""
    semgrep = Path(sys.executable).with_name("semgrep")
    configs = [f"--config={path}" for path in rule_files(rules)]
    return [str(semgrep), "scan", "--json", "--metrics=off", "--disable-version-check",
            *configs]


def timed_in(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        sys.exit(f"semgrep failed ({done.returncode}): {done.stderr[-500:]}")
    return time.perf_counter() - started


def compare_cache(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    env = {**os.environ, "BASTION_DATA_DIR": str(data_dir)}
    review = [sys.executable, "-m", "bot", "review", "--repo", str(args.repo),
              "--base", args.base, "--head", args.head, "--format", "json"]
    try:
        cold, cold_out = timed(review, env)
        warm, warm_out = timed(review, env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    cold_stats = json.loads(cold_out)["stats"]
    warm_stats = json.loads(warm_out)["stats"]
    print("stage seconds (cold run):", json.dumps(cold_stats["timings"]))
    model = cold_stats.get("model", {})
    seconds = model.get("seconds") or 0.0
    tokens = (model.get("prompt_tokens") or 0) + (model.get("completion_tokens") or 0)
    print(f"model: {model.get('model_calls')} calls, {model.get('prompt_tokens')} prompt + "
          f"{model.get('completion_tokens')} completion tokens in {seconds:.1f} s: "
          f"{tokens / seconds if seconds else 0:.0f} tokens/s read and written, "
          f"{model.get('tokens_per_second')} completion tokens/s")
    print(f"warm run model calls: {warm_stats.get('model', {}).get('model_calls')}")
    print(f"cold review {cold:.2f} s, warm review {warm:.2f} s, "
          f"ratio {warm / cold:.3f} (target <= 0.2)")


def fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--base", default="HEAD~8")
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-model", action="store_true")
    args = parser.parse_args()

    from bot.config import bundled_rules_dir

    compare_rules_only(args, bundled_rules_dir())
    if not args.skip_model:
        compare_cache(args)


if __name__ == "__main__":
    main()

"""A progress display for long reviews on a terminal, silent anywhere else."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TextIO

Progress = Callable[[str, int, int], None]
STAGES = {"scan": "Scanning with rules", "judge": "Judging findings", "review": "Reviewing hunks"}


@contextlib.contextmanager
def progress_display(stream: TextIO) -> Iterator[Progress | None]:
    """Yield a progress callback drawing on `stream` when it is a terminal."""
    if not stream.isatty():
        yield None
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    console = Console(file=stream)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done + 1, total=max(total, 1))

        yield update

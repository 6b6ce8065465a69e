"""Where the benchmark's output goes: converters' prints to a log file, progress bars to the terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

__all__ = ["output_to", "terminal_console", "progress_bar"]


@contextlib.contextmanager
def output_to(log: Path):
    """Send what converters print (straight to the file descriptors, or through ``sys.stdout``) to ``log``; a
    progress bar on :func:`terminal_console` keeps drawing on the terminal meanwhile."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@contextlib.contextmanager
def terminal_console(like=None):
    """A rich Console on a copy of file descriptor 1, so that it still reaches the terminal inside
    :func:`output_to`."""
    from rich.console import Console

    stream = os.fdopen(os.dup(1), "w")
    try:
        yield Console(file=stream, force_terminal=like.is_terminal if like is not None else None)
    finally:
        stream.close()


class _Lines:
    """Progress as plain lines (``bench 3/14: <row>``), for output that is not a terminal (a log, CI, a pipe), where
    a progress bar would print nothing until the end."""

    def __init__(self, name: str, total: int, stream):
        self.name, self.total, self.stream, self.done = name, total, stream, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, _task, description: str | None = None, completed: int | None = None, **_rich) -> None:
        """rich's Progress.update: a line for each new description; ``completed`` sets the count."""
        if completed is not None:
            self.done = completed
        if description:
            print(f"{self.name} {min(self.done + 1, self.total)}/{self.total}: {description}", file=self.stream,
                  flush=True)

    def advance(self, _task, advance: int = 1) -> None:
        self.done += advance


def progress_bar(enabled: bool, total: int, console=None, name: str = "bench"):
    """A progress bar on a terminal, plain lines elsewhere (``console`` decides: rich's is_terminal)."""
    if not enabled:
        return None, None
    if console is not None and not console.is_terminal:
        return _Lines(name, total, console.file), 0
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn(f"[bold]{name}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                    TimeElapsedColumn(), console=console)
    return prog, prog.add_task("starting", total=total)

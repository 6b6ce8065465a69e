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


def progress_bar(enabled: bool, total: int, console=None, name: str = "bench"):
    if not enabled:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn(f"[bold]{name}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                    TimeElapsedColumn(), console=console)
    return prog, prog.add_task("starting", total=total)

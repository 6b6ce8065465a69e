"""The ``edge-lmk`` group and what its commands share (option types, the error handling); the commands register
themselves on :data:`main` from their own modules (see :mod:`edge_landmarks.cli`)."""

from __future__ import annotations

import errno
import math
import sys
from pathlib import Path

import click

from .. import __version__
from ..defaults import CLIPS, RUNS, WARMUP
from ..errors import EdgeLandmarksError
from ..formats import export_formats

# What the file system can refuse: a read-only or full disk, no permission, a file where a folder must be.
_FILE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR,
                errno.EEXIST, errno.ENAMETOOLONG, errno.EFBIG}


def one_line(text: str) -> str:
    """``text`` on one line: newlines and other control characters (a file name may hold them) escaped as Python
    writes them, so an error is always exactly one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


class FiniteFloat(click.FloatRange):
    """``click.FloatRange`` that also refuses NaN and infinities (a NaN passes every comparison of FloatRange:
    ``--dedup nan`` kept one frame, ``--max-nme-increase nan`` walked every remedy into QAT). Every float option of
    the CLI uses it with bounds."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        v = float(click.FLOAT.convert(value, param, ctx))
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(v, param, ctx)


MAX_THREADS = 256
"""The most threads an option takes (the runtime's own bound, :data:`edge_landmarks.runtime.backends.MAX_THREADS`):
``predict --threads 100000`` hung starting them."""
THREADS = click.IntRange(1, MAX_THREADS)


class _Group(click.Group):
    """Turns the project's own errors, and what the file system refuses, into one clear line and exit code 1,
    instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgeLandmarksError as exc:
            click.echo(f"error: {one_line(exc)}", err=True)
            sys.exit(1)
        except OSError as exc:
            if exc.errno not in _FILE_ERRNOS:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            what = exc.strerror or str(exc)
            if exc.errno == errno.EEXIST and exc.filename and not Path(exc.filename).is_dir():
                what = "a file is there, where a folder must be"
            click.echo(f"error: {one_line(where + what)}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="edge-lmk")
def main() -> None:
    """edge-lmk: facial-landmark models from training to quantised files on CPUs and the Raspberry Pi.

    \b
    Typical flow:
      edge-lmk data demo                      build the embedded demo set (dlib-labelled faces)
      edge-lmk train demo --data demo68       train the demo recipe
      edge-lmk quantize runs/demo/best.pt --int8
      edge-lmk bench --run runs/demo --target cpu --data demo68
    """


def export_list(fmt: str) -> list[str]:
    return export_formats() if fmt == "all" else [fmt]


FORMAT_CHOICE = click.Choice([*export_formats(), "all"])


def option_group(*decorators):
    """Several click options as one decorator, in the order written: an option that commands share is defined once."""
    def apply(fn):
        for decorate in reversed(decorators):
            fn = decorate(fn)
        return fn
    return apply


artefact_options = option_group(
    click.option("--format", "fmt", type=FORMAT_CHOICE, default="all", show_default=True,
                 help="The format to write, or all of them."),
    click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: <run>/export)."),
    click.option("--force", is_flag=True, help="Replace artefacts that edge-lmk made there before (never other "
                                               "files)."),
)
"""Where ``export`` and ``quantize`` write: ``--format``, ``--out``, ``--force``."""

timing_options = option_group(
    click.option("--runs", type=click.IntRange(1), default=None, help=f"Timed calls per row after warm-up [{RUNS}]."),
    click.option("--warmup", type=click.IntRange(0), default=None, help=f"Untimed calls first [{WARMUP}]."),
    click.option("--clips", type=click.IntRange(min=0), default=None, metavar="N",
                 help="Jitter and lag on clips made from N faces of the split (a face held still, and moving): each "
                      f"model alone and through the demo's tracker and smoothing [{CLIPS}; 0: off]."),
)
"""How ``bench`` and ``quickstart`` time a row: ``--runs``, ``--warmup``, ``--clips`` (None: the default, or a
suite's)."""


def options_again(ctx: click.Context, skip: tuple[str, ...] = (), changed_only: bool = False) -> list[str]:
    """The options of ``ctx`` as given (all but ``skip``; with ``changed_only``, only those off their default), as
    argv: to hand the same command to another process, or to print it again."""
    args: list[str] = []
    for opt in ctx.command.params:
        value = ctx.params.get(opt.name)
        if not isinstance(opt, click.Option) or opt.name in skip or value in (None, False, ()):
            continue
        if changed_only and value == opt.default:
            continue
        flag = max(opt.opts, key=len)
        if opt.is_flag:
            args.append(flag)
        else:
            for v in value if opt.multiple else (value,):
                args += [flag, str(v)]
    return args


def command_line(ctx: click.Context | None = None) -> str:
    """The command as the user could type it again: its name, its arguments and the options they changed."""
    import shlex

    ctx = ctx or click.get_current_context()
    args = [str(v) for p in ctx.command.params if isinstance(p, click.Argument)
            for v in (ctx.params.get(p.name) or ())]
    return shlex.join(["edge-lmk", ctx.info_name, *args, *options_again(ctx, changed_only=True)])

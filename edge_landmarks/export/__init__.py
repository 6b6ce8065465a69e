"""Conversion: checkpoint -> ONNX / OpenVINO IR / TFLite, FP32 or INT8, each file validated right after writing.

An :class:`ExportJob` holds one checkpoint and does its exports (:mod:`.job`); one module per format writes the
files (the table is :mod:`edge_landmarks.formats`). The two functions here are the one-call forms::

    job = ExportJob("runs/demo/best.pt")
    job.write("onnx", "fp32")                # export_artefact("runs/demo/best.pt", "onnx") in one call
    job.within_budget("onnx", 0.02)          # quantize_within_budget("runs/demo/best.pt", "onnx", 0.02)

A caller that writes several files of one checkpoint (both precisions, several formats, the budget's remedies) keeps
one job, so that each format's FP32 conversion, the calibration crops and a QAT fine-tune are made once.
"""

from __future__ import annotations

from pathlib import Path

from ..formats import FORMATS
from .job import (
    MAX_CALIBRATION,
    MAX_FLOAT_HEAD_SHARE,
    MAX_NME_INCREASE,
    MIN_CALIBRATION,
    REMEDIES,
    BudgetError,
    ExportJob,
    artefact_name,
    artefact_stem,
    calibration_crops,
    check_budget,
    head_share,
    held_out_faces,
    validate,
)

__all__ = ["ExportJob", "export_artefact", "quantize_within_budget", "calibration_crops", "validate", "FORMATS",
           "REMEDIES", "BudgetError", "artefact_name", "artefact_stem", "held_out_faces", "head_share",
           "MIN_CALIBRATION", "MAX_CALIBRATION", "MAX_FLOAT_HEAD_SHARE", "MAX_NME_INCREASE"]

JOB_OPTIONS = ("data", "out", "calib_split", "val_split", "threads", "progress", "check_faces")
"""The keyword arguments of the one-call forms that go to the :class:`ExportJob`; the rest go to its method."""


def _split(options: dict) -> tuple[dict, dict]:
    return ({k: v for k, v in options.items() if k in JOB_OPTIONS},
            {k: v for k, v in options.items() if k not in JOB_OPTIONS})


def export_artefact(checkpoint: str | Path, fmt: str, precision: str = "fp32", **options) -> dict:
    """One validated file: ``ExportJob(checkpoint, **job options).write(fmt, precision, **the rest)``; see
    :class:`ExportJob` and :meth:`ExportJob.write` for the options."""
    job, write = _split(options)
    return ExportJob(checkpoint, **job).write(fmt, precision, **write)


def quantize_within_budget(checkpoint: str | Path, fmt: str, max_nme_increase: float = 0.02, **options) -> dict:
    """INT8 within a budget: ``ExportJob(checkpoint, **job options).within_budget(fmt, max_nme_increase, ...)``;
    see :meth:`ExportJob.within_budget`."""
    check_budget(max_nme_increase)  # before the checkpoint is read
    job, rest = _split(options)
    return ExportJob(checkpoint, **job).within_budget(fmt, max_nme_increase, **rest)

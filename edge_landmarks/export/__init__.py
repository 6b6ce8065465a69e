"""Conversion: checkpoint -> ONNX / OpenVINO IR / TFLite, FP32 or INT8, each file validated right after writing.

One module per format (see :mod:`.formats` for the table); this module does what they share: calibration crops made
by the training preprocessing, the metadata every artefact carries (in the file where the format allows it, and in a
sidecar ``<file>.json``), the landmark check against PyTorch FP32 on held-out faces, and the folder's manifest.
"""

from __future__ import annotations

import importlib
import json
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError
from ..io import atomic_write_json, refuse_overwrite
from .formats import FORMATS, ExportFormat

__all__ = ["export_artefact", "calibration_crops", "validate", "FORMATS"]

MIN_CALIBRATION = 100


def calibration_crops(config, data: str, split: str = "train", size: int = 300, seed: int = 0) -> np.ndarray:
    """Up to ``size`` normalised crops from ``data``'s ``split``, made exactly as in training (no augmentation)."""
    from ..data import load_dataset
    from ..data.dataset import LandmarkCrops
    from ..data.transforms import to_input

    samples = load_dataset(data, split=split)
    if not len(samples):
        raise EdgeLandmarksError(f"{data}: no faces in split {split!r} to calibrate INT8 with")
    idx = np.random.default_rng(seed).permutation(len(samples))[:size]
    if len(idx) < MIN_CALIBRATION:
        warnings.warn(f"only {len(idx)} calibration faces (fewer than {MIN_CALIBRATION}); INT8 ranges may be poor",
                      stacklevel=2)
    ds = LandmarkCrops([samples[i] for i in idx], config)
    return np.stack([to_input(ds.crop(i, augment=False)["image"], config.mean, config.std) for i in range(len(ds))])


def held_out_faces(dataset, split: str | None = None):
    """The faces to check an artefact on: the split asked for, else val, else test, else every face."""
    if split:
        return dataset.split(split)
    names = dataset.splits()
    return dataset.split(next((s for s in ("val", "test") if s in names), "all"))


def validate(model, artefact: Path, config, samples, threads: int = 1) -> dict:
    """Landmarks of the artefact against PyTorch FP32 on held-out faces: pixel error and NME change."""
    from ..metrics import nme
    from ..runtime import load_backend
    from ..training import predict_crops, torch_predictor

    ref_pred, gt = predict_crops(torch_predictor(model), samples, config)
    run, _, _ = load_backend(artefact, threads)
    pred, _ = predict_crops(run, samples, config)
    nme_ref = float(np.nanmean(nme(ref_pred, gt, config.scheme)))
    nme_art = float(np.nanmean(nme(pred, gt, config.scheme)))
    return {
        "faces": int(len(samples)),
        "mean_px_error_vs_fp32": float(np.linalg.norm(pred - ref_pred, axis=-1).mean()),
        "max_px_error_vs_fp32": float(np.linalg.norm(pred - ref_pred, axis=-1).max()),
        "nme_fp32": nme_ref, "nme": nme_art, "delta_nme": nme_art - nme_ref,
        "delta_nme_rel": (nme_art - nme_ref) / nme_ref if nme_ref else float("nan"),
    }


def export_artefact(checkpoint: str | Path, fmt: str, precision: str = "fp32", out: str | Path | None = None,
                    data: str | None = None, calib_split: str = "train", calib_size: int = 300,
                    val_split: str | None = None, force: bool = False, threads: int = 1) -> dict:
    """Write one artefact and its sidecar; returns its manifest entry (path, check, validation, timings)."""
    from ..data import load_dataset
    from ..training import file_sha256, load_checkpoint

    if fmt not in FORMATS:
        raise EdgeLandmarksError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if precision not in ("fp32", "int8"):
        raise EdgeLandmarksError(f"precision must be fp32 or int8, not {precision!r}")
    spec: ExportFormat = FORMATS[fmt]
    model, ckpt = load_checkpoint(checkpoint)
    cfg = model.config
    train_cfg = ckpt.get("train_config", {})
    data = data or train_cfg.get("data") or "demo68"
    out = Path(out) if out else Path(checkpoint).parent / "export"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{cfg.name}_{cfg.input_size}_{precision}{spec.suffix}"
    refuse_overwrite(path, force)
    module = importlib.import_module(f".{spec.module}", __name__)
    metadata = {
        "format": fmt, "precision": precision, "model_config": cfg.to_dict(), "model": cfg.name,
        "scheme": cfg.scheme, "input_size": cfg.input_size, "channels": cfg.in_chans, "mean": list(cfg.mean),
        "std": list(cfg.std), "output_scale": cfg.output_scale, "crop_margin": cfg.crop_margin,
        "source_checkpoint": str(checkpoint), "source_sha256": file_sha256(checkpoint),
        "output": "x0, y0, x1, y1, ... divided by output_scale = [0, 1] of the crop",
    }
    t0 = time.time()
    if precision == "int8":
        calib = calibration_crops(cfg, data, calib_split, calib_size)
        settings = module.export_int8(model, path, calib, metadata)
    else:
        settings = module.export_fp32(model, path, None, metadata)
    seconds = time.time() - t0
    metadata["quantizer"] = settings
    held_out = held_out_faces(load_dataset(data), val_split)
    from ..runtime.backends import sidecar_path

    atomic_write_json(sidecar_path(path), metadata)  # the runtime reads it during validation
    metadata["validation"] = validate(model, path, cfg, held_out, threads)
    atomic_write_json(sidecar_path(path), metadata)
    entry = {"path": str(path), "format": fmt, "precision": precision, "bytes": _size(path),
             "convert_seconds": round(seconds, 1), "settings": settings, "validation": metadata["validation"]}
    _update_manifest(out / "manifest.json", entry)
    return entry


def _size(path: Path) -> int:
    extra = path.with_suffix(".bin")
    return path.stat().st_size + (extra.stat().st_size if path.suffix == ".xml" and extra.exists() else 0)


def _update_manifest(path: Path, entry: dict) -> None:
    manifest = json.loads(path.read_text()) if path.is_file() else {"artefacts": []}
    manifest["artefacts"] = [a for a in manifest["artefacts"] if a["path"] != entry["path"]] + [entry]
    atomic_write_json(path, manifest)

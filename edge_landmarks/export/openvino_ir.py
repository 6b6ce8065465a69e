"""OpenVINO IR: ``openvino.convert_model`` (FP32 weights kept: ``compress_to_fp16=False``); INT8 with NNCF PTQ."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..errors import require

__all__ = ["export_fp32", "export_int8"]


def _convert(model):
    torch = require("torch", "train")
    ov = require("openvino", "convert")
    cfg = model.config
    example = torch.rand(1, cfg.in_chans, cfg.input_size, cfg.input_size)
    return ov.convert_model(model.eval(), example_input=example, input=[(1, cfg.in_chans, cfg.input_size,
                                                                          cfg.input_size)])


def _save(ov_model, path: Path, metadata: dict | None) -> None:
    """Save .xml + .bin atomically (both written in a temporary folder, then moved; .bin first)."""
    ov = require("openvino", "convert")
    if metadata:
        ov_model.set_rt_info(json.dumps(metadata), ["edge_landmarks", "metadata"])
    tmpdir = tempfile.mkdtemp(dir=path.parent, prefix=".ov-")
    try:
        ov.save_model(ov_model, os.path.join(tmpdir, path.name), compress_to_fp16=False)
        os.replace(os.path.join(tmpdir, path.with_suffix(".bin").name), path.with_suffix(".bin"))
        os.replace(os.path.join(tmpdir, path.name), path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def export_fp32(model, path: str | Path, calib: np.ndarray | None = None, metadata: dict | None = None) -> dict:
    _save(_convert(model), Path(path), metadata)
    return {"converter": "openvino.convert_model", "weights": "fp32"}


def export_int8(model, path: str | Path, calib: np.ndarray, metadata: dict | None = None) -> dict:
    nncf = require("nncf", "convert")
    ov_model = _convert(model)
    dataset = nncf.Dataset([calib[i:i + 1].astype(np.float32) for i in range(len(calib))])
    quantized = nncf.quantize(ov_model, dataset, subset_size=len(calib))
    _save(quantized, Path(path), metadata)
    return {"quantizer": "nncf.quantize", "preset": "performance", "calibration_faces": int(len(calib))}

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


def weighted_ops(ov_model) -> list[str]:
    """Friendly names of the convolution and MatMul ops, in graph order."""
    kinds = ("Convolution", "GroupConvolution", "MatMul")
    return [op.get_friendly_name() for op in ov_model.get_ordered_ops() if op.get_type_name() in kinds]


def export_int8(model, path: str | Path, calib: np.ndarray, metadata: dict | None = None,
                float_ends: bool = False) -> dict:
    """NNCF PTQ with min-max activation ranges.

    NNCF's default range estimator averages per-sample minima and maxima, which clips the extremes a landmark
    regressor needs: on the demo checkpoint (mobilenetv2, 56 px) that costs +10.0 % NME, against +0.25 % with
    ``RangeEstimatorParametersSet.MINMAX``. ``float_ends`` keeps the first weighted op and the last two in float.
    """
    nncf = require("nncf", "convert")
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    ov_model = _convert(model)
    dataset = nncf.Dataset([calib[i:i + 1].astype(np.float32) for i in range(len(calib))])
    ops = weighted_ops(ov_model)
    excluded = ops[:1] + ops[-2:] if float_ends else []
    advanced = AdvancedQuantizationParameters(activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX)
    quantized = nncf.quantize(ov_model, dataset, subset_size=len(calib), advanced_parameters=advanced,
                              ignored_scope=nncf.IgnoredScope(names=excluded) if excluded else None)
    _save(quantized, Path(path), metadata)
    return {"quantizer": "nncf.quantize", "preset": "performance", "ranges": "min-max", "float_layers": excluded,
            "calibration_faces": int(len(calib))}


def export_qat(qmodel, plain, path: str | Path, calib: np.ndarray, metadata: dict | None = None) -> dict:
    """``openvino.convert_model`` on the fake-quantised torch model gives an INT8 IR directly."""
    _save(_convert(qmodel), Path(path), metadata)
    return {"quantizer": "nncf QAT, converted by openvino.convert_model", "ranges": "learned (QAT)"}

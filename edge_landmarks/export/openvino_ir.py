"""OpenVINO IR: ``openvino.convert_model`` (FP32 weights kept: ``compress_to_fp16=False``); INT8 with NNCF PTQ."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import require
from ..files import temporary

__all__ = ["convert", "export_fp32", "export_int8"]


def convert(model):
    """The FP32 conversion (an ``openvino.Model``) that both precisions start from; the export job makes it once per
    checkpoint (:class:`edge_landmarks.export.job.ExportJob`) and the writers below work on copies of it."""
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
    tmpdir = temporary(path, folder=True)
    try:
        ov.save_model(ov_model, os.path.join(tmpdir, path.name), compress_to_fp16=False)
        os.replace(os.path.join(tmpdir, path.with_suffix(".bin").name), path.with_suffix(".bin"))
        os.replace(os.path.join(tmpdir, path.name), path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _copy(model, fp32):
    """A copy of the FP32 conversion (``_save`` writes metadata into the model it is given), made here if not given."""
    return fp32.clone() if fp32 is not None else convert(model)


def export_fp32(model, path: str | Path, calib: np.ndarray | None = None, metadata: dict | None = None,
                fp32=None) -> dict:
    _save(_copy(model, fp32), Path(path), metadata)
    return {"converter": "openvino.convert_model", "weights": "fp32"}


def weighted_ops(ov_model) -> list[str]:
    """Friendly names of the convolution and MatMul ops, in graph order."""
    kinds = ("Convolution", "GroupConvolution", "MatMul")
    return [op.get_friendly_name() for op in ov_model.get_ordered_ops() if op.get_type_name() in kinds]


def export_int8(model, path: str | Path, calib: np.ndarray, metadata: dict | None = None,
                float_ends: bool = False, float_head: bool = True, ranges: str = "min-max",
                float_input: bool = True, fp32=None) -> dict:
    """NNCF PTQ with min-max activation ranges (``ranges="vendor default"``: NNCF's own estimator, for comparison).

    NNCF's default range estimator averages per-sample minima and maxima, which clips the extremes a landmark
    regressor needs: on the demo checkpoint (mobilenetv2, 56 px) that costs +10.0 % NME, against +0.25 % with
    ``RangeEstimatorParametersSet.MINMAX``. The head (the last weighted op and every op after it) stays in float, so
    the output never clips, and the input's quantiser is widened to the normalisation's true bounds.
    ``float_ends`` also keeps the first weighted op and the one before the head in float; ``float_input`` the first
    weighted op, so that the image is never quantised (less flicker, :func:`edge_landmarks.export.onnx.export_int8`).
    """
    from .contract import check_ranges, float_layers, input_bounds

    check_ranges(ranges)  # before the conversion
    nncf = require("nncf", "convert")
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    ov_model = _copy(model, fp32)
    dataset = nncf.Dataset([calib[i:i + 1].astype(np.float32) for i in range(len(calib))])
    ops = weighted_ops(ov_model)
    excluded = float_layers(ops, head_ops(ov_model) if float_head else [], float_ends, float_input)
    # overflow fix in every layer (7-bit weights; NNCF's default fixes the first layer only): without VNNI the CPU
    # plugin's u8 x s8 kernels saturate otherwise (measured on an AVX2 CPU: 0.23 px from FP32 against 0.14 px)
    advanced = (AdvancedQuantizationParameters(activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX,
                                               overflow_fix=OverflowFix.ENABLE)
                if ranges == "min-max" else None)
    quantized = nncf.quantize(ov_model, dataset, subset_size=len(calib), advanced_parameters=advanced,
                              ignored_scope=nncf.IgnoredScope(names=excluded) if excluded else None)
    lo, hi = input_bounds(model.config)
    widened = _widen_input_quantizer(quantized, lo, hi)
    _save(quantized, Path(path), metadata)
    return {"quantizer": "nncf.quantize", "preset": "performance", "ranges": ranges,
            "overflow_fix": "enable" if ranges == "min-max" else "nncf default",
            "input_range": widened, "float_layers": excluded, "calibration_faces": int(len(calib))}


def head_ops(ov_model) -> list[str]:
    """The last weighted op and every op after it (the landmark head, kept in float), constants and results aside."""
    ops = list(ov_model.get_ordered_ops())
    kinds = ("Convolution", "GroupConvolution", "MatMul")
    last = max(i for i, op in enumerate(ops) if op.get_type_name() in kinds)
    return [op.get_friendly_name() for op in ops[last:] if op.get_type_name() not in ("Constant", "Result")]


def _widen_input_quantizer(ov_model, lo: float, hi: float) -> list[float] | None:
    """NNCF's symmetric quantiser on the input covers the calibration crops' extremes; widen it (keeping it
    symmetric) until it covers [``lo``, ``hi``], the normalisation's true bounds, so the brightest pixels are not
    clipped. Returns the range it now covers."""
    import openvino.opset13 as ops

    for op in ov_model.get_ordered_ops():
        if op.get_type_name() != "FakeQuantize":
            continue
        if op.input(0).get_source_output().get_node().get_type_name() != "Parameter":
            continue
        values = [op.input(i).get_source_output().get_node().get_data().astype(np.float32) for i in range(1, 5)]
        low, high = float(values[0].min()), float(values[1].max())
        factor = max(hi / high if high > 0 else 1.0, lo / low if low < 0 else 1.0)
        if factor > 1.0:
            for i, v in enumerate(values, start=1):
                op.input(i).replace_source_output(ops.constant(v * factor).output(0))
        low = values[0] * max(factor, 1.0)
        high = values[1] * max(factor, 1.0)
        return [round(float(low.min()), 6), round(float(high.max()), 6)]
    return None


def export_qat(qmodel, plain, path: str | Path, calib: np.ndarray, metadata: dict | None = None) -> dict:
    """``openvino.convert_model`` on the fake-quantised torch model gives an INT8 IR directly."""
    _save(convert(qmodel), Path(path), metadata)
    return {"quantizer": "nncf QAT, converted by openvino.convert_model", "ranges": "learned (QAT)"}

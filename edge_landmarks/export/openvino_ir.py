"""OpenVINO IR: ``openvino.convert_model`` (FP32 weights kept: ``compress_to_fp16=False``); INT8 from the ONNX
writer's calibrated QDQ graph (NNCF PTQ for the vendor-default comparison, NNCF for QAT)."""

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
    """The ONNX writer's INT8 graph (:func:`edge_landmarks.export.onnx.export_int8`: onnxruntime's static QDQ
    quantisation, min-max activation ranges, 7-bit per-channel weights, the same layers in float) read by
    ``openvino.convert_model``, which turns its QuantizeLinear / DequantizeLinear pairs into the FakeQuantize ops
    that the CPU plugin runs in INT8. A MobileNet's first blocks stay in float too (``float_early``, as in the TFLite
    file): in OpenVINO's kernels the ONNX file's graph flickered 11 % more than FP32 on still clips (the peers bench,
    six test_wild faces), with the first blocks in float less (benchmarks/openvino_int8.py).
    ``ranges="vendor default"``: NNCF's own PTQ with its default estimator, kept to show the difference
    (quantize/README.md).

    Why not NNCF with min-max ranges, which this writer used before: on the shipped checkpoint (56 px), six
    test_wild faces moving 1 px a frame through the demo's tracker, NNCF's file lagged the face by 1.53 frames on
    average (up to 3.6 on one face), every variant tried (first or last layers in float, mixed preset, bias
    correction off or full, overflow fix off) 1.3-2.3 frames, where this file follows it as the FP32 file does,
    with a lower NME on test_wild (quantize/README.md has the table). NNCF quantises the signed outputs of the
    linear bottlenecks symmetrically (17 of its convolutions take int8 inputs).
    """
    from .contract import check_ranges

    check_ranges(ranges)  # before the conversion
    if ranges != "min-max":
        return _nncf_int8(model, Path(path), calib, metadata, float_ends, float_head, float_input, fp32)
    from . import onnx as onnx_writer

    path = Path(path)
    qdq = Path(temporary(path, ".qdq.onnx"))
    try:
        settings = onnx_writer.export_int8(model, qdq, calib, None, float_ends=float_ends, float_head=float_head,
                                           float_input=float_input, float_early=float_input)
        ov_model = from_onnx(qdq, model.config)
    finally:
        qdq.unlink(missing_ok=True)
    _save(ov_model, path, metadata)
    return {**settings, "quantizer": "onnxruntime.quantize_static (QDQ), read by openvino.convert_model"}


def from_onnx(path: str | Path, cfg):
    """An ONNX file (a QDQ graph becomes FakeQuantize ops) as an ``openvino.Model`` with a batch of one."""
    ov = require("openvino", "convert")
    return ov.convert_model(str(path), input=[(1, cfg.in_chans, cfg.input_size, cfg.input_size)])


def _nncf_int8(model, path: Path, calib: np.ndarray, metadata: dict | None, float_ends: bool, float_head: bool,
               float_input: bool, fp32, advanced=None) -> dict:
    """NNCF PTQ: with its defaults (performance preset, its averaging range estimator), the vendor's way, for the
    comparison; ``advanced`` (NNCF's ``AdvancedQuantizationParameters``) changes them, as
    benchmarks/openvino_int8.py does to remake the min-max file this writer made until 2026-12-03. The input's
    quantiser is widened to the normalisation's true bounds as in the ONNX file."""
    from .contract import float_layers, input_bounds

    nncf = require("nncf", "convert")
    ov_model = _copy(model, fp32)
    dataset = nncf.Dataset([calib[i:i + 1].astype(np.float32) for i in range(len(calib))])
    excluded = float_layers(weighted_ops(ov_model), head_ops(ov_model) if float_head else [], float_ends,
                            float_input)
    quantized = nncf.quantize(ov_model, dataset, subset_size=len(calib), advanced_parameters=advanced,
                              ignored_scope=nncf.IgnoredScope(names=excluded) if excluded else None)
    lo, hi = input_bounds(model.config)
    widened = _widen_input_quantizer(quantized, lo, hi)
    _save(quantized, path, metadata)
    own = "vendor default" if advanced is None else "nncf advanced parameters"
    return {"quantizer": "nncf.quantize", "preset": "performance", "ranges": own,
            "overflow_fix": "nncf default" if advanced is None else own, "input_range": widened,
            "float_layers": excluded, "calibration_faces": int(len(calib))}


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

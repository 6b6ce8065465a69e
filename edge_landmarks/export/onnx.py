"""ONNX export: torch.onnx (legacy TorchScript exporter, opset 17), then onnxsim, then a parity check."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..errors import require
from ..files import atomic_write_bytes, publish, temporary

__all__ = ["export", "convert", "run_onnx", "export_fp32", "export_int8"]


def export(model, path: str | Path, simplify: bool = True, opset: int = 17) -> dict:
    """Write ``model`` (with ``.config``) to ``path`` atomically; returns the check: nodes and max abs difference."""
    torch = require("torch", "train")
    onnx = require("onnx", "convert")
    cfg = model.config
    path = Path(path)
    model = model.eval()
    dummy = torch.rand(1, cfg.in_chans, cfg.input_size, cfg.input_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(path, ".onnx")
    try:
        torch.onnx.export(
            model, (dummy,), tmp, input_names=["image"], output_names=["landmarks"], opset_version=opset,
            dynamic_axes={"image": {0: "batch"}, "landmarks": {0: "batch"}}, dynamo=False,
        )
        proto = onnx.load(tmp)
        nodes_before = len(proto.graph.node)
        if simplify:
            onnxsim = require("onnxsim", "convert")
            simplified, ok = onnxsim.simplify(proto)
            if ok:
                proto = simplified
        onnx.save(proto, tmp)
        check = {"nodes_before": nodes_before, "nodes": len(proto.graph.node)}
        with torch.no_grad():
            ref = model(dummy).numpy()
        got = run_onnx(tmp, dummy.numpy())
        check["max_abs_diff"] = float(np.abs(ref - got).max())
        publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return check


def run_onnx(path: str | Path, x: np.ndarray, threads: int = 1) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3  # errors only (see runtime.backends)
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]


def convert(model) -> tuple[bytes, dict]:
    """The simplified FP32 file's bytes and :func:`export`'s check, which both precisions start from; the export job
    makes them once per checkpoint (:class:`edge_landmarks.export.job.ExportJob`)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="edge-lmk-onnx-") as tmp:
        path = Path(tmp) / "fp32.onnx"
        check = export(model, path)
        return path.read_bytes(), check


def _write_fp32(model, fp32, path: Path) -> dict:
    """The FP32 file at ``path`` (from ``fp32``, :func:`convert`'s result, or converted now); returns the check."""
    if fp32 is None:
        return export(model, path)
    data, check = fp32
    atomic_write_bytes(path, data)
    return dict(check)


def export_fp32(model, path: str | Path, calib: np.ndarray | None = None, metadata: dict | None = None,
                fp32: tuple[bytes, dict] | None = None) -> dict:
    """FP32 ONNX, simplified, with the metadata as ONNX metadata_props."""
    check = _write_fp32(model, fp32, Path(path))
    if metadata:
        _add_metadata(path, metadata)
    return check


WEIGHTED_OPS = ("Conv", "Gemm", "MatMul")


def weighted_nodes(path: str | Path) -> tuple[list[str], list[str]]:
    """(names of the Conv / Gemm / MatMul nodes in graph order, the last of them and every node after it: the
    landmark head, kept in float); ONNX graphs are topologically sorted."""
    onnx = require("onnx", "convert")
    nodes = list(onnx.load(str(path)).graph.node)
    weighted = [i for i, n in enumerate(nodes) if n.op_type in WEIGHTED_OPS]
    return [nodes[i].name for i in weighted], [n.name for n in nodes[weighted[-1]:]]


def early_nodes(path: str | Path, size: int) -> list[str]:
    """A MobileNet's first blocks, as :func:`edge_landmarks.export.tflite._early_scopes` picks them for TFLite: the
    weighted nodes after the stem that read a map of at least half the input's side, where the second weighted node
    is a depthwise conv; none for other nets, nor for inputs over :data:`~edge_landmarks.export.tflite.
    EARLY_MAX_SIZE`. Input shapes by ONNX shape inference."""
    from .tflite import EARLY_MAX_SIZE

    onnx = require("onnx", "convert")
    graph = onnx.shape_inference.infer_shapes(onnx.load(str(path))).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in (*graph.value_info, *graph.input)}
    weighted = [n for n in graph.node if n.op_type in WEIGHTED_OPS]

    def depthwise(node) -> bool:
        return node.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in node.attribute)

    if size > EARLY_MAX_SIZE or len(weighted) < 2 or not depthwise(weighted[1]):
        return []
    return [n.name for n in weighted[1:]
            if len(shapes.get(n.input[0], [])) == 4 and 2 * max(shapes[n.input[0]][2:]) >= size]


def _no_preprocess_hint(record: logging.LogRecord) -> bool:
    """onnxruntime logs 'Please consider to run pre-processing' twice per file; the graph is already simplified by
    onnxsim (shape inference and folding, which is what its pre-processing does), so the hint is noise."""
    return "pre-process" not in record.getMessage()


def export_int8(model, path: str | Path, calib: np.ndarray, metadata: dict | None = None,
                per_channel: bool = True, float_ends: bool = False, float_head: bool = True,
                float_input: bool = True, fp32: tuple[bytes, dict] | None = None, float_early: bool = False) -> dict:
    """Static INT8, QDQ, unsigned activations with signed weights (U8S8: fully fused here), per-channel weights in
    the 7-bit range (``reduce_range``).

    7-bit weights make the file compute the same on every x86 CPU: without VNNI (AVX2, AVX-512 before Cascade
    Lake, AMD before Zen 4) onnxruntime's U8S8 kernels add pairs of uint8 x int8 products in 16 bits, which
    saturate with full 8-bit weights. Measured on the shipped checkpoint on an AVX2 machine: 8-bit weights gave a
    mean error of 0.25 px against FP32 after the budget ladder had to keep the first conv in float (plain PTQ went
    over the 2 % budget), 7-bit weights 0.13 px with plain PTQ, the same as the 8-bit file on an AVX-512 VNNI
    machine (onnxruntime's quantization guide recommends ``reduce_range`` for such CPUs).

    Activation ranges are the min and max over all calibration crops (onnxruntime's ``MinMax``): landmark
    regression needs the extremes that averaging or percentile methods clip. The input's range is the
    normalisation's true bounds (``TensorQuantOverrides``), and the head (the last weighted node and every node after
    it) stays in float (``float_head``), so the output is float and never clips. ``float_ends`` also keeps the
    first weighted layer and the one before the head in float.

    ``float_input`` keeps the first weighted layer in float, so the image is never quantised: one scale for the
    three normalised colour channels is coarser than a grey level in each, and the rounding made the INT8 points
    flicker (NMF on still clips, :mod:`edge_landmarks.stability`, shipped checkpoint, six test_wild faces: 0.515 %
    against 0.443 % for FP32, +16 %; with the first conv in float 0.484 %, +9 %; latency the same within the
    noise, 0.69-0.84 ms against 0.72-0.75 ms on one AVX2 core). ``float_early`` also keeps a MobileNet's first
    blocks in float (:func:`early_nodes`), as the TFLite and OpenVINO files do.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    path = Path(path)
    source = temporary(path, ".fp32.onnx")
    _write_fp32(model, fp32, Path(source))
    from .contract import float_layers, input_bounds

    nodes, head = weighted_nodes(source)
    excluded = float_layers(nodes, head if float_head else [], float_ends, float_input)
    if float_early:
        excluded = list(dict.fromkeys(excluded[:1] + early_nodes(source, model.config.input_size) + excluded))
    lo, hi = input_bounds(model.config)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(calib[i:i + 1] for i in range(len(calib)))

        def get_next(self):
            x = next(self._it, None)
            return None if x is None else {"image": x.astype(np.float32)}

    tmp = temporary(path, ".onnx")
    root = logging.getLogger()
    root.addFilter(_no_preprocess_hint)
    try:
        quantize_static(str(source), tmp, Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=excluded,
                        extra_options={"TensorQuantOverrides": {"image": [{"rmin": np.float32(lo),
                                                                           "rmax": np.float32(hi)}]}})
        if metadata:
            _add_metadata(tmp, metadata)
        publish(tmp, path)
    finally:
        root.removeFilter(_no_preprocess_hint)
        for f in (tmp, source):
            if os.path.exists(f):
                os.unlink(f)
    return {"quantizer": "onnxruntime.quantize_static", "format": "QDQ", "activations": "uint8",
            "weights": "int8", "reduce_range": True, "per_channel": per_channel, "ranges": "min-max",
            "input_range": [round(lo, 6), round(hi, 6)], "float_layers": excluded,
            "calibration_faces": int(len(calib))}


def export_qat(qmodel, plain, path: str | Path, calib: np.ndarray, metadata: dict | None = None) -> dict:
    """The QAT model's fake-quantise ops as QuantizeLinear / DequantizeLinear: the fine-tuned ranges are kept."""
    from .qat import strip_native

    check = export(strip_native(qmodel), path, simplify=False)
    if metadata:
        _add_metadata(path, metadata)
    return {"quantizer": "nncf QAT, exported as QDQ", "ranges": "learned (QAT), min-max initialised",
            "weights": "int8 per-channel", "check": check}


def _add_metadata(path, metadata: dict) -> None:
    import json

    onnx = require("onnx", "convert")
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = "edge_landmarks", json.dumps(metadata)
    onnx.save(proto, str(path))

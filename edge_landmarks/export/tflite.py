"""TFLite: litert-torch converts FP32 exactly; INT8 is ai-edge-quantizer's ``static_wi8_ai8`` on the FP32 file.

(litert-torch's own PT2E INT8 is wrong for MobileNetV2 because of ``nn.ReLU6``; ai-edge-quantizer works for every
model.) INT8 files have int8 input and output: the runtime applies their scale and zero point.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from ..errors import require
from ..files import atomic_write_bytes

__all__ = ["convert", "export_fp32", "export_int8"]


def convert(model) -> bytes:
    """The FP32 file's bytes, which both precisions start from; the export job makes them once per checkpoint
    (:class:`edge_landmarks.export.job.ExportJob`)."""
    torch = require("torch", "train")
    litert_torch = require("litert_torch", "convert", "litert-torch")
    cfg = model.config
    sample = torch.rand(1, cfg.in_chans, cfg.input_size, cfg.input_size)
    edge = litert_torch.convert(model.eval(), (sample,))
    fd, tmp = tempfile.mkstemp(suffix=".tflite")
    os.close(fd)
    try:
        edge.export(tmp)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


def export_fp32(model, path: str | Path, calib: np.ndarray | None = None, metadata: dict | None = None,
                fp32: bytes | None = None) -> dict:
    atomic_write_bytes(path, fp32 if fp32 is not None else convert(model))
    return {"converter": "litert_torch.convert", "weights": "fp32"}


WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _weighted_scopes(interpreter) -> list[str]:
    """ai-edge-quantizer's scope of each conv / fully-connected op (its output tensor names + ';'), graph order."""
    return [scope for name, scope, _, _ in _op_scopes(interpreter) if name in WEIGHTED_OPS]


def _op_scopes(interpreter) -> list[tuple[str, str, list[int], list[int]]]:
    """(op name, ai-edge-quantizer scope: its output tensor names + ';', first output's shape, first input's shape)
    of every op, in graph order."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}

    def shape(i):
        return [int(d) for d in tensors[i]["shape"]] if i in tensors else []

    return [(op["op_name"], ";".join(tensors[i]["name"] for i in op["outputs"]) + ";", shape(op["outputs"][0]),
             shape(op["inputs"][0]))
            for op in interpreter._get_ops_details()]


EARLY_MAX_SIZE = 64
"""Inputs up to this side get :func:`_early_scopes` in float. At 224 px the quickstart's checkpoint flickered only
4 % more than FP32 in int8 (0.976 against 0.938 % NMF, 6 test_wild faces), 0.5 % with its early blocks in float,
which read 112x112 maps there and cost about 9 % of the call (9.37 against 8.63 ms median, one thread, Intel Xeon VM,
2026-12-03): not worth it."""


def _early_scopes(interpreter, size: int) -> list[str]:
    """In a MobileNet (a depthwise conv right after the stem), the weighted ops after the stem that read a map of at
    least half the input's side: its first blocks, which carry the sub-pixel detail of the face. In int8 their
    rounding made the points flicker: on the shipped checkpoint (NMF on the still clips of six test_wild faces,
    :mod:`edge_landmarks.stability`), 0.505 % quantised against 0.443 % for FP32 (+14 %); with these four ops in float
    (MobileNetV2 at 56 px: the first block's depthwise and projection, the second's expansion and depthwise) 0.479 %
    (+8 %), NME change -0.22 % against -0.19 %. Either half alone changed nothing (0.508, 0.504); keeping the first
    ten weighted ops in float gave 0.479 as well, the first conv alone 0.531. Other nets (ResNets, Xception, the
    Kaggle CNNs) get nothing here: their early layers are full convolutions and most of their work; nor do inputs
    over :data:`EARLY_MAX_SIZE`."""
    ops = [(name, scope, inp) for name, scope, _, inp in _op_scopes(interpreter) if name in WEIGHTED_OPS]
    if size > EARLY_MAX_SIZE or len(ops) < 2 or ops[1][0] != "DEPTHWISE_CONV_2D":
        return []
    return [scope for _, scope, inp in ops[1:] if len(inp) == 4 and 2 * max(inp[1], inp[2]) >= size]


def _global_depthwise_scopes(interpreter) -> list[str]:
    """Depthwise convs whose kernel covers their whole input (a 1x1 output: MobileNetV2's GDConv). XNNPACK runs such
    a conv in int8 as a one-row indirect GEMM (``qs8_qc8w_igemm 1x16c8``), twice as slow as its float kernel: at
    224 px it took 0.45 of 3.8 ms in int8 against 0.2 ms in float (perf, 1 thread), so it stays in float."""
    return [scope for name, scope, shape, _ in _op_scopes(interpreter)
            if name == "DEPTHWISE_CONV_2D" and len(shape) == 4 and shape[1] == shape[2] == 1]


def _head_scopes(interpreter) -> list[str]:
    """The last weighted op and every op after it: the landmark head, kept in float."""
    ops = _op_scopes(interpreter)
    last = max(i for i, (name, _, _, _) in enumerate(ops) if name in WEIGHTED_OPS)
    return [scope for _, scope, _, _ in ops[last:]]


def export_int8(model, path: str | Path, calib: np.ndarray, metadata: dict | None = None,
                float_ends: bool = False, float_head: bool = True, ranges: str = "min-max",
                float_input: bool = False, fp32: bytes | None = None, float_early: bool = True) -> dict:
    """ai-edge-quantizer ``static_wi8_ai8`` (int8 per-channel weights, int8 activations), min-max ranges
    (``ranges="vendor default"``: the quantizer's own moving average, for comparison).

    The quantizer's default calibration keeps a moving average of each tensor's range, which clips the extremes:
    on the demo checkpoint that costs +14.3 % NME against +0.7 % with the running min and max
    (``qsv_utils.min_max_update``). The input's range is the normalisation's true bounds, and the head (the last
    weighted op and every op after it) stays in float, so the output is float32 and never clips (a calibrated int8
    output covered only [0, 0.95] of the crop); so does a global depthwise conv before it (GDConv: faster in float
    under XNNPACK, see :func:`_global_depthwise_scopes`). ``float_ends`` also keeps the first weighted op and the
    one before the head in float; ``float_input`` the first weighted op, so that the image is never quantised. Unlike
    ONNX and OpenVINO (:func:`edge_landmarks.export.onnx.export_int8`), that makes the TFLite file flicker more, not
    less (NMF on the still clips of six test_wild faces, shipped checkpoint: 0.531 % against 0.505 % quantised and
    0.443 % for FP32), so it is off here. ``float_early`` keeps the first depthwise-separable blocks in float
    instead (:func:`_early_scopes`: what made the points flicker).
    """
    from .contract import check_ranges, float_layers, input_bounds

    check_ranges(ranges)  # before the conversion
    require("ai_edge_quantizer", "convert", "ai-edge-quantizer")
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import algorithm_manager, calibrator, qtyping, quantizer, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    fp32 = fp32 if fp32 is not None else convert(model)
    interp = Interpreter(model_content=fp32)
    sig = interp.get_signature_list()
    key = next(iter(sig))
    input_name = sig[key]["inputs"][0]
    rm = recipe_manager.RecipeManager()
    rm.add_static_config(".*", qtyping.TFLOperationName.ALL_SUPPORTED, 8, 8)
    scopes = _weighted_scopes(interp)
    excluded = float_layers(scopes, (_global_depthwise_scopes(interp) + _head_scopes(interp)) if float_head else [],
                            float_ends, float_input)
    if float_early:
        excluded += [s for s in _early_scopes(interp, model.config.input_size) if s not in excluded]
    for scope in excluded:  # the latest matching config wins
        rm.add_quantization_config("^" + re.escape(scope), qtyping.TFLOperationName.ALL_SUPPORTED,
                                   algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    qt = quantizer.Quantizer(fp32, rm.get_quantization_recipe())
    data = {key: [{input_name: calib[i:i + 1].astype(np.float32)} for i in range(len(calib))]}
    if ranges == "min-max":
        cal = calibrator.Calibrator(fp32, num_threads=2, qsv_update_func=qsv_utils.min_max_update)
        cal.calibrate(data, qt._recipe_manager)  # Quantizer.calibrate offers no way to choose the range update
        qsvs = cal.get_model_qsvs()
    else:
        qsvs = qt.calibrate(data)
    lo, hi = input_bounds(model.config)
    input_tensor = interp.get_input_details()[0]["name"]
    if input_tensor in qsvs:  # the input's range: the normalisation's bounds, not the calibration crops' extremes
        shape = np.shape(qsvs[input_tensor]["min"])
        qsvs[input_tensor] = {**qsvs[input_tensor], "min": np.full(shape, lo, np.float32),
                              "max": np.full(shape, hi, np.float32)}
    result = qt.quantize(qsvs)
    atomic_write_bytes(path, bytes(result.quantized_model))
    return {"quantizer": "ai_edge_quantizer", "recipe": "static_wi8_ai8", "ranges": ranges,
            "input_range": [round(lo, 6), round(hi, 6)],
            "float_layers": [_layer_name(s) for s in excluded],
            "calibration_faces": int(len(calib))}


def _layer_name(scope: str) -> str:
    """A readable name for an op's scope: its module path below the model, e.g. ``Sequential_gdconv/BatchNorm2d_1``."""
    parts = scope.split(";")[0].split("/")
    return "/".join(p.rsplit(".", 1)[-1] for p in parts[1:]) or parts[0]


def export_qat(qmodel, plain, path: str | Path, calib: np.ndarray, metadata: dict | None = None) -> dict:
    """litert-torch cannot convert fake-quantise ops: the QAT-fine-tuned weights are re-quantised (min-max)."""
    settings = export_int8(plain, path, calib, metadata)
    return {**settings, "quantizer": "nncf QAT weights, re-quantised by ai_edge_quantizer"}

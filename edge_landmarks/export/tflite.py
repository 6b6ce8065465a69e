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

__all__ = ["export_fp32", "export_int8"]


def _convert_bytes(model) -> bytes:
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


def export_fp32(model, path: str | Path, calib: np.ndarray | None = None, metadata: dict | None = None) -> dict:
    atomic_write_bytes(path, _convert_bytes(model))
    return {"converter": "litert_torch.convert", "weights": "fp32"}


def _weighted_scopes(interpreter) -> list[str]:
    """ai-edge-quantizer's scope of each conv / fully-connected op (its output tensor names + ';'), graph order."""
    tensors = interpreter.get_tensor_details()
    kinds = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    return [";".join(tensors[i]["name"] for i in op["outputs"]) + ";"
            for op in interpreter._get_ops_details() if op["op_name"] in kinds]


def export_int8(model, path: str | Path, calib: np.ndarray, metadata: dict | None = None,
                float_ends: bool = False) -> dict:
    """ai-edge-quantizer ``static_wi8_ai8`` (int8 per-channel weights, int8 activations), min-max ranges.

    The quantizer's default calibration keeps a moving average of each tensor's range, which clips the extremes:
    on the demo checkpoint that costs +14.3 % NME against +0.7 % with the running min and max
    (``qsv_utils.min_max_update``). ``float_ends`` keeps the first weighted op and the last two in float.
    """
    require("ai_edge_quantizer", "convert", "ai-edge-quantizer")
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import algorithm_manager, calibrator, qtyping, quantizer, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    fp32 = _convert_bytes(model)
    interp = Interpreter(model_content=fp32)
    sig = interp.get_signature_list()
    key = next(iter(sig))
    input_name = sig[key]["inputs"][0]
    rm = recipe_manager.RecipeManager()
    rm.add_static_config(".*", qtyping.TFLOperationName.ALL_SUPPORTED, 8, 8)
    scopes = _weighted_scopes(interp)
    excluded = scopes[:1] + scopes[-2:] if float_ends else []
    for scope in excluded:  # the latest matching config wins
        rm.add_quantization_config("^" + re.escape(scope), qtyping.TFLOperationName.ALL_SUPPORTED,
                                   algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    qt = quantizer.Quantizer(fp32, rm.get_quantization_recipe())
    data = {key: [{input_name: calib[i:i + 1].astype(np.float32)} for i in range(len(calib))]}
    cal = calibrator.Calibrator(fp32, num_threads=2, qsv_update_func=qsv_utils.min_max_update)
    cal.calibrate(data, qt._recipe_manager)  # Quantizer.calibrate offers no way to choose the range update
    result = qt.quantize(cal.get_model_qsvs())
    atomic_write_bytes(path, bytes(result.quantized_model))
    return {"quantizer": "ai_edge_quantizer", "recipe": "static_wi8_ai8", "ranges": "min-max",
            "float_layers": [s.split(";")[0].rsplit("/", 1)[-1] for s in excluded],
            "calibration_faces": int(len(calib))}


def export_qat(qmodel, plain, path: str | Path, calib: np.ndarray, metadata: dict | None = None) -> dict:
    """litert-torch cannot convert fake-quantise ops: the QAT-fine-tuned weights are re-quantised (min-max)."""
    settings = export_int8(plain, path, calib, metadata)
    return {**settings, "quantizer": "nncf QAT weights, re-quantised by ai_edge_quantizer"}

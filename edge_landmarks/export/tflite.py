"""TFLite: litert-torch converts FP32 exactly; INT8 is ai-edge-quantizer's ``static_wi8_ai8`` on the FP32 file.

(litert-torch's own PT2E INT8 is wrong for MobileNetV2 because of ``nn.ReLU6``; ai-edge-quantizer works for every
model.) INT8 files have int8 input and output: the runtime applies their scale and zero point.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import require
from ..io import atomic_write_bytes

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


def export_int8(model, path: str | Path, calib: np.ndarray, metadata: dict | None = None) -> dict:
    require("ai_edge_quantizer", "convert", "ai-edge-quantizer")
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    fp32 = _convert_bytes(model)
    sig = Interpreter(model_content=fp32).get_signature_list()
    key = next(iter(sig))
    input_name = sig[key]["inputs"][0]
    qt = quantizer.Quantizer(fp32, recipe.static_wi8_ai8())
    data = {key: [{input_name: calib[i:i + 1].astype(np.float32)} for i in range(len(calib))]}
    result = qt.quantize(qt.calibrate(data))
    atomic_write_bytes(path, bytes(result.quantized_model))
    return {"quantizer": "ai_edge_quantizer", "recipe": "static_wi8_ai8", "calibration_faces": int(len(calib))}

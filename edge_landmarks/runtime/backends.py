"""Backends: torch (.pt), onnxruntime (.onnx), OpenVINO (.xml), LiteRT (.tflite). Each is imported lazily.

``load_backend(path, threads)`` returns ``(predict_batch, ModelConfig, metadata)``; ``predict_batch`` takes float32
(B, C, S, S) normalised crops and returns float32 (B, 2K) in the model's output frame, whatever the file's precision.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError

__all__ = ["load_backend", "read_metadata", "sidecar_path"]


def sidecar_path(path: str | Path) -> Path:
    return Path(str(path) + ".json")


def read_metadata(path: str | Path) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        raise EdgeLandmarksError(f"{path}: no metadata file {side.name} beside it (export with edge-lmk export)")
    try:
        return json.loads(side.read_text())
    except ValueError as exc:
        raise EdgeLandmarksError(f"{side}: not valid JSON ({exc})") from None


def _onnx(path: Path, threads: int):
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingExtraError("onnxruntime is needed: pip install edge-landmarks") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only: INT8 graphs log "Removing initializer" warnings on every load
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def _openvino(path: Path, threads: int):
    try:
        import openvino as ov
    except ImportError:
        raise MissingExtraError("openvino is needed: pip install openvino (or edge-landmarks[convert])") from None
    core = ov.Core()
    compiled = core.compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                     "INFERENCE_PRECISION_HINT": "f32"})
    req = compiled.create_infer_request()

    def run(x):
        outs = [req.infer({0: np.ascontiguousarray(x[i:i + 1], dtype=np.float32)})[compiled.output(0)]
                for i in range(len(x))]
        return np.concatenate(outs).astype(np.float32)

    return run


def _tflite(path: Path, threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # its older name, where ai-edge-litert is absent
        except ImportError:
            raise MissingExtraError("ai-edge-litert is needed: pip install edge-landmarks") from None
    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]

    def run(x):
        results = []
        for i in range(len(x)):
            xi = x[i:i + 1].astype(np.float32)
            if inp["dtype"] != np.float32:
                scale, zero = inp["quantization"]
                info = np.iinfo(inp["dtype"])
                xi = np.clip(np.round(xi / scale + zero), info.min, info.max).astype(inp["dtype"])
            interp.set_tensor(inp["index"], xi)
            interp.invoke()
            y = interp.get_tensor(out["index"])
            if out["dtype"] != np.float32:
                scale, zero = out["quantization"]
                y = (y.astype(np.float32) - zero) * scale
            results.append(y.reshape(1, -1))
        return np.concatenate(results).astype(np.float32)

    return run


def load_backend(path: str | Path, threads: int = 1):
    """(predict_batch, ModelConfig, metadata) for a checkpoint or an exported artefact."""
    from ..models._config import ModelConfig

    p = Path(path)
    if not p.is_file():
        raise EdgeLandmarksError(f"{p}: file not found")
    if p.suffix == ".pt":
        import torch

        from ..training import load_checkpoint, torch_predictor

        torch.set_num_threads(threads)
        model, ckpt = load_checkpoint(p)
        return torch_predictor(model), model.config, {"format": "torch", "precision": "fp32"}
    meta = read_metadata(p)
    cfg = ModelConfig.from_dict(meta["model_config"])
    makers = {".onnx": _onnx, ".xml": _openvino, ".tflite": _tflite}
    if p.suffix not in makers:
        raise EdgeLandmarksError(f"{p}: unknown artefact type {p.suffix!r} (.pt, .onnx, .xml, .tflite)")
    return makers[p.suffix](p, threads), cfg, meta

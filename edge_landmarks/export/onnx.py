"""ONNX export: torch.onnx (legacy TorchScript exporter, opset 17), then onnxsim, then a parity check."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import require

__all__ = ["export", "run_onnx"]


def export(model, path: str | Path, simplify: bool = True, opset: int = 17) -> dict:
    """Write ``model`` (with ``.config``) to ``path`` atomically; returns the check: nodes and max abs difference."""
    torch = require("torch", "train")
    onnx = require("onnx", "convert")
    cfg = model.config
    path = Path(path)
    model = model.eval()
    dummy = torch.rand(1, cfg.in_chans, cfg.input_size, cfg.input_size)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent if path.parent.exists() else None)
    os.close(fd)
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
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return check


def run_onnx(path: str | Path, x: np.ndarray, threads: int = 1) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]

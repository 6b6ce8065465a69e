"""Independent consumers of the exported files: OpenCV's DNN module (the runtime many Raspberry Pi users reach
for), with its new engine (the default) and its classic one, against onnxruntime on the same inputs. The plain
onnxruntime, OpenVINO and LiteRT APIs are exercised by docs/use-without-edge-lmk.md's examples (test_export.py)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_landmarks.data import load_dataset
from edge_landmarks.data.dataset import make_inputs
from edge_landmarks.runtime.backends import OnnxBackend
from edge_landmarks.runtime.predictor import DEFAULT_MODEL_DIR


def _engines() -> list[str]:
    """OpenCV 5's DNN engines where they exist; OpenCV 4 (the pinned one: 5.0.0's new engine runs INT8 QDQ files
    wrong, 0.2 of the crop off) has one, its default."""
    import cv2

    return [e for e in ("ENGINE_AUTO", "ENGINE_NEW", "ENGINE_CLASSIC") if hasattr(cv2.dnn, e)] or ["default"]


ENGINES = _engines()


_OPENCV = """
import sys, numpy as np, cv2
path, engine, xs, out = sys.argv[1:]
x = np.load(xs)
net = cv2.dnn.readNetFromONNX(path) if engine == "default" else cv2.dnn.readNetFromONNX(path, getattr(cv2.dnn, engine))
outs = []
for i in range(len(x)):
    net.setInput(np.ascontiguousarray(x[i:i + 1]))
    outs.append(net.forward().reshape(1, -1))
np.save(out, np.concatenate(outs))
"""


def _opencv(path, x: np.ndarray, engine: str, tmp_path) -> np.ndarray:
    """OpenCV's DNN in a process of its own, as a consumer program would run it (its engines' thread pools stay
    out of the test process)."""
    import subprocess
    import sys

    np.save(tmp_path / "x.npy", x)
    subprocess.run([sys.executable, "-c", _OPENCV, str(path), engine, str(tmp_path / "x.npy"),
                    str(tmp_path / "y.npy")], check=True, capture_output=True, timeout=300)
    return np.load(tmp_path / "y.npy")


@pytest.fixture(scope="module")
def fp32_onnx(tmp_path_factory):
    import torch

    from edge_landmarks.export.onnx import export
    from edge_landmarks.models import create_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("consumers") / "mobilenetv2_56_fp32.onnx"
    export(create_model("mobilenetv2", input_size=56).eval(), path)
    return path


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_opencv_dnn_matches_onnxruntime(engine, precision, fp32_onnx, demo68, tmp_path):
    path = fp32_onnx if precision == "fp32" else DEFAULT_MODEL_DIR / "demo68_mobilenetv2_56_int8.onnx"
    from edge_landmarks.models import get_model_config

    cfg = get_model_config("mobilenetv2", input_size=56)
    x, _ = make_inputs(list(load_dataset(demo68).split("val"))[:12], cfg)
    if precision == "fp32":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        ref = sess.run(None, {"image": x})[0]
    else:
        ref = OnnxBackend.open(path, 1)(x)
    got = _opencv(path, x, engine, tmp_path)
    # FP32: the same arithmetic; INT8: OpenCV's own int8 kernels, a few thousandths of the crop from onnxruntime's
    assert np.abs(got - ref).max() < (1e-4 if precision == "fp32" else 0.01), (engine, np.abs(got - ref).max())

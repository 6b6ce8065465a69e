"""Real artefacts for the predictor and demo tests, made once per test session (shared by both modules).

The checkpoint the shipped model was made from (``assets/demo68_mobilenetv2_56.pt``, the demo recipe trained on
demo68), exported to FP32 ONNX, INT8 ONNX and FP32 TFLite with the real exporters. (Until 2026-12-03 the fixture
trained its own for four epochs, a minute of every run, to a model of NME about 0.3.)
"""

from __future__ import annotations

import json
from pathlib import Path

SOURCE = Path(__file__).parent / "assets" / "demo68_mobilenetv2_56.pt"
NAMES = {"pt": "best.pt", "onnx": "mobilenetv2_56_fp32.onnx", "onnx_int8": "mobilenetv2_56_int8.onnx",
         "tflite": "mobilenetv2_56_fp32.tflite"}


def build(tmp_path_factory, demo68: Path) -> dict[str, Path]:
    root = tmp_path_factory.getbasetemp() / "predictor_artefacts"
    done = root / "done.json"
    if done.is_file():
        return {k: Path(v) for k, v in json.loads(done.read_text()).items()}
    import shutil
    import warnings

    from edge_landmarks.export import ExportJob

    ckpt = root / "run" / "best.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SOURCE, ckpt)
    out = root / "export"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "only 30 calibration faces": intended, to keep the fixture quick
        job = ExportJob(ckpt, out=out, data=str(demo68))
        job.write("onnx", "fp32")
        job.write("onnx", "int8", calib_size=30)
        job.write("tflite", "fp32")
    paths = {k: (ckpt if k == "pt" else out / v) for k, v in NAMES.items()}
    done.write_text(json.dumps({k: str(v) for k, v in paths.items()}))
    return paths

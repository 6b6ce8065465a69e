"""Real artefacts for the predictor and demo tests, made once per test session (shared by both modules).

A demo-recipe checkpoint trained for a few epochs on the demo set (not a good model: NME about 0.3, which is what
the tracker must also cope with), exported to FP32 ONNX, INT8 ONNX and FP32 TFLite with the real exporters.
"""

from __future__ import annotations

import json
from pathlib import Path

EPOCHS = 4
NAMES = {"pt": "best.pt", "onnx": "mobilenetv2_56_fp32.onnx", "onnx_int8": "mobilenetv2_56_int8.onnx",
         "tflite": "mobilenetv2_56_fp32.tflite"}


def build(tmp_path_factory, demo68: Path) -> dict[str, Path]:
    root = tmp_path_factory.getbasetemp() / "predictor_artefacts"
    done = root / "done.json"
    if done.is_file():
        return {k: Path(v) for k, v in json.loads(done.read_text()).items()}
    import warnings

    from edge_landmarks.data import load_dataset
    from edge_landmarks.export import ExportJob
    from edge_landmarks.training import load_recipe, train

    data = load_dataset(demo68)
    cfg = load_recipe("demo", epochs=EPOCHS, threads=1, data=str(demo68))
    train(cfg, out=root / "run", progress=False, samples=list(data.split("train")),
          val_samples=list(data.split("val")))
    ckpt = root / "run" / "best.pt"
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

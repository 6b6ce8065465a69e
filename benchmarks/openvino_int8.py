"""Which OpenVINO INT8 file follows a moving face and flickers least: NNCF's PTQ with min-max ranges (what `edge-lmk
quantize` wrote until 2026-12-03), the ONNX INT8 file's own graph read by ``openvino.convert_model``, and what it
writes now (the ONNX writer's graph with MobileNet's first blocks also in float, read the same way), with the ONNX
INT8 and OpenVINO FP32 files of the same checkpoint beside them.

    python benchmarks/openvino_int8.py --out benchmarks/results/openvino_int8.json

Per file: the demo's lag in frames (``edge_landmarks.stability``: the face moving 1 px a frame through the tracker
and its smoothing) on each of ``--faces`` test_wild faces and their mean, the jitter of the model alone on the still
clips (NMF %), test_wild NME on the labels' boxes, and the runtime precision of every convolution as the CPU plugin
compiled it (``get_runtime_model``). Latency is left to ``edge-lmk bench`` and ``benchmark_app``. Needs the dev
install and demo68.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def nncf_min_max(job, path: Path, calib: np.ndarray) -> None:
    """The former writer: NNCF PTQ, performance preset, MINMAX activation ranges, overflow fix in every layer, the
    first conv and the head in float, the input quantiser widened to the normalisation's bounds."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    from edge_landmarks.export.openvino_ir import _nncf_int8

    advanced = AdvancedQuantizationParameters(activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX,
                                              overflow_fix=OverflowFix.ENABLE)
    _nncf_int8(job.model, path, calib, job.metadata("openvino", "int8"), False, True, True, job.fp32("openvino"),
               advanced)


def conv_precisions(path: Path) -> dict:
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": 1,
                                                          "INFERENCE_PRECISION_HINT": "f32"})
    counts = collections.Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) == "Convolution":
            counts[info["runtimePrecision"].astype(str)] += 1
    return dict(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(REPO / "tests" / "assets" / "demo68_mobilenetv2_56.pt"))
    ap.add_argument("--faces", type=int, default=6, help="test_wild faces that make the clips")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "openvino_int8.json"))
    args = ap.parse_args()

    from edge_landmarks.data import load_dataset
    from edge_landmarks.data.transforms import face_box
    from edge_landmarks.evaluation import load_predictor_for_eval
    from edge_landmarks.export.job import ExportJob
    from edge_landmarks.files import atomic_write_json
    from edge_landmarks.metrics import nme
    from edge_landmarks.runtime.backends import sidecar_path
    from edge_landmarks.runtime.predictor import LandmarkPredictor
    from edge_landmarks.stability import clip_faces, make_clips, run_clip, score_clip

    wild = load_dataset("demo68").split("test_wild")
    faces = clip_faces(wild, args.faces)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-lmk-ov-int8-") as tmp:
        job = ExportJob(args.checkpoint, out=tmp)
        now = "OpenVINO INT8: the ONNX graph, first blocks in float (now)"
        files = {"OpenVINO FP32": Path(job.write("openvino", "fp32")["path"]),
                 now: Path(job.write("openvino", "int8")["path"]),
                 "ONNX INT8": Path(job.write("onnx", "int8")["path"])}
        from edge_landmarks.export.openvino_ir import _save, from_onnx

        same = Path(tmp) / "onnx_graph.xml"
        _save(from_onnx(files["ONNX INT8"], job.config), same, job.metadata("openvino", "int8"))
        old = Path(tmp) / "nncf_min_max.xml"
        nncf_min_max(job, old, job.calibration(300))
        for path in (same, old):
            sidecar_path(path).write_text(sidecar_path(files[now]).read_text())
        files["OpenVINO INT8: the ONNX file's graph as it is"] = same
        files["OpenVINO INT8: NNCF min-max (until 2026-12-03)"] = old
        for name, path in files.items():
            predictor = LandmarkPredictor(str(path))
            batch, cfg = load_predictor_for_eval(str(path))[:2]
            lags, jitter = [], []
            for face in faces:
                still, moving = make_clips(face, seed=0, speeds=(1.0,))[:2]
                jitter.append(score_clip(run_clip(still, "model", predict_batch=batch, config=cfg), still)["nmf"])
                lags.append(score_clip(run_clip(moving, "demo", predictor=predictor), moving)["lag"])
            pred = np.stack([predictor.predict(s.load_image(), face_box(s.landmarks)) for s in wild])
            row = {"file": name, "demo_lag_frames": round(float(np.mean(lags)), 2),
                   "lag_per_face": [round(float(x), 2) for x in lags],
                   "jitter_nmf_pct": round(float(np.mean(jitter)), 3),
                   "nme_test_wild": round(float(np.mean(nme(pred, np.stack([s.landmarks for s in wild]),
                                                             cfg.scheme))), 4),
                   "convolutions": conv_precisions(path) if path.suffix == ".xml" else None}
            print(json.dumps(row), flush=True)
            rows.append(row)
    from edge_landmarks.bench.environment import environment

    atomic_write_json(args.out, {"command": "python benchmarks/openvino_int8.py", "machine": environment(),
                                 "faces": args.faces,
                                 "checkpoint": str(Path(args.checkpoint).resolve().relative_to(REPO)), "rows": rows})


if __name__ == "__main__":
    main()

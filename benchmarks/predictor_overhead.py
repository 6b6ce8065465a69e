"""The predictor's own cost beside the bare model call, per artefact: crop (one bilinear warp of the frame),
normalisation and mapping the points back, against the runtime call alone on the same inputs.

Usage: python benchmarks/predictor_overhead.py ARTEFACT... [--threads 1] [--runs 500]

Three timings per file: the runtime alone, as its own benchmark tool loops it (onnxruntime ``session.run`` with a
ready feed; OpenVINO ``InferRequest.infer()`` on an input tensor set beforehand, what ``benchmark_app -api sync``
times; LiteRT ``Interpreter.invoke()`` on an input written beforehand, what ``litert-benchmark`` times); edge-lmk's
backend call (input handed over, quantised where the file takes int8, output copied out); and ``predict()`` (crop,
normalise, run, map back).

The frame is a 640x480 camera-sized image (the astronaut photo the demo video uses) with the face box its
BlazeFace detection gives, jittered per call so that no call reuses the last one's input. Medians over --runs
calls after 50 warm-up calls, time.perf_counter, batch 1.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from edge_landmarks import LandmarkPredictor
from edge_landmarks.runtime.camera_demo import _face_photos
from edge_landmarks.runtime.detect import create_detector


def median_ms(fn, runs: int) -> float:
    for _ in range(50):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artefacts", nargs="+")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=500)
    args = ap.parse_args()
    photo = _face_photos()[0]
    frame = cv2.resize(photo, (480, 480))
    frame = cv2.copyMakeBorder(frame, 0, 0, 80, 80, cv2.BORDER_CONSTANT)
    box = create_detector()(frame)[0].box
    rng = np.random.default_rng(0)
    print("| artefact | runtime alone ms | backend call ms | predict() ms | backend vs runtime | predict vs runtime |")
    print("|---|---:|---:|---:|---:|---:|")
    # 64 boxes jittered by a pixel or two, as a tracker gives them: each timed call gets another input
    boxes = [tuple(np.asarray(box) + rng.normal(0, 1.0, 4)) for _ in range(64)]
    for path in args.artefacts:
        pred = LandmarkPredictor(path, threads=args.threads)
        raw = runtime_alone(path, pred.preprocess(frame, boxes[0])[0], args.threads, args.runs)
        bare, full = measure(pred, frame, boxes, args.runs)
        print(f"| {path.split('/')[-1]} | {raw:.3f} | {bare:.3f} | {full:.3f} | {100 * (bare - raw) / raw:+.1f} % | "
              f"{100 * (full - raw) / raw:+.1f} % |")


def measure(pred: LandmarkPredictor, frame: np.ndarray, boxes: list, runs: int) -> tuple[float, float]:
    """(bare model call ms, predict() ms), medians."""
    inputs = [pred.preprocess(frame, b)[0] for b in boxes]
    i = iter(range(10 ** 9))
    bare = median_ms(lambda: pred._run(inputs[next(i) % len(inputs)]), runs)
    full = median_ms(lambda: pred.predict(frame, boxes[next(i) % len(boxes)]), runs)
    return bare, full


def runtime_alone(path: str, x: np.ndarray, threads: int, runs: int) -> float:
    """The runtime's own call on a ready input, as its benchmark tool times it (median ms)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if path.endswith(".onnx"):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads, opts.log_severity_level = threads, 1, 3
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x}
        return median_ms(lambda: sess.run(None, feed), runs)
    if path.endswith(".xml"):
        import openvino as ov

        compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                         "INFERENCE_PRECISION_HINT": "f32"})
        req = compiled.create_infer_request()
        req.set_input_tensor(ov.Tensor(x))
        return median_ms(req.infer, runs)
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=path, num_threads=threads)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    if inp["dtype"] != np.float32:
        scale, zero = inp["quantization"]
        x = np.clip(np.rint(x / scale) + zero, -128, 127).astype(inp["dtype"])
    interp.set_tensor(inp["index"], x)
    return median_ms(interp.invoke, runs)


if __name__ == "__main__":
    main()

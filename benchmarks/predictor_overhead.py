"""The predictor's own cost beside the bare model call, per artefact: crop (one bilinear warp of the frame),
normalisation and mapping the points back, against the runtime call alone on the same inputs.

Usage: python benchmarks/predictor_overhead.py ARTEFACT... [--threads 1] [--runs 500] [--floor]
(colour models, BGR frames)

Four timings per file: the runtime alone, as its own benchmark tool loops it (onnxruntime ``session.run`` with a
ready feed; OpenVINO ``InferRequest.infer()`` on an input tensor set beforehand, what ``benchmark_app -api sync``
times; LiteRT ``Interpreter.invoke()`` on an input written beforehand, what ``litert-benchmark`` times); edge-lmk's
backend call (input handed over, quantised where the file takes int8, output copied out); ``predict()`` (crop,
normalise, run, map back); and the docs' pipeline, the same job with no edge-lmk code: the crop and
mapping back of docs/use-without-edge-lmk.md (its own code, read from the page) around the runtime's documented call
on a session made once.

The frame is a 640x480 camera-sized image (the astronaut photo the demo video uses) with the face box its BlazeFace
detection gives, jittered per call so that no call reuses the last one's input. The four are timed in alternating
blocks of 100 calls (runtime, backend, predict, docs, runtime, ...; the first 10 of each block not counted, so
that each starts with its own weights in the cache), so that the drift of a shared VM's speed falls on all of them
alike: medians over --runs counted calls each, time.perf_counter, batch 1. ``--floor`` adds the bare steps around
the runtime's own call (no edge-lmk wrapper): the same steps with nothing checked, crop and input preallocated, and
the same again for a file that would take the uint8 crop as it is (no normalisation: the warp writes the input). The
stage table re-runs predict()'s fast path step by step, and checks that its points are predict()'s, so that it
cannot drift from the predictor.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import cv2
import numpy as np

from edge_landmarks import LandmarkPredictor
from edge_landmarks.data.video import _face_photos
from edge_landmarks.runtime.backends import quantize
from edge_landmarks.runtime.detect import create_detector


def medians_ms(fns: list, runs: int, block: int = 100, skip: int = 10) -> list[float]:
    """Median ms of each function over ``runs`` counted calls, timed in alternating blocks."""
    times = [[] for _ in fns]
    clock = time.perf_counter
    while len(times[0]) < runs:
        for k, fn in enumerate(fns):
            for j in range(block):
                t0 = clock()
                fn()
                if j >= skip:
                    times[k].append(clock() - t0)
    return [1e3 * float(np.median(t)) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artefacts", nargs="+")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--floor", action="store_true", help="also time the floor of an exact crop in Python")
    args = ap.parse_args()
    for path in args.artefacts:  # what the timings below assume
        pred = LandmarkPredictor(path)
        if not path.endswith((".onnx", ".xml", ".tflite")) or pred.config.in_chans != 3 or pred._lut is None:
            raise SystemExit(f"{path}: this script times colour models in .onnx, .xml or .tflite files")
    photo = _face_photos()[0]
    frame = cv2.resize(photo, (480, 480))
    frame = cv2.copyMakeBorder(frame, 0, 0, 80, 80, cv2.BORDER_CONSTANT)
    box = create_detector()(frame)[0].box
    rng = np.random.default_rng(0)
    print("| artefact | runtime alone ms | backend call ms | predict() ms | docs' pipeline ms | backend vs runtime | "
          "predict vs runtime | predict vs docs' pipeline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    # 64 boxes jittered by a pixel or two, as a tracker gives them: each timed call gets another input
    boxes = [tuple(np.asarray(box) + rng.normal(0, 1.0, 4)) for _ in range(64)]
    for path in args.artefacts:
        raw, bare, full, docs = measure(path, frame, boxes, args.threads, args.runs)
        print(f"| {path.split('/')[-1]} | {raw:.3f} | {bare:.3f} | {full:.3f} | {docs:.3f} | "
              f"{100 * (bare - raw) / raw:+.1f} % | {100 * (full - raw) / raw:+.1f} % | "
              f"{100 * (full - docs) / docs:+.1f} % |")
    print("\nWhere predict()'s time goes (its fast path, stage by stage; medians in µs):\n")
    print("| artefact | box check + crop matrix | warp | table lookup | into the input buffer | model call | "
          "mapping back |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in args.artefacts:
        print(f"| {path.split('/')[-1]} | " + " | ".join(f"{v:.1f}" for v in stages(path, frame, boxes, args.threads,
                                                                                     args.runs)) + " |")
    if args.floor:
        print("\nThe floor (medians in ms; nothing checked, crop and input preallocated, the runtime's own call):\n")
        print("| artefact | runtime alone | predict() | floor, this file | floor, a uint8-input file |")
        print("|---|---:|---:|---:|---:|")
        for path in args.artefacts:
            raw, full, exact, u8 = floor(path, frame, boxes, args.threads, args.runs)
            print(f"| {path.split('/')[-1]} | {raw:.3f} | {full:.3f} ({100 * (full - raw) / raw:+.1f} %) | {exact:.3f} "
                  f"({100 * (exact - raw) / raw:+.1f} %) | {u8:.3f} ({100 * (u8 - raw) / raw:+.1f} %) |")


def stages(path: str, frame: np.ndarray, boxes: list, threads: int, runs: int) -> list[float]:
    """Median µs of each step of predict()'s fast path (LandmarkPredictor.predict, step by step)."""
    pred = LandmarkPredictor(path, threads=threads)
    size, run, clock = pred.config.input_size, pred._run, time.perf_counter
    times = []
    for i in range(runs + 200):
        box = boxes[i % len(boxes)]
        t0 = clock()
        m = pred.crop_matrix(frame, box)
        t1 = clock()
        crop = cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        t2 = clock()
        values = cv2.LUT(crop, pred._lut)
        t3 = clock()
        run.input_buffer[0] = values.transpose(2, 0, 1)[::-1]
        t4 = clock()
        out = run.invoke()
        t5 = clock()
        points = pred.postprocess(out, m)
        t6 = clock()
        if i >= 200:
            times.append(np.diff([t0, t1, t2, t3, t4, t5, t6]))
        if i == 0 and not np.allclose(points, pred.predict(frame, box), atol=1e-6):
            raise SystemExit(f"{path}: the stage table's steps no longer give predict()'s points: update stages()")
    return list(1e6 * np.median(np.array(times), axis=0))


def floor(path: str, frame: np.ndarray, boxes: list, threads: int, runs: int) -> list[float]:
    """Medians (ms) of the runtime alone, predict(), and two floors: predict()'s steps with no check, in plain floats,
    with the crop and the input preallocated, around the runtime's own call (no edge-lmk wrapper: the warp, the table
    lookup, the copy into the runtime's input, the call, one multiply-add back with the output's dequantisation folded
    in); and the same without the lookup and the copy, as for a file that took the uint8 crop."""
    pred = LandmarkPredictor(path, threads=threads)
    raw = runtime_alone(path, pred.preprocess(frame, boxes[0])[0], threads)
    x, call, (oscale, ozero) = raw_call(path, threads)
    size, margin = pred.config.input_size, pred.config.crop_margin
    k0 = oscale / pred.config.output_scale
    crop = np.empty((size, size, 3), np.uint8)
    values = np.empty((size, size, 3), pred._lut.dtype)
    planes, chw = x[0], values.transpose(2, 0, 1)[::-1]
    flat = [tuple(float(v) for v in b) for b in boxes]

    def steps(normalise: bool):
        x0, y0, x1, y1 = flat[next(i) % len(flat)]
        side = max(x1 - x0, y1 - y0) * (1.0 + margin)
        s = size / side
        c, f = s * (side - x0 - x1) / 2.0 - 0.5, s * (side - y0 - y1) / 2.0 - 0.5
        cv2.warpAffine(frame, np.array(((s, 0.0, c), (0.0, s, f))), (size, size), dst=crop, flags=cv2.INTER_LINEAR)
        if normalise:
            cv2.LUT(crop, pred._lut, dst=values)
            np.copyto(planes, chw)
        k = k0 * size / s
        return call().reshape(-1, 2) * k + ((-0.5 - c) / s - ozero * k, (-0.5 - f) / s - ozero * k)

    i = iter(range(10 ** 9))
    if not np.allclose(steps(True), pred.predict(frame, boxes[0]), atol=1e-3):
        raise SystemExit(f"{path}: the floor's steps no longer give predict()'s points: update floor()")
    i = iter(range(10 ** 9))
    return medians_ms([raw, lambda: pred.predict(frame, boxes[next(i) % len(boxes)]), lambda: steps(True),
                       lambda: steps(False)], runs)


def raw_call(path: str, threads: int):
    """(input array the caller writes, ``call() -> raw output``, (output scale, zero point)) with the runtime's own
    API and nothing around it: onnxruntime on a ready feed, OpenVINO's infer request on its own tensors, LiteRT's
    set_tensor / invoke / get_tensor."""
    if path.endswith(".onnx"):
        sess = _open(path, threads)
        inp = sess.get_inputs()[0]
        x = np.zeros([d if isinstance(d, int) else 1 for d in inp.shape], np.float32)
        feed = {inp.name: x}
        return x, lambda: sess.run(None, feed)[0], (1.0, 0)
    if path.endswith(".xml"):
        req = _open(path, threads).create_infer_request()
        out = req.get_output_tensor(0)

        def infer():
            req.infer()
            return out.data

        return req.get_input_tensor(0).data, infer, (1.0, 0)
    interp = _open(path, threads)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    x = np.zeros(inp["shape"], inp["dtype"])

    def invoke():
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        return interp.get_tensor(out["index"])

    quant = out["quantization"] if out["dtype"] != np.float32 else (1.0, 0)
    return x, invoke, (float(quant[0]), int(quant[1]))


def measure(path: str, frame: np.ndarray, boxes: list, threads: int, runs: int) -> list[float]:
    """Medians (ms) of the runtime alone, the backend call, predict() and the docs' pipeline, for one file."""
    pred = LandmarkPredictor(path, threads=threads)
    raw = runtime_alone(path, pred.preprocess(frame, boxes[0])[0], threads)
    docs = docs_pipeline(path, threads)
    for b in boxes[:4]:  # the docs' pipeline does the same job
        if not np.allclose(docs(frame, b), pred.predict(frame, b), atol=0.01):
            raise SystemExit(f"{path}: the documented pipeline and predict() disagree")
    inputs = [pred.preprocess(frame, b)[0] for b in boxes]
    i = iter(range(10 ** 9))
    return medians_ms([raw, lambda: pred._run(inputs[next(i) % len(inputs)]),
                       lambda: pred.predict(frame, boxes[next(i) % len(boxes)]),
                       lambda: docs(frame, boxes[next(i) % len(boxes)])], runs)


DOC = Path(__file__).resolve().parents[1] / "docs" / "use-without-edge-lmk.md"


def docs_pipeline(path: str, threads: int):
    """``(frame, box) -> points`` as docs/use-without-edge-lmk.md writes it: its crop block (``make_input``,
    ``to_image``, executed from the page) around its runtime's call, on a session / compiled model / interpreter
    made once. The thread count is set as the runtime's API sets it."""
    crop_block = next(b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if b.startswith("# crop"))
    scope: dict = {}
    exec(compile(crop_block.split("\nmeta = ")[0], str(DOC), "exec"), scope)  # the functions, not the example
    make_input, to_image = scope["make_input"], scope["to_image"]
    meta = json.loads(Path(path + ".json").read_text())
    if path.endswith(".onnx"):
        session = _open(path, threads)
        name = meta["contract"]["inputs"][0]["name"]

        def run(x):
            return session.run(None, {name: x})[0]
    elif path.endswith(".xml"):
        compiled = _open(path, threads)
        port = compiled.output(0)

        def run(x):
            return compiled(x)[port]
    else:
        interpreter = _open(path, threads)
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]

        def run(x):
            if inp["dtype"] != np.float32:
                scale, zero = inp["quantization"]
                limits = np.iinfo(inp["dtype"])
                x = np.clip(np.round(x / scale + zero), limits.min, limits.max).astype(inp["dtype"])
            interpreter.set_tensor(inp["index"], x)
            interpreter.invoke()
            output = interpreter.get_tensor(out["index"]).astype(np.float32)
            if out["dtype"] != np.float32:
                scale, zero = out["quantization"]
                output = (output - zero) * scale
            return output

    def predict(frame, box):
        x, crop = make_input(frame, box, meta)
        return to_image(run(x)[0], meta, crop)

    return predict


def runtime_alone(path: str, x: np.ndarray, threads: int):
    """The runtime's own call on a ready input, as its benchmark tool loops it (a function to time)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    runtime = _open(path, threads)
    if path.endswith(".onnx"):
        feed = {runtime.get_inputs()[0].name: x}
        return lambda: runtime.run(None, feed)
    if path.endswith(".xml"):
        import openvino as ov

        req = runtime.create_infer_request()
        req.set_input_tensor(ov.Tensor(x))
        return req.infer
    inp = runtime.get_input_details()[0]
    if inp["dtype"] != np.float32:
        scale, zero = inp["quantization"]
        x = quantize(x, (scale, zero), np.empty(x.shape, inp["dtype"]))
    runtime.set_tensor(inp["index"], x)
    return runtime.invoke


def _open(path: str, threads: int):
    """The runtime's own object for the file, set up as edge-lmk's backends set it up (``threads`` intra-op
    threads; OpenVINO in f32): an onnxruntime session, an OpenVINO compiled model, a LiteRT interpreter with its
    tensors allocated."""
    if path.endswith(".onnx"):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads, opts.log_severity_level = threads, 1, 3
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    if path.endswith(".xml"):
        import openvino as ov

        return ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                     "INFERENCE_PRECISION_HINT": "f32"})
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=path, num_threads=threads)
    interp.allocate_tensors()
    return interp


if __name__ == "__main__":
    main()

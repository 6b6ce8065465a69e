"""The predictor's own cost beside the bare model call, per artefact: crop (one bilinear warp of the frame),
normalisation and mapping the points back, against the runtime call alone on the same inputs.

Usage: python benchmarks/predictor_overhead.py ARTEFACT... [--threads 1] [--runs 500]

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
    print("| artefact | bare model call ms | predict() ms | overhead |")
    print("|---|---:|---:|---:|")
    # 64 boxes jittered by a pixel or two, as a tracker gives them: each timed call gets another input
    boxes = [tuple(np.asarray(box) + rng.normal(0, 1.0, 4)) for _ in range(64)]
    for path in args.artefacts:
        bare, full = measure(LandmarkPredictor(path, threads=args.threads), frame, boxes, args.runs)
        print(f"| {path.split('/')[-1]} | {bare:.3f} | {full:.3f} | {100 * (full - bare) / bare:+.1f} % |")


def measure(pred: LandmarkPredictor, frame: np.ndarray, boxes: list, runs: int) -> tuple[float, float]:
    """(bare model call ms, predict() ms), medians."""
    inputs = [pred.preprocess(frame, b)[0] for b in boxes]
    i = iter(range(10 ** 9))
    bare = median_ms(lambda: pred._run(inputs[next(i) % len(inputs)]), runs)
    full = median_ms(lambda: pred.predict(frame, boxes[next(i) % len(boxes)]), runs)
    return bare, full


if __name__ == "__main__":
    main()

"""The per-row subprocess: ``python -m edge_landmarks.bench.child JOB.json`` loads one model (or a peer: dlib,
MediaPipe's Face Mesh), times it on one pre-made crop, measures its memory, runs every crop once for accuracy (and,
asked to, the jitter and lag clips of :mod:`edge_landmarks.stability`) and writes its result JSON."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .targets import short_reason

__all__ = ["child_main"]


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB.

    Linux: VmRSS / VmHWM from /proc, which start afresh at exec. ``ru_maxrss`` cannot be used in the child: Linux
    carries the parent's high-water mark across fork and exec, so every row would report the parent's size.
    Elsewhere ``ru_maxrss`` is the best there is (both values)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        mb = kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024  # bytes on macOS, KiB elsewhere
        return mb, mb


def _time(fn, runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    times = np.empty(runs)
    clock = time.perf_counter
    for i in range(runs):
        t0 = clock()
        fn()
        times[i] = clock() - t0
    ms = times * 1e3
    median = float(np.median(ms))
    return {"latency_ms_median": round(median, 4), "latency_ms_p90": round(float(np.percentile(ms, 90)), 4),
            "latency_ms_min": round(float(ms.min()), 4), "latency_ms_mean": round(float(ms.mean()), 4),
            "fps": round(1e3 / median, 1) if median > 0 else None, "runs": runs, "warmup": warmup}


def _child_model(job: dict) -> dict:
    x_all = np.load(job["inputs"])
    x = np.ascontiguousarray(x_all[:1])
    base, _ = _rss_mb()
    t0 = time.perf_counter()
    from ..runtime import load_backend

    opened = load_backend(job["path"], job["threads"])
    run = opened[0]
    result = {"load_seconds": round(time.perf_counter() - t0, 3), "device": run.device}
    run.feed(x)  # the file's own call on its ready input, as the runtime's benchmark tool and the predictor make it
    result.update(_time(run.invoke, job["runs"], job["warmup"]))  # (an int8 input is quantised once, not per call)
    _, peak = _rss_mb()
    result.update(peak_rss_mb=round(peak, 1), model_rss_mb=round(peak - base, 1))
    if job["accuracy"]:
        np.save(job["outputs"], np.concatenate([run(x_all[i:i + 1]) for i in range(len(x_all))]))
        if job.get("clips"):
            from ..runtime.predictor import LandmarkPredictor

            predictor = LandmarkPredictor.on_backend(job["path"], opened, threads=job["threads"])
            result.update(_clip_measures(job["clips"], modes=("model", "demo"), predict_batch=run,
                                         config=predictor.config, predictor=predictor))
    return result


def _clip_measures(spec: dict, **how) -> dict:
    """Jitter and lag on the clips of :mod:`edge_landmarks.stability` (``spec``: data, split, count, seed): the
    model alone on the true box (``jitter_nmf``, ``jitter_px``), and, where ``modes`` has it, through the demo's
    tracker and smoothing (``demo_jitter_px``, ``demo_lag`` on the slowest moving clip); a peer goes through the
    tracker as a :class:`~edge_landmarks.stability.PointsPredictor`."""
    from ..data import load_dataset
    from ..stability import slowest_lag, stability

    found = stability(list(load_dataset(spec["data"]).split(spec["split"])), spec["count"], seed=spec["seed"],
                      **how)
    if not found:
        return {}
    m = found["modes"]
    out = {"jitter_nmf": m["model"]["nmf_still"], "jitter_px": m["model"]["motion_px"]}
    if "demo" in m:
        out.update(demo_jitter_px=m["demo"]["motion_px"], demo_lag=slowest_lag(m["demo"]))
    return out


def _child_dlib(job: dict) -> dict:
    from ..stability import PointsPredictor

    with np.load(job["faces"]) as faces:
        greys = [faces[f"face_{i}"] for i in range(len(job["boxes"]))]
    base, _ = _rss_mb()
    t0 = time.perf_counter()
    from ..data.teacher import Teacher

    teacher = Teacher()
    result = {"load_seconds": round(time.perf_counter() - t0, 3), "device": "cpu", "file": str(teacher.model_path),
              "file_bytes": teacher.model_path.stat().st_size}
    first, box = greys[0], job["boxes"][0]
    result.update(_time(lambda: teacher.landmarks(first, box), job["runs"], job["warmup"]))
    _, peak = _rss_mb()
    result.update(peak_rss_mb=round(peak, 1), model_rss_mb=round(peak - base, 1))
    pred = np.stack([teacher.landmarks(g, b) for g, b in zip(greys, job["boxes"], strict=True)])
    np.save(job["outputs"], pred)
    if job.get("clips"):
        import cv2

        def points(frame, box):
            return teacher.landmarks(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), box)

        result.update(_clip_measures(job["clips"], modes=("model", "demo"), points=points, scheme="ibug68",
                                     predictor=PointsPredictor(points)))
    return result


def _child_mediapipe(job: dict) -> dict:
    """MediaPipe's Face Mesh (:mod:`edge_landmarks.bench.mediapipe`) on the split's faces, with their 68-point
    boxes as dlib gets them."""
    from ..data import load_dataset
    from ..data.dataset import targets
    from ..data.transforms import face_box
    from ..stability import PointsPredictor
    from .mediapipe import MeshPredictor, mesh_model

    samples = list(load_dataset(job["data"]).split(job["split"]))
    gt = targets(samples, "ibug68")
    boxes = [face_box(g, s.box, np.isfinite(g).all(axis=1)) for s, g in zip(samples, gt, strict=True)]
    base, _ = _rss_mb()
    t0 = time.perf_counter()
    path = mesh_model()
    mesh = MeshPredictor(path, threads=job["threads"])
    result = {"load_seconds": round(time.perf_counter() - t0, 3), "device": "cpu", "file": str(path),
              "file_bytes": path.stat().st_size}
    images = [s.load_image() for s in samples]
    mesh.feed(images[0], boxes[0])
    result.update(_time(mesh.invoke, job["runs"], job["warmup"]))  # the model's own call, as for every row
    _, peak = _rss_mb()
    result.update(peak_rss_mb=round(peak, 1), model_rss_mb=round(peak - base, 1))
    np.save(job["outputs"], np.stack([mesh.predict(img, b) for img, b in zip(images, boxes, strict=True)]))
    if job.get("clips"):
        result.update(_clip_measures(job["clips"], modes=("model", "demo"), points=mesh.predict, scheme="ibug68",
                                     predictor=PointsPredictor(mesh.predict)))
    return result


_PEERS = {"dlib": _child_dlib, "mediapipe": _child_mediapipe}


def child_main(job_path: str) -> int:
    from ..files import atomic_write_json

    job = json.loads(Path(job_path).read_text())
    try:
        result = {"status": "ok", **_PEERS.get(job["kind"], _child_model)(job)}
    except Exception as exc:  # the row records why; the benchmark goes on
        result = {"status": "error", "reason": short_reason(exc)}
    for k, v in result.items():
        if isinstance(v, float) and not math.isfinite(v):
            result[k] = None
    atomic_write_json(job["result"], result)
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))

"""Frames per second of the headless demo (``edge-lmk demo --video FILE --headless``) on one core, per scene.

Scenes (made here, seeded, 640x480 at 30 FPS, MPEG-4 in .mp4 as ``edge-lmk data video`` writes it):
- ``one face``: ``edge-lmk data video`` (package photos drifting and zooming, a cut half-way where the face must be
  found again);
- ``two faces``: the same photos side by side (``data video --together``);
- ``far face``: the one-face video shrunk to 45 % and set into the empty scene's texture, near a corner: a face
  of 50-60 px in the 640 px frame, a few metres from a webcam (the short-range model's whole-frame pass misses it;
  the tracker's far pass finds it);
- ``empty``: nobody in view: a smooth random texture with per-frame sensor noise (the detector's cost does not
  depend on the content; its fixed-size input is the same work).

Each scene runs through :func:`edge_landmarks.runtime.camera_demo.run_demo` as the CLI runs it, headless, with and
without drawing (the CLI draws only when something shows the frame: a window, ``--save`` or ``--serve``), and the
FPS is checked against an outer wall clock around the call (which includes opening the model and the video).

Usage: python benchmarks/demo_fps.py [--frames 600] [--threads 1] [--repeats 3] [--scenes "one face,empty"]
       [--accurate] [--out benchmarks/results/demo_fps.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import tempfile
import time
from pathlib import Path

import numpy as np


def empty_texture(seed: int = 0, noise: np.random.Generator | None = None) -> np.ndarray:
    """A 640x480 smooth random texture (blurred uniform noise stretched to 30-220), with N(0, 3) sensor noise."""
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (480, 640, 3)).astype(np.float32), (0, 0), 25)
    base = cv2.normalize(base, None, 30, 220, cv2.NORM_MINMAX)
    noise = noise or rng
    return np.clip(base + noise.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


def empty_video(path: Path, frames: int, seed: int = 0) -> Path:
    import cv2

    noise = np.random.default_rng(seed + 1000)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for _ in range(frames):
        out.write(empty_texture(seed, noise))
    out.release()
    return path


def far_video(src: Path, path: Path, scale: float = 0.45, at: tuple[int, int] = (48, 40), seed: int = 0) -> Path:
    """Each frame of ``src`` shrunk by ``scale`` and set into the empty scene's texture at ``at`` (x, y)."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    noise = np.random.default_rng(seed + 2000)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        canvas = empty_texture(seed, noise)
        x, y = at
        canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
        out.write(canvas)
    cap.release()
    out.release()
    return path


def run_case(model: str, video: Path, frames: int, threads: int, draw: bool, flip: bool = False) -> dict:
    from edge_landmarks.runtime.camera_demo import run_demo

    t0 = time.perf_counter()
    stats = run_demo(model, video=str(video), headless=True, threads=threads, draw=draw, frames=frames, flip=flip,
                     log=lambda line: None)
    wall = time.perf_counter() - t0
    return {"fps": stats["fps"], "wall_fps": round(stats["frames"] / wall, 2), "frames": stats["frames"],
            "faces_per_frame": stats["faces_per_frame"], "detections": stats["detections"],
            "searches": stats["searches"], "checks": stats["checks"], "ms_per_frame": stats["ms_per_frame"],
            "detect_ms_per_call": stats["detect_ms_per_call"], "slowest_detect_ms": stats["slowest_detect_ms"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="Artefact (default: the shipped 56 px INT8 ONNX file).")
    ap.add_argument("--accurate", action="store_true",
                    help="As edge-lmk demo --accurate: the shipped 112 px INT8 ONNX file with flip averaging.")
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="Runs per case; the table keeps the median FPS.")
    ap.add_argument("--scenes", default=None, help="Comma-separated scenes to run (default: all).")
    ap.add_argument("--out", default="benchmarks/results/demo_fps.json")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from edge_landmarks.bench.environment import environment
    from edge_landmarks.data.video import make_test_video
    from edge_landmarks.runtime.predictor import ACCURATE, default_model

    if args.accurate and args.model:
        ap.error("--accurate picks the shipped 112 px model: give it or --model, not both")
    model = str(args.model or (default_model(size=ACCURATE) if args.accurate else default_model()))
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one = make_test_video(tmp / "one.mp4", frames=args.frames)
        scenes = {
            "one face": lambda: one,
            "two faces": lambda: make_test_video(tmp / "two.mp4", frames=args.frames, together=True),
            "far face": lambda: far_video(one, tmp / "far.mp4"),
            "empty": lambda: empty_video(tmp / "empty.mp4", args.frames),
        }
        wanted = [s.strip() for s in args.scenes.split(",")] if args.scenes else list(scenes)
        unknown = [s for s in wanted if s not in scenes]
        if unknown:
            ap.error(f"unknown scene(s) {unknown}: choose from {', '.join(scenes)}")
        for scene in wanted:
            video = scenes[scene]()
            for draw in (False, True):
                runs = [run_case(model, video, args.frames, args.threads, draw, args.accurate)
                        for _ in range(args.repeats)]
                best = sorted(runs, key=lambda r: r["fps"])[len(runs) // 2]
                row = {"scene": scene, "drawn": draw, **best, "fps_runs": [r["fps"] for r in runs]}
                cases.append(row)
                ms = "  ".join(f"{k} {v:.3f}" for k, v in row["ms_per_frame"].items())
                print(f"{scene:10s} drawn={draw!s:5s} {row['fps']:7.1f} FPS (wall {row['wall_fps']:.1f}; runs "
                      f"{row['fps_runs']}), faces/frame {row['faces_per_frame']}, detections {row['detections']}, "
                      f"searches {row['searches']}, checks {row['checks']}; ms/frame: {ms}", flush=True)
    result = {"command": "python benchmarks/demo_fps.py " + " ".join(
                  f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')} {shlex.quote(str(v))}"
                  for k, v in vars(args).items() if v is not None and v is not False),
              "machine": environment(),
              "model": model, "flip": args.accurate, "threads": args.threads, "cases": cases}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

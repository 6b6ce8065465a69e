"""The shipped face detector on every demo68 photo: labelled faces found, missed, duplicates and other boxes.

    python benchmarks/detection_counts.py [--data demo68] [--split all] [--per-photo] [--mode photo|far|whole]
    python benchmarks/detection_counts.py --mode photo,far,whole --split all,test_wild \
        --out benchmarks/results/video_detector.json

demo68 keeps one copy of a photo per labelled face (``<photo>_f<k>.png`` with its ``.pts``), so the copies are
grouped back into photos and each photo is detected once. A labelled face is *found* when one detection overlaps its
landmarks' box (mapped as the predictor maps detections) by IoU 0.3 or more; every further detection on a found face
(IoU 0.3 or more, or half of the smaller box inside the other) is a *duplicate*; a detection on no labelled face is
*other* (a false face, or a real face the teacher did not label). Prints the totals, and each photo with a duplicate
or a miss.

``--mode``: ``photo`` (default) the photo detector (the short-range model on the whole frame and its tile pyramid,
what ``predict`` and ``faces()`` use), ``far`` the live video's one full-range pass with its second looks (what the
tracker uses while nobody is followed), ``whole`` the short-range model on the whole frame alone. Each prints the
mean milliseconds per photo, and the same three on one 640 x 480 frame (a test_wild photo resized; median of 30
calls). ``--out``: every mode and split's totals as JSON.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np


def _inside(a, b) -> float:
    """The part of the smaller box inside the other."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / small if small > 0 else 0.0


MODES = {"photo": {}, "far": {"far": True}, "whole": {"quick": True}}
"""How each mode calls the detector."""


def count(data: str = "demo68", split: str = "all", per_photo: bool = False, mode: str = "photo") -> dict:
    from edge_landmarks.data import load_dataset
    from edge_landmarks.data.transforms import face_box
    from edge_landmarks.runtime.detect import box_iou, create_detector, landmark_box

    photos: dict[str, list] = {}
    for s in load_dataset(data).split(split):
        key = re.sub(r"_f\d+$", "", str(Path(s.image_path).with_suffix("")))
        photos.setdefault(key, []).append(s)
    det = create_detector("blazeface")
    totals = {"photos": len(photos), "faces": 0, "found": 0, "missed": 0, "duplicates": 0, "other": 0}
    seconds = 0.0
    for key, faces in sorted(photos.items()):
        image = faces[0].load_image()
        t0 = time.perf_counter()
        dets = det(image, color="bgr", **MODES[mode])
        seconds += time.perf_counter() - t0
        boxes = [landmark_box(d) for d in dets]
        truths = [face_box(s.landmarks) for s in faces]
        found = missed = dup = other = 0
        used = set()
        for t in truths:
            hits = [i for i, b in enumerate(boxes) if box_iou(b, t) >= 0.3 or _inside(b, t) >= 0.5]
            found += bool(hits)
            missed += not hits
            dup += max(0, len(hits) - 1)
            used.update(hits)
        other = len(boxes) - len(used)
        for k, v in (("faces", len(truths)), ("found", found), ("missed", missed), ("duplicates", dup),
                     ("other", other)):
            totals[k] += v
        if per_photo or dup or missed:
            print(f"{Path(key).name:<40} faces {len(truths):>2}  found {found:>2}  missed {missed:>2}  "
                  f"duplicates {dup:>2}  other {other:>2}")
    totals["ms_per_photo"] = round(1000 * seconds / max(len(photos), 1), 2)
    return totals


def frame_ms(data: str = "demo68", repeats: int = 30) -> dict:
    """Median milliseconds of each mode on one 640 x 480 frame (the first test_wild photo, resized)."""
    import cv2

    from edge_landmarks.data import load_dataset
    from edge_landmarks.runtime.detect import create_detector

    frame = cv2.resize(load_dataset(data).split("test_wild")[0].load_image(), (640, 480))
    det = create_detector("blazeface")
    out = {}
    for mode in MODES:
        times = []
        for _ in range(repeats + 2):
            t0 = time.perf_counter()
            det(frame, color="bgr", **MODES[mode])
            times.append(time.perf_counter() - t0)
        out[mode] = round(1000 * float(np.median(times[2:])), 2)
    return out


def main() -> int:
    import json

    from edge_landmarks.bench.environment import environment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="demo68")
    ap.add_argument("--split", default="all", help="A split, or several comma-separated.")
    ap.add_argument("--per-photo", action="store_true")
    ap.add_argument("--mode", default="photo", help="photo, far or whole, or several comma-separated.")
    ap.add_argument("--out", default=None, help="Write every mode and split's totals to this JSON file.")
    args = ap.parse_args()
    rows = []
    for mode in args.mode.split(","):
        if mode not in MODES:
            ap.error(f"--mode {mode!r}: choose {', '.join(MODES)}")
        for split in args.split.split(","):
            totals = count(args.data, split, args.per_photo, mode)
            print(f"{mode} {split} totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()), flush=True)
            rows.append({"mode": mode, "split": split, **totals})
    ms = frame_ms(args.data)
    print("ms on one 640 x 480 frame (median of 30, one thread): " + ", ".join(f"{k} {v}" for k, v in ms.items()))
    if args.out:
        result = {"command": "python benchmarks/detection_counts.py " + " ".join(
                      f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v not in (None, False)),
                  "machine": environment(),
                  "rows": rows, "ms_640x480": ms}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0 if all(np.isfinite(r["faces"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

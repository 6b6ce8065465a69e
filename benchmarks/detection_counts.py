"""The shipped face detector on every demo68 photo: labelled faces found, missed, duplicates and other boxes.

    python benchmarks/detection_counts.py [--data demo68] [--split all] [--per-photo]

demo68 keeps one copy of a photo per labelled face (``<photo>_f<k>.png`` with its ``.pts``), so the copies are
grouped back into photos and each photo is detected once. A labelled face is *found* when one detection overlaps its
landmarks' box (mapped as the predictor maps detections) by IoU 0.3 or more; every further detection on a found face
(IoU 0.3 or more, or half of the smaller box inside the other) is a *duplicate*; a detection on no labelled face is
*other* (a false face, or a real face the teacher did not label). Prints the totals, and each photo with a duplicate
or a miss.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np


def _inside(a, b) -> float:
    """The part of the smaller box inside the other."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / small if small > 0 else 0.0


def count(data: str = "demo68", split: str = "all", per_photo: bool = False) -> dict:
    from edge_landmarks.data import load_dataset
    from edge_landmarks.data.transforms import face_box
    from edge_landmarks.runtime.detect import box_iou, create_detector, landmark_box

    photos: dict[str, list] = {}
    for s in load_dataset(data).split(split):
        key = re.sub(r"_f\d+$", "", str(Path(s.image_path).with_suffix("")))
        photos.setdefault(key, []).append(s)
    det = create_detector("blazeface")
    totals = {"photos": len(photos), "faces": 0, "found": 0, "missed": 0, "duplicates": 0, "other": 0}
    for key, faces in sorted(photos.items()):
        boxes = [landmark_box(d) for d in det(faces[0].load_image(), color="bgr")]
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
    return totals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="demo68")
    ap.add_argument("--split", default="all")
    ap.add_argument("--per-photo", action="store_true")
    args = ap.parse_args()
    totals = count(args.data, args.split, args.per_photo)
    print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return 0 if np.isfinite(totals["faces"]) else 1


if __name__ == "__main__":
    sys.exit(main())

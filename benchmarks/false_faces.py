"""False faces: what the detector finds where nobody is, and what the landmark model's second opinion turns away.

    python benchmarks/false_faces.py [--out benchmarks/results/false_faces.json]

Sets:
- ``demo68``: every photo of demo68 (one detection per photo; the copies per labelled face grouped back), each
  detection matched to a labelled face (IoU of the expected landmark box with the labels' box >= 0.3) or not;
- ``non-face``: scikit-image 0.26.0's sample images without a person's face (23: brick, coffee, coins, rocket,
  motorcycles, text ...; astronaut, camera and chelsea left out), read from its wheel (``pip download``);
- ``texture``: 40 smooth random textures with sensor noise (the empty scene of ``benchmarks/demo_fps.py``);
- ``texture video``: 8 of those as ``demo_fps.py`` films them (30 frames each, fresh sensor noise per frame,
  MPEG-4): the codec's frames score higher than the stills (0.754 at most against 0.73).

Each detection (whole-frame pass and full detector with its tile pyramid) gets the detector's score, the
disagreement of :func:`edge_landmarks.runtime.predictor.plausible_face` (the landmark model's eye centres, nose tip
and mouth centre against the detector's keypoints, over the box side) and whether the gate
(:func:`~edge_landmarks.runtime.predictor.confirm_face`: a second look at an unsure detection, then that check)
keeps it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

SKIMAGE = "scikit-image==0.26.0"
WITH_FACES = ("astronaut", "camera", "chelsea")


def disagreement(points: np.ndarray, det, box) -> float:
    p = np.asarray(points, dtype=np.float64)
    ours = np.array([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48:68].mean(0)])
    kps = np.asarray(det.keypoints, dtype=np.float64)[:4]
    side = max(box[2] - box[0], box[3] - box[1])
    return float(min(np.linalg.norm(ours - kps, axis=1).mean(), np.linalg.norm(ours[[1, 0, 2, 3]] - kps, axis=1).mean())
                 / side)


def non_face_images(folder: Path) -> dict[str, np.ndarray]:
    import cv2

    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", SKIMAGE, "-d", str(folder)],
                   check=True)
    (wheel,) = folder.glob("scikit_image-*.whl")
    images = {}
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            stem = Path(name).stem
            if re.fullmatch(r"skimage/data/[^/]+\.(png|jpg)", name) and stem not in WITH_FACES:
                img = cv2.imdecode(np.frombuffer(z.read(name), np.uint8), cv2.IMREAD_COLOR)
                if img is not None:
                    images[stem] = img
    return images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/false_faces.json")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from demo_fps import empty_texture, empty_video

    from edge_landmarks.data import load_dataset
    from edge_landmarks.data.transforms import face_box
    from edge_landmarks.runtime.detect import box_iou, create_detector, landmark_box
    from edge_landmarks.runtime.predictor import SURE_SCORE, LandmarkPredictor, confirm_face

    det = create_detector("blazeface")
    pred = LandmarkPredictor()
    rows = []

    def detect(set_name: str, name: str, img, truths=()):
        for quick in (True, False):
            for d in det(img, quick=quick):
                box = landmark_box(d)
                pts = pred.predict(img, box)
                rows.append({"set": set_name, "image": name, "pass": "whole frame" if quick else "full",
                             "face": any(box_iou(box, t) >= 0.3 for t in truths), "score": round(d.score, 4),
                             "disagreement": round(disagreement(pts, d, box), 4),
                             "kept": confirm_face(det, img, d, pred.predict, pred.scheme) is not None})

    photos: dict[str, list] = {}
    for s in load_dataset("demo68").split("all"):
        photos.setdefault(re.sub(r"_f\d+$", "", str(Path(s.image_path).with_suffix(""))), []).append(s)
    for key, faces in sorted(photos.items()):
        detect("demo68", Path(key).name, faces[0].load_image(), [face_box(s.landmarks) for s in faces])
    with tempfile.TemporaryDirectory() as tmp:
        for name, img in non_face_images(Path(tmp)).items():
            detect("non-face", name, img)
    for seed in range(40):
        detect("texture", f"texture{seed}", empty_texture(seed))
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(8):
            cap = cv2.VideoCapture(str(empty_video(Path(tmp) / f"empty{seed}.mp4", 30, seed)))
            for i in range(30):
                ok, frame = cap.read()
                if ok:
                    detect("texture video", f"empty{seed}.mp4#{i}", frame)
            cap.release()

    summary = []
    for set_name in ("demo68", "non-face", "texture", "texture video"):
        for pss in ("whole frame", "full"):
            for face in (True, False):
                sel = [r for r in rows if r["set"] == set_name and r["pass"] == pss and r["face"] == face]
                if not sel:
                    continue
                d = np.array([r["disagreement"] for r in sel])
                summary.append({"set": set_name, "pass": pss, "labelled face": face, "detections": len(sel),
                                "kept": sum(r["kept"] for r in sel),
                                "disagreement_median": round(float(np.median(d)), 4),
                                "disagreement_p95": round(float(np.percentile(d, 95)), 4),
                                "disagreement_max": round(float(d.max()), 4),
                                "score_min": min(r["score"] for r in sel),
                                "score_max": max(r["score"] for r in sel)})
    for s in summary:
        print(f"{s['set']:9s} {s['pass']:11s} face={s['labelled face']!s:5s} detections {s['detections']:4d}  kept "
              f"{s['kept']:4d}  disagreement median {s['disagreement_median']:.3f} p95 {s['disagreement_p95']:.3f} max "
              f"{s['disagreement_max']:.3f}  scores {s['score_min']:.3f}-{s['score_max']:.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    shown = [r for r in rows if (not r["face"] or r["score"] < SURE_SCORE or not r["kept"])
             and r["set"] != "texture video"]  # the rest: in the summary
    Path(args.out).write_text(json.dumps({"command": "python benchmarks/false_faces.py", "model": pred.path.name,
                                          "summary": summary, "unsure_or_false_detections": shown}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

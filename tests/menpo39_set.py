"""A small Menpo-style 39-point set for tests, written as Menpo 2D lays it out: .pts files beside their images.

Real Menpo profiles cannot be shipped or fetched, so this set re-labels demo68 faces: each face gets 39 points on one
side, built from its 68 dlib points with the correspondence OpenFace's Menpo-challenge scripts use (23 points are
68-point points; the contour and brow are resampled along the 68 points; the two chin-front points are placed
between the chin and the lower lip). These labels exist to drive the 39-point path (reader, training, export,
benchmark) on real images; they are not a conversion the toolkit offers, and accuracy on them means nothing.
Some 68-point files are mixed into the training folder, as in Menpo's own training set.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from edge_landmarks.data import load_dataset
from edge_landmarks.data.formats.pts import write_pts

# 0-based iBUG-68 indices for a face whose visible side is the subject's left (nose towards the image's left) ...
_LEFT = dict(jaw=list(range(16, 7, -1)), brow=[26, 25, 24, 23, 22], nose=[27, 28, 29, 30, 33, 35],
             eye=[43, 44, 45, 46, 47], mouth=[51, 52, 53, 54, 55, 56, 57], inner=[62, 63, 64, 65, 66])
# ... and its mirror, the subject's right side.
_RIGHT = dict(jaw=list(range(0, 9)), brow=[17, 18, 19, 20, 21], nose=[27, 28, 29, 30, 33, 31],
              eye=[38, 37, 36, 41, 40], mouth=[51, 50, 49, 48, 59, 58, 57], inner=[62, 61, 60, 67, 66])


def _resample(line: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length along a polyline."""
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    at = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, at[-1], n)
    return np.stack([np.interp(t, at, line[:, 0]), np.interp(t, at, line[:, 1])], axis=1)


def menpo39_from_68(pts: np.ndarray, side: str) -> np.ndarray:
    m = _LEFT if side == "left" else _RIGHT
    chin, lip = pts[m["jaw"][-1]], pts[57]
    out = np.concatenate([
        _resample(pts[m["jaw"]], 10),
        [chin + (lip - chin) / 3, chin + 2 * (lip - chin) / 3],
        _resample(pts[m["brow"]], 4),
        pts[m["nose"]], pts[m["eye"]], pts[m["mouth"]], pts[m["inner"]],
    ])
    assert out.shape == (39, 2)
    return out


def build(demo68: Path, root: Path, per_split: dict[str, int], mixed_68: int = 4) -> Path:
    """``root/{split}/*.png + .pts`` with 39 points, plus ``mixed_68`` 68-point files in train."""
    data = load_dataset(demo68)
    for split, n in per_split.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(list(data.split(split))[:n]):
            stem = f"{split}_{i:03d}"
            shutil.copyfile(s.image_path, folder / f"{stem}{Path(s.image_path).suffix}")
            write_pts(folder / f"{stem}.pts", menpo39_from_68(s.landmarks, "left" if i % 2 else "right"))
    for i, s in enumerate(list(data.split("train"))[-mixed_68:] if mixed_68 else []):
        stem = f"semifrontal_{i:03d}"
        shutil.copyfile(s.image_path, root / "train" / f"{stem}{Path(s.image_path).suffix}")
        write_pts(root / "train" / f"{stem}.pts", s.landmarks)
    return root

"""Layout replicas: small datasets in each seed's exact published layout and file syntax, made of real demo68 faces.

The real sets (300-W, WFLW, Kaggle, FFHQ, Menpo 2D) cannot be fetched or shipped, so the seed journeys
(``test_seed_journeys.py``) run on these. The faces and their points are demo68's (dlib's labels on photos that
packages ship); only the files around them copy the published sets, quirks included:

- **300-W** (``build_300w``): ``afw/``, ``helen/{trainset,testset}/``, ``lfpw/{trainset,testset}/``, ``ibug/``; images
  ``.jpg`` except LFPW's ``.png``; each with its 1-based ``.pts`` (``version: 1``, ``n_points:  68``, braces);
  Helen's ``<id>_1.jpg`` names; the private test set ``300W/01_Indoor/indoor_001.png`` and
  ``300W/02_Outdoor/outdoor_001.png``; and the dlib XML form ``labels_ibug_300W_train.xml`` (the stylesheet line,
  boxes as top/left/width/height, parts ``00``..``67``, an ``ignore='1'`` box on one image).
- **WFLW** (``build_wflw``): ``WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_{train,test}.txt``
  (196 coordinates, x_min y_min x_max y_max, six 0/1 attribute flags, the image path) with the images in
  ``WFLW_images/<event folder>/``, several faces of one photo on separate lines. The 98 points come from the 68 by
  :func:`wflw98_from_68` (contour midpoints, lower brows under the upper ones, eye midpoints, pupils as eye centres):
  a replica of the **format**, not an accuracy reference.
- **Kaggle** (``build_kaggle``): ``training.csv`` (the 30 keypoint columns in Kaggle's order, then ``Image`` with
  9,216 space-separated grey values of a 96 px face; two rows in three keep only the four points most rows of the
  real file have), ``test.csv`` (``ImageId,Image``) and ``IdLookupTable.csv`` (``RowId,ImageId,FeatureName,Location``).
- **FFHQ** (``build_ffhq``): ``images1024x1024/00000/00000.png`` ..., 1024 px colour images and no labels: the seed
  labelled them with dlib, as ``edge-lmk data label`` does.
- **Menpo 2D** (``build_menpo``): ``trainset/`` with 39-point profile and 68-point semi-frontal ``.pts`` files side by
  side (``menpo39_set.py`` makes the 39-point labels).
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from edge_landmarks.data import load_dataset
from edge_landmarks.data.formats.kaggle import COLUMNS
from edge_landmarks.data.formats.pts import write_pts
from edge_landmarks.data.transforms import crop_matrix, face_box
from edge_landmarks.schemes import convert

__all__ = ["build_300w", "build_wflw", "build_kaggle", "build_ffhq", "build_menpo", "wflw98_from_68"]


def _faces(demo68: Path, split: str, n: int, skip: int = 0) -> list:
    """``n`` faces of a demo68 split, colour photos first (they look like the seeds' in-the-wild faces)."""
    faces = sorted(load_dataset(demo68).split(split), key=lambda s: ("orl_" in s.image_path, s.image_path))
    return faces[skip:skip + n]


def _face_image(sample, size: int = 0, margin: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """The face with a margin around it (a square ``size`` px when given, else its own scale), and its points."""
    img = sample.load_image()
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    box = face_box(sample.landmarks)
    side = size or int(round(min(400, max(120, (box[2] - box[0]) * (1 + 2 * margin)))))
    m = crop_matrix(box, side, margin)
    crop = cv2.warpAffine(img, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    pts = sample.landmarks @ m[:, :2].T + m[:, 2]
    return crop, pts


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image), path


# --- 300-W ------------------------------------------------------------------------------------------------------

_300W = {  # folder: (demo68 split, faces, suffix, name pattern)
    "afw": ("train", 5, ".jpg", "{id}_{k}"),
    "helen/trainset": ("train", 7, ".jpg", "{id}_{k}"),
    "lfpw/trainset": ("train", 6, ".png", "image_{n:04d}"),
    "helen/testset": ("test", 4, ".jpg", "{id}_{k}"),
    "lfpw/testset": ("test", 4, ".png", "image_{n:04d}"),
    "ibug": ("test_wild", 5, ".jpg", "image_{n:03d}_{k}"),
}


def build_300w(demo68: Path, root: Path, private: bool = True, xml: bool = True) -> Path:
    """300-W as iBUG publishes it (see the module docstring); returns ``root``."""
    used: dict[str, int] = {}
    xml_images = []
    for folder, (split, n, suffix, pattern) in _300W.items():
        for i, s in enumerate(_faces(demo68, split, n, skip=used.get(split, 0))):
            # Helen's and AFW's files are <photo id>_<face>; two faces of one photo where the photo has two
            k = 2 if folder == "helen/trainset" and i == 1 else 1
            ident = 1_000_000 + 7919 * (i if k == 1 else i - 1)
            name = pattern.format(id=ident, k=k, n=i + 1)
            image, pts = _face_image(s)
            _write(root / folder / f"{name}{suffix}", image)
            write_pts(root / folder / f"{name}.pts", pts)
            if folder in ("afw", "helen/trainset", "lfpw/trainset"):
                xml_images.append((f"{folder}/{name}{suffix}", pts))
        used[split] = used.get(split, 0) + n
    if private:
        for folder, stem, (split, skip) in (("01_Indoor", "indoor", ("test", 8)),
                                            ("02_Outdoor", "outdoor", ("test_wild", 5))):
            for i, s in enumerate(_faces(demo68, split, 3, skip=skip)):
                image, pts = _face_image(s)
                _write(root / "300W" / folder / f"{stem}_{i + 1:03d}.png", image)
                write_pts(root / "300W" / folder / f"{stem}_{i + 1:03d}.pts", pts)
    if xml:
        _write_dlib_xml(root / "labels_ibug_300W_train.xml", xml_images)
    return root


def _write_dlib_xml(path: Path, images: list[tuple[str, np.ndarray]]) -> None:
    lines = ["<?xml version='1.0' encoding='ISO-8859-1'?>",
             "<?xml-stylesheet type='text/xsl' href='image_metadata_stylesheet.xsl'?>",
             "<dataset>", "<name>iBUG face point dataset - training images</name>",
             "<comment>This folder contains data downloaded from: http://ibug.doc.ic.ac.uk/resources/facial-point-"
             "annotations/ (a replica built from demo68 faces)</comment>", "<images>"]
    for k, (file, pts) in enumerate(images):
        x0, y0, x1, y1 = face_box(pts)
        lines.append(f"  <image file='{file}'>")
        lines.append(f"    <box top='{int(y0)}' left='{int(x0)}' width='{int(x1 - x0)}' height='{int(y1 - y0)}'>")
        lines += [f"      <part name='{j:02d}' x='{int(round(x))}' y='{int(round(y))}'/>" for j, (x, y) in
                  enumerate(pts)]
        lines.append("    </box>")
        if k == 0:  # dlib's lists mark faces too small or too cut to label as ignore boxes
            lines.append("    <box top='2' left='2' width='20' height='20' ignore='1'/>")
        lines.append("  </image>")
    lines += ["</images>", "</dataset>"]
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")


# --- WFLW -------------------------------------------------------------------------------------------------------

def wflw98_from_68(p: np.ndarray) -> np.ndarray:
    """98 WFLW points from 68 iBUG points, the inverse of the toolkit's 98 -> 68 table where that table has a point
    and an interpolation where it has none: odd contour points are midpoints; each lower brow runs under its upper
    brow (midpoints of neighbouring upper points, a sixth of the brow-to-eye distance lower); the eyes' two extra
    points are midpoints of the lids; the pupils are the eye centres. Approximate: a format replica only."""
    out = np.zeros((98, 2))
    out[0:33:2] = p[0:17]
    out[1:33:2] = (p[0:16] + p[1:17]) / 2
    for upper, eye, at in ((p[17:22], p[36:42], 33), (p[22:27], p[42:48], 42)):
        out[at:at + 5] = upper
        drop = (eye.mean(axis=0) - upper.mean(axis=0)) / 6
        out[at + 5:at + 9] = [(upper[4 - j] + upper[3 - j]) / 2 + drop for j in range(4)]
    out[51:60] = p[27:36]
    for eye, at in ((p[36:42], 60), (p[42:48], 68)):
        out[[at, at + 1, at + 3, at + 4, at + 5, at + 7]] = eye
        out[at + 2] = (eye[1] + eye[2]) / 2
        out[at + 6] = (eye[4] + eye[5]) / 2
    out[76:96] = p[48:68]
    out[96], out[97] = p[36:42].mean(axis=0), p[42:48].mean(axis=0)
    return out


_EVENTS = ("0--Parade", "12--Group", "37--Soccer", "51--Dresses")


def build_wflw(demo68: Path, root: Path, train: int = 20, test: int = 10) -> Path:
    """WFLW's annotation lists and image folders; returns the train list. Two faces share each group photo (the
    photo is two face crops side by side), as WFLW lists several faces of one image on separate lines."""
    lists = root / "WFLW_annotations" / "list_98pt_rect_attr_train_test"
    lists.mkdir(parents=True)
    for name, split, n, skip in (("train", "train", train, 0), ("test", "test_wild", test, 0)):
        rows = []
        faces = _faces(demo68, split, n, skip)
        for i in range(0, len(faces), 2):
            pair = [_face_image(s, size=160) for s in faces[i:i + 2]]
            image = np.concatenate([im for im, _ in pair], axis=1)
            event = _EVENTS[(i // 2) % len(_EVENTS)]
            rel = f"{event}/{event.split('--')[0]}_{event.split('--')[1]}_{name}_{i:03d}.jpg"
            _write(root / "WFLW_images" / rel, image)
            for j, (_, pts68) in enumerate(pair):
                pts = wflw98_from_68(pts68 + [160 * j, 0])
                x0, y0, x1, y1 = face_box(pts)
                attrs = [(i + j + a) % 5 == 0 for a in range(6)]  # each attribute set on some faces
                attrs[0] = attrs[0] or (name == "test" and i == 0)
                rows.append(" ".join([*(f"{v:.6f}" for v in pts.reshape(-1)), *(str(int(round(v))) for v in
                                                                              (x0, y0, x1, y1)),
                                      *(str(int(a)) for a in attrs), rel]))
        (lists / f"list_98pt_rect_attr_{name}.txt").write_text("\n".join(rows) + "\n")
    return lists / "list_98pt_rect_attr_train.txt"


# --- Kaggle facial keypoints ------------------------------------------------------------------------------------

_MOST_ROWS = ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")
"""The four points that most rows of Kaggle's training.csv have (about 7,000 of 7,049; all 15: 2,140)."""


def build_kaggle(demo68: Path, root: Path, train: int = 30, test: int = 6) -> Path:
    """``training.csv``, ``test.csv`` and ``IdLookupTable.csv``; returns ``training.csv``."""
    root.mkdir(parents=True, exist_ok=True)

    def grey96(s):
        image, pts = _face_image(s, size=96, margin=0.25)
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), convert(pts, "ibug68", "kaggle15")

    with open(root / "training.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([*COLUMNS, "Image"])
        for i, s in enumerate(_faces(demo68, "train", train)):
            image, pts = grey96(s)
            keep = {c for c in COLUMNS if i % 3 == 0 or c.rsplit("_", 1)[0] in _MOST_ROWS}
            values = [repr(float(v)) if c in keep else "" for c, v in zip(COLUMNS, pts.reshape(-1), strict=True)]
            w.writerow([*values, " ".join(map(str, image.reshape(-1)))])
    with open(root / "test.csv", "w", newline="") as f, open(root / "IdLookupTable.csv", "w", newline="") as g:
        w, lookup = csv.writer(f, lineterminator="\n"), csv.writer(g, lineterminator="\n")
        w.writerow(["ImageId", "Image"])
        lookup.writerow(["RowId", "ImageId", "FeatureName", "Location"])
        row_id = 1
        for i, s in enumerate(_faces(demo68, "test", test)):
            image, _ = grey96(s)
            w.writerow([i + 1, " ".join(map(str, image.reshape(-1)))])
            features = COLUMNS if i % 2 == 0 else [c for c in COLUMNS if c.rsplit("_", 1)[0] in _MOST_ROWS]
            for c in features:  # Kaggle asks for all 30 values of some images, 8 of others
                lookup.writerow([row_id, i + 1, c, ""])
                row_id += 1
    return root / "training.csv"


# --- FFHQ -------------------------------------------------------------------------------------------------------

def build_ffhq(demo68: Path, root: Path, n: int = 12) -> Path:
    """``images1024x1024/<thousands>/<index>.png``: 1024 px colour faces, no labels (the seed labels with dlib)."""
    images = root / "images1024x1024"
    faces = _faces(demo68, "train", n)
    for i, s in enumerate(faces):
        image, _ = _face_image(s, size=1024, margin=0.45)
        _write(images / f"{(i // 6) * 1000:05d}" / f"{(i // 6) * 1000 + i % 6:05d}.png", image)
    return images


# --- Menpo 2D ---------------------------------------------------------------------------------------------------

def build_menpo(demo68: Path, root: Path, n39: int = 16, n68: int = 6) -> Path:
    """Menpo 2D's ``trainset/``: ``aflw__face_<n>.jpg`` with 39-point profile and 68-point semi-frontal ``.pts``."""
    from menpo39_set import menpo39_from_68

    folder = root / "trainset"
    for i, s in enumerate(_faces(demo68, "train", n39 + n68)):
        image, pts = _face_image(s)
        stem = f"aflw__face_{39800 + i}"
        _write(folder / f"{stem}.jpg", image)
        write_pts(folder / f"{stem}.pts", menpo39_from_68(pts, "left" if i % 2 else "right") if i < n39 else pts)
    return root

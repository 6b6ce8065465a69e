"""iBUG ``.pts`` files beside their images, and 300-W style trees (afw/, helen/, ibug/, lfpw/).

A ``.pts`` file (coordinates 1-based, as iBUG publishes them):

    version: 1
    n_points:  68
    {
    446.000 91.000
    ...
    }

Menpo 2D (trainset/ with 68-point semi-frontal and 39-point profile files side by side) reads as one set of mixed
schemes: a model trains and is scored on the faces of its own scheme (see ``LandmarkSet.for_scheme``).

300-W splits by subset: train = afw + helen/trainset + lfpw/trainset; common test = helen/testset + lfpw/testset;
challenge = ibug; full = common + challenge; the private 300-W test (01_Indoor, 02_Outdoor) is ``test300w``. A folder
with train/ val/ test/ (and test_wild/) sub-folders (the demo set) uses those as splits; Menpo 2D's trainset/ and
testset/ are train and test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import DataFormatError
from ..samples import IMAGE_SUFFIXES, LandmarkSet, Sample, read_text

__all__ = ["read_pts", "write_pts", "read", "sniff"]

_SCHEME_BY_COUNT = {68: "ibug68", 98: "wflw98", 15: "kaggle15", 12: "eyes12", 39: "menpo39"}


def read_pts(path: str | Path) -> np.ndarray:
    """Read one ``.pts`` file as (K, 2) 0-based pixel coordinates."""
    path = Path(path)
    lines = read_text(path).splitlines()  # handles CRLF and CR
    n_points = None
    start = None
    for i, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            start = i
            break
        key, sep, value = line.partition(":")
        if not sep:
            raise DataFormatError(path, f"expected 'key: value' or '{{', got {line[:40]!r}", i)
        if key.strip() == "n_points":
            try:
                n_points = int(value.strip())
            except ValueError:
                raise DataFormatError(path, f"n_points is not an integer: {value.strip()!r}", i) from None
            if n_points <= 0:
                raise DataFormatError(path, f"n_points must be positive, got {n_points}", i)
    if n_points is None:
        raise DataFormatError(path, "no 'n_points:' header")
    if start is None:
        raise DataFormatError(path, "no '{' opening the point list")
    points = []
    for i in range(start + 1, len(lines) + 1):
        line = lines[i - 1].strip()
        if not line:
            continue
        if line.startswith("}"):
            break
        parts = line.replace(",", " ").split()
        if len(parts) != 2:
            raise DataFormatError(path, f"expected 'x y', got {line[:40]!r}", i)
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise DataFormatError(path, f"coordinates are not numbers: {line[:40]!r}", i) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise DataFormatError(path, f"coordinate is NaN or infinite: {line[:40]!r}", i)
        points.append((x - 1.0, y - 1.0))
    else:
        raise DataFormatError(path, "no '}' closing the point list", len(lines))
    if len(points) != n_points:
        raise DataFormatError(path, f"n_points says {n_points} but the file lists {len(points)} points")
    return np.asarray(points, dtype=np.float64)


def write_pts(path: str | Path, points: np.ndarray) -> None:
    """Write (K, 2) 0-based points as a 1-based ``.pts`` file (atomically)."""
    from ...files import atomic_write_text

    lines = ["version: 1", f"n_points:  {len(points)}", "{"]
    lines += [f"{x + 1:.3f} {y + 1:.3f}" for x, y in np.asarray(points, dtype=np.float64)]
    lines.append("}")
    atomic_write_text(path, "\n".join(lines) + "\n")


def _image_beside(pts: Path) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for cand in (pts.with_suffix(suffix), pts.with_suffix(suffix.upper())):
            if cand.is_file():
                return cand
    return None


def _split_of(rel: Path) -> tuple[str, str]:
    """(split, subset) for a file's path relative to the dataset root."""
    parts = [p.lower() for p in rel.parts[:-1]]
    if not parts:
        return "all", ""
    top = parts[0]
    sub = parts[1] if len(parts) > 1 else ""
    if top in ("train", "val", "test", "test_wild"):
        return top, top
    if top in ("trainset", "testset"):  # Menpo 2D's folders
        return top[:-3], top
    if top == "afw":
        return "train", "afw"
    if top in ("helen", "lfpw"):
        if sub == "trainset":
            return "train", f"{top}/trainset"
        if sub == "testset":
            return "common+full", f"{top}/testset"
    if top == "ibug":
        return "challenge+full", "ibug"
    if top in ("01_indoor", "02_outdoor"):
        return "test300w", top
    if "300w" in top:  # the archive's own folder: 300W/01_Indoor, 300W/02_Outdoor
        return "test300w", sub if sub in ("01_indoor", "02_outdoor") else top
    return "all", "/".join(parts)


def sniff(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() == ".pts"
    return path.is_dir() and next(path.rglob("*.pts"), None) is not None


def read(path: str | Path, skip_bad: bool = False) -> LandmarkSet:
    """Read one ``.pts`` file or every ``.pts`` under a folder (with its image beside it)."""
    root = Path(path)
    files = [root] if root.is_file() else sorted(root.rglob("*.pts"))
    out = LandmarkSet(fmt="pts", root=str(root))
    for f in files:
        with out.entry(skip_bad):
            pts = read_pts(f)
            image = _image_beside(f)
            if image is None:
                raise DataFormatError(f, "no image beside this .pts file (same name, .jpg/.png/...)")
            scheme = _SCHEME_BY_COUNT.get(len(pts))
            if scheme is None:
                raise DataFormatError(f, f"{len(pts)} points match no known scheme "
                                         f"({', '.join(map(str, _SCHEME_BY_COUNT))})")
            split, subset = _split_of(f.relative_to(root)) if root.is_dir() else ("all", "")
            out.append(Sample(pts, scheme, image_path=str(image), split=split, subset=subset, source=str(f)))
    return out.require_any(".pts files")

"""Datasets: readers for the published formats, the crop dataset, augmentations and the demo set.

``load_dataset(path)`` detects the format (iBUG .pts folders and 300-W trees, dlib/300-W XML, WFLW lists,
Kaggle CSVs, or the name ``demo68``) and returns a :class:`LandmarkSet` of :class:`Sample`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, EdgeLandmarksError
from .formats import dlib_xml, kaggle, pts, wflw
from .samples import LandmarkSet, Sample, read_image

__all__ = ["load_dataset", "check_dataset", "resolve_dataset_path", "Sample", "LandmarkSet", "DataFormatError",
           "validate_sample", "READERS"]

READERS = {"dlib-xml": dlib_xml, "wflw": wflw, "kaggle": kaggle, "pts": pts}
"""Dataset readers by name (``load_dataset(fmt=...)``); order matters: the first whose sniff() accepts a path reads
it. Not to be confused with :data:`edge_landmarks.formats.FORMATS`, the model file formats."""


def resolve_dataset_path(path: str | Path) -> Path:
    """A path, or a dataset name: ``demo68`` is the demo set in the cache (built by ``edge-lmk data demo``)."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise EdgeLandmarksError(f"a dataset is a path or a name (str or Path), not {str(path)[:60]!r}")
    p = Path(path).expanduser()
    if p.exists():
        return p
    if str(path) == "demo68":
        from .demo import demo_root, is_built

        root = demo_root()
        if not is_built(root):
            raise DataFormatError(root, "the demo set is not built yet: run 'edge-lmk data demo'")
        return root
    raise DataFormatError(p, "no such file or folder (and not a known dataset name such as 'demo68')")


def load_dataset(path: str | Path, split: str | None = None, skip_bad: bool = False, fmt: str | None = None,
                 **kwargs) -> LandmarkSet:
    """Read a dataset in any supported format; ``skip_bad`` counts bad entries in ``.skipped`` instead of raising."""
    p = resolve_dataset_path(path)
    if fmt is not None:
        if fmt not in READERS:
            raise ValueError(f"unknown dataset format {fmt!r}; known: {', '.join(READERS)}")
        reader = READERS[fmt]
    else:
        reader = next((m for m in READERS.values() if m.sniff(p)), None)
        if reader is None:
            raise DataFormatError(p, "not a dataset this tool can read (iBUG .pts folder, 300-W XML, WFLW list, "
                                     "Kaggle CSV)")
    return reader.read(p, skip_bad=skip_bad, **kwargs).split(split)


def validate_sample(sample: Sample, image: np.ndarray) -> None:
    """Checks that need the image: the box and the points must lie (mostly) inside it."""
    h, w = image.shape[:2]
    where = sample.source or sample.image_path or "<sample>"
    if sample.box is not None:
        x0, y0, x1, y1 = sample.box
        ix = max(0.0, min(x1, w) - max(x0, 0.0))
        iy = max(0.0, min(y1, h) - max(y0, 0.0))
        area = (x1 - x0) * (y1 - y0)
        if area <= 0 or ix * iy < 0.5 * area:
            raise DataFormatError(where, f"box ({x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f}) lies mostly outside the "
                                         f"{w}x{h} image")
    pts_ok = sample.landmarks[sample.mask]
    if len(pts_ok):
        margin = 0.5 * max(w, h)
        if (pts_ok < -margin).any() or (pts_ok[:, 0] > w + margin).any() or (pts_ok[:, 1] > h + margin).any():
            raise DataFormatError(where, f"landmarks lie far outside the {w}x{h} image")


@dataclass
class CheckReport:
    path: str
    format: str
    counts: dict[str, int]
    schemes: dict[str, int]
    partial: int
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.path}: format {self.format}"]
        lines += [f"  split {name:<10} {n:>7} faces" for name, n in sorted(self.counts.items())]
        lines += [f"  scheme {name:<9} {n:>7} faces" for name, n in sorted(self.schemes.items())]
        if self.partial:
            lines.append(f"  {self.partial} faces have missing points (masked in training)")
        if self.errors:
            lines.append(f"  {len(self.errors)} bad entries:")
            lines += [f"    {e}" for e in self.errors[:20]]
            if len(self.errors) > 20:
                lines.append(f"    ... and {len(self.errors) - 20} more")
        else:
            lines.append("  no problems found")
        return "\n".join(lines)


def check_dataset(path: str | Path, skip_bad: bool = True, load_images: bool = True) -> CheckReport:
    """Read every annotation and image; collect every problem (or stop at the first with ``skip_bad=False``)."""
    data = load_dataset(path, skip_bad=skip_bad)
    errors = [str(e) for e in data.skipped]
    good = []
    for s in data:
        try:
            if load_images:
                validate_sample(s, s.load_image())
            good.append(s)
        except DataFormatError as exc:
            if not skip_bad:
                raise
            errors.append(str(exc))
    kept = LandmarkSet(good, data.format, data.root)
    schemes: dict[str, int] = {}
    for s in good:
        schemes[s.scheme] = schemes.get(s.scheme, 0) + 1
    partial = sum(1 for s in good if not s.mask.all())
    return CheckReport(str(path), data.format, kept.splits(), schemes, partial, errors)


_ = read_image  # re-exported for users: edge_landmarks.data.read_image

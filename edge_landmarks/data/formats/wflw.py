"""WFLW annotation lists: ``list_98pt_rect_attr_{train,test}.txt``.

Each line: 196 coordinates (x0 y0 ... x97 y97, 0-based pixels), 4 box values (x_min y_min x_max y_max), 6 binary
attributes (pose, expression, illumination, make-up, occlusion, blur) and the image path relative to WFLW_images/.
Images are looked for in ``--images`` if given, else ``WFLW_images/`` next to or above the list file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import DataFormatError
from ..samples import LandmarkSet, Sample, read_text

__all__ = ["read", "sniff", "ATTRIBUTES"]

ATTRIBUTES = ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
_FIELDS = 196 + 4 + 6 + 1


def sniff(path: Path) -> bool:
    if not (path.is_file() and path.suffix.lower() == ".txt"):
        return False
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace").split()
    return len(first) == _FIELDS or "98pt" in path.name


def _images_root(path: Path) -> Path:
    for parent in [path.parent, *path.parents][:4]:
        for name in ("WFLW_images", "images"):
            if (parent / name).is_dir():
                return parent / name
    return path.parent


def read(path: str | Path, skip_bad: bool = False, images: str | Path | None = None) -> LandmarkSet:
    path = Path(path)
    root = Path(images) if images else _images_root(path)
    split = "test" if "test" in path.name else "train" if "train" in path.name else "all"
    out = LandmarkSet(fmt="wflw", root=str(path))
    text = read_text(path)
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        with out.entry(skip_bad):
            parts = line.split()
            if len(parts) != _FIELDS:
                raise DataFormatError(path, f"expected {_FIELDS} fields (196 coords, 4 box, 6 attributes, "
                                            f"image), got {len(parts)}", i)
            try:
                nums = [float(v) for v in parts[:200]]
                attrs = [int(v) for v in parts[200:206]]
            except ValueError:
                raise DataFormatError(path, "a coordinate, box value or attribute is not a number", i) from None
            if not all(math.isfinite(v) for v in nums):
                raise DataFormatError(path, "a coordinate or box value is NaN or infinite", i)
            x0, y0, x1, y1 = nums[196:200]
            if x1 <= x0 or y1 <= y0:
                raise DataFormatError(path, f"box ({x0}, {y0}, {x1}, {y1}) is empty", i)
            pts = np.asarray(nums[:196], dtype=np.float64).reshape(98, 2)
            out.append(Sample(
                pts, "wflw98", image_path=str(root / parts[206]), box=(x0, y0, x1, y1), split=split,
                subset=split, source=f"{path}:{i}", attributes=dict(zip(ATTRIBUTES, attrs, strict=True)),
            ))
    return out.require_any("annotation lines")

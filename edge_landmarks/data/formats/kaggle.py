"""Kaggle facial-keypoints CSVs: ``training.csv`` (30 coordinate columns, many empty, then ``Image``) and
``test.csv`` (``ImageId``, ``Image``). ``Image`` is 9216 space-separated grey values of a 96x96 face.

Missing coordinates are NaN with the point's ``mask`` False (training then ignores those points); a row whose
``x`` is given without its ``y`` is an error. ``test.csv`` rows have no landmarks (all NaN).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from ...errors import DataFormatError
from ...schemes import KAGGLE15_NAMES
from ..samples import LandmarkSet, Sample, read_text

__all__ = ["read", "sniff", "COLUMNS"]

COLUMNS = tuple(f"{n}_{axis}" for n in KAGGLE15_NAMES for axis in ("x", "y"))


def sniff(path: Path) -> bool:
    if not (path.is_file() and path.suffix.lower() == ".csv"):
        return False
    with open(path, "rb") as f:
        head = f.readline().decode("utf-8-sig", "replace")
    return "Image" in head


def _pixels(path: Path, line: int, text: str) -> np.ndarray:
    values = text.split()
    if len(values) != 96 * 96:
        raise DataFormatError(path, f"Image has {len(values)} values, expected 9216 (96x96)", line)
    try:
        arr = np.array(values, dtype=np.float64)
    except ValueError:
        raise DataFormatError(path, "Image holds a value that is not a number", line) from None
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
        raise DataFormatError(path, "Image values must be 0..255", line)
    return arr.astype(np.uint8).reshape(96, 96)


def read(path: str | Path, skip_bad: bool = False) -> LandmarkSet:
    path = Path(path)
    out = LandmarkSet(fmt="kaggle", root=str(path))
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or "Image" not in header:
        raise DataFormatError(path, "no header with an 'Image' column", 1)
    has_points = COLUMNS[0] in header
    if has_points:
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise DataFormatError(path, f"header lacks columns: {', '.join(missing[:4])}", 1)
    col = {name: i for i, name in enumerate(header)}
    split = "train" if has_points else "test"
    row_no = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataFormatError(path, f"malformed CSV: {exc}", reader.line_num) from None
        row_no += 1
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        with out.entry(skip_bad):
            if len(row) != len(header):
                raise DataFormatError(path, f"row has {len(row)} columns, the header {len(header)}", line)
            image = _pixels(path, line, row[col["Image"]])
            pts = np.full((15, 2), np.nan)
            if has_points:
                for k in range(15):
                    xs, ys = row[col[COLUMNS[2 * k]]].strip(), row[col[COLUMNS[2 * k + 1]]].strip()
                    if bool(xs) != bool(ys):
                        raise DataFormatError(path, f"{KAGGLE15_NAMES[k]} has only one of x and y", line)
                    if xs:
                        try:
                            x, y = float(xs), float(ys)
                        except ValueError:
                            raise DataFormatError(path, f"{KAGGLE15_NAMES[k]} is not a number", line) from None
                        if not (math.isfinite(x) and math.isfinite(y)):
                            raise DataFormatError(path, f"{KAGGLE15_NAMES[k]} is NaN or infinite", line)
                        pts[k] = (x, y)
            ident = row[col["ImageId"]] if "ImageId" in col else str(row_no)
            out.append(Sample(pts, "kaggle15", image=image, box=None, split=split,
                              subset=split, source=f"{path}:{line}", attributes={"id": ident, "whole_image": True}))
    return out.require_any("data rows")

"""Each seed's evaluation protocol: which faces are scored, which numbers are reported, and the seed's own row.

- ``300w`` (300-W trees and XML lists): common, challenge, full and the private test set (``test300w``);
  inter-ocular NME in %, FR@0.08 and AUC@0.08 (the 300-W convention).
- ``wflw`` (WFLW lists): test and its six attribute subsets (pose, expression, illumination, make-up, occlusion,
  blur); inter-ocular NME in %, FR@0.1 in %, AUC@0.1.
- ``kaggle`` (Kaggle CSVs): RMSE in pixels of the 96 px face on the labelled rows held out (below); an unlabelled
  ``test.csv`` becomes Kaggle's submission file.
- ``menpo`` (39-point Menpo 2D models): NME normalised by the box diagonal (Menpo's), FR and AUC at 0.1.
- ``default`` (anything else, demo68): test (else val, else every face); NME in the scheme's normalisation, FR and
  AUC at 0.1.

Where the data has no test split of its own (Kaggle's ``training.csv``, a WFLW or 300-W training list, the FFHQ
layout), a checkpoint's run recorded the faces it held out for validation (``data.holdout``): those are scored, as
split ``val (held out)``, never faces the model trained on.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataFormatError, EdgeLandmarksError

__all__ = ["Protocol", "protocol_for", "attribute_subsets", "protocol_rows", "seed_rows", "kaggle_submission",
           "HELD_OUT_NAME"]

HELD_OUT_NAME = "val (held out)"


@dataclass(frozen=True)
class Protocol:
    name: str
    threshold: float
    """FR and AUC threshold."""
    percent: bool = True
    """NME and FR in percent, as the seed's tables print them."""
    rmse: bool = False
    """RMSE in pixels is the headline (Kaggle)."""


PROTOCOLS = {
    "300w": Protocol("300w", 0.08),
    "wflw": Protocol("wflw", 0.1),
    "kaggle": Protocol("kaggle", 0.1, percent=False, rmse=True),
    "menpo": Protocol("menpo", 0.1),
    "default": Protocol("default", 0.1, percent=False),
}


def protocol_for(dataset, scheme: str) -> Protocol:
    """The protocol of a dataset (its reader and splits) for a model of ``scheme``."""
    names = dataset.splits()
    if dataset.format == "kaggle":
        return PROTOCOLS["kaggle"]
    if dataset.format == "wflw":
        return PROTOCOLS["wflw"]
    if scheme == "menpo39":
        return PROTOCOLS["menpo"]
    if {"common", "challenge", "full"} & set(names) or "test300w" in names:
        return PROTOCOLS["300w"]
    return PROTOCOLS["default"]


def attribute_subsets(samples) -> dict[str, list]:
    """WFLW's six attribute subsets of ``samples`` (faces flagged 1), in WFLW's order."""
    from .data.formats.wflw import ATTRIBUTES

    return {a: [s for s in samples if s.attributes.get(a)] for a in ATTRIBUTES}


def _key(threshold: float) -> str:
    from .metrics import metric_suffix

    return metric_suffix(threshold)


def protocol_rows(protocol: Protocol, splits: dict[str, dict]) -> tuple[list[str], list[list]]:
    """The table of ``eval`` in the protocol's terms: headers and one row per scored split."""
    t = _key(protocol.threshold)
    if protocol.rmse:
        return ["split", "faces", "RMSE px", "NME"], [[name, m["faces"], _fmt(m["rmse_px"], 4), _fmt(m["nme"], 4)]
                                                       for name, m in splits.items()]
    scale, unit = (100.0, " %") if protocol.percent else (1.0, "")
    headers = ["split", "faces", f"NME{unit}", f"FR@{protocol.threshold:g}{unit}", f"AUC@{protocol.threshold:g}"]
    rows = [[name, m["faces"], _fmt(scale * m["nme"], 2 if protocol.percent else 4),
             _fmt(scale * m[f"fr_{t}"], 2 if protocol.percent else 3), _fmt(m[f"auc_{t}"], 4)]
            for name, m in splits.items()]
    return headers, rows


def _fmt(v, digits: int) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"


def seed_rows(protocol: Protocol, reference: dict, recipe: str) -> tuple[list[str], list[list]]:
    """The seed's published numbers (a recipe's ``seed_reference``) in the protocol's columns, or a line saying it
    published none."""
    ref = reference or {}
    headers = ["", "split", "NME %" if protocol.percent else "NME", "FR %", "AUC", "RMSE px"]
    rows: list[list] = []
    if isinstance(ref.get("published_nme_percent"), dict):  # the 300W table
        rows = [[f"seed ({recipe})", k, _fmt(v, 2), "-", "-", "-"] for k, v in ref["published_nme_percent"].items()]
    elif isinstance(ref.get("baseline"), dict) and "nme_percent" in ref["baseline"]:  # WFLW
        b = ref["baseline"]
        rows = [[f"seed ({recipe})", "test", _fmt(b.get("nme_percent"), 2), _fmt(b.get("fr_percent"), 2),
                 _fmt(b.get("auc"), 4), "-"]]
    elif "validation_rmse" in ref:  # Kaggle
        rows = [[f"seed ({recipe})", "validation", "-", "-", "-", _fmt(ref["validation_rmse"], 4)],
                [f"seed ({recipe})", "Kaggle test", "-", "-", "-", _fmt(ref.get("kaggle_test_rmse"), 4)]]
    return headers, rows


def our_rows_for_seed(protocol: Protocol, splits: dict[str, dict]) -> list[list]:
    """Our rows in :func:`seed_rows`' columns."""
    t = _key(protocol.threshold)
    scale = 100.0 if protocol.percent else 1.0
    if protocol.rmse:  # FR and AUC are not Kaggle's numbers
        return [["ours", name, _fmt(m["nme"], 4), "-", "-", _fmt(m["rmse_px"], 4)] for name, m in splits.items()]
    return [["ours", name, _fmt(scale * m["nme"], 2 if protocol.percent else 4),
             _fmt(100.0 * m[f"fr_{t}"], 2), _fmt(m[f"auc_{t}"], 4), _fmt(m["rmse_px"], 4)]
            for name, m in splits.items()]


def kaggle_submission(test_csv: str | Path, pred: np.ndarray, samples, out: Path) -> Path:
    """Kaggle's submission file (``RowId,Location``) from ``IdLookupTable.csv`` beside ``test.csv``: each row asks
    for one feature of one image; locations are clipped to the 96 px image, as Kaggle scores them."""
    from .data.formats.kaggle import COLUMNS
    from .data.samples import read_text
    from .files import atomic_write_text

    lookup = Path(test_csv).with_name("IdLookupTable.csv")
    if not lookup.is_file():
        raise DataFormatError(lookup, "not found: Kaggle's IdLookupTable.csv must sit beside test.csv to write a "
                                      "submission")
    by_id = {str(s.attributes.get("id")): pred[i] for i, s in enumerate(samples)}
    reader = csv.reader(io.StringIO(read_text(lookup), newline=""))
    header = next(reader, None)
    if header is None or not {"RowId", "ImageId", "FeatureName"} <= set(header):
        raise DataFormatError(lookup, "expected the header RowId,ImageId,FeatureName,Location", 1)
    col = {n: i for i, n in enumerate(header)}
    lines = ["RowId,Location"]
    for row in reader:
        if not row:
            continue
        line = reader.line_num
        if len(row) != len(header):
            raise DataFormatError(lookup, f"row has {len(row)} columns, the header {len(header)}", line)
        image, feature = row[col["ImageId"]], row[col["FeatureName"]]
        if image not in by_id:
            raise DataFormatError(lookup, f"ImageId {image} is not in {Path(test_csv).name}", line)
        if feature not in COLUMNS:
            raise DataFormatError(lookup, f"unknown FeatureName {feature!r}", line)
        k = COLUMNS.index(feature)
        value = float(np.clip(by_id[image][k // 2][k % 2], 0.0, 96.0))
        lines.append(f"{row[col['RowId']]},{value:.4f}")
    if len(lines) == 1:
        raise EdgeLandmarksError(f"{lookup}: no rows")
    path = out / "submission.csv"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path

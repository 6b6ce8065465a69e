"""The one validation rule for training on any layout: the data's ``val`` split, else a seeded, stated part of the
training split held out.

300-W, WFLW and Kaggle publish no validation split (300-W's test sets are common / challenge / full, WFLW's is
``test``, Kaggle's ``test.csv`` has no labels), and the FFHQ project's folders have no split at all. A run then holds
out ``HOLDOUT_FRACTION`` of its training faces:

- **seeded**: the recipe's ``seed`` picks them, so a resumed run validates on the same faces;
- **stratified by subset** (300-W: afw, helen/trainset, lfpw/trainset; WFLW and Kaggle: one subset): each subset
  gives its share, at least one face overall;
- **by image, never by face**: faces of one photo (WFLW lists one line per face; Helen's ``<id>_1`` and ``<id>_2``
  files) stay on one side, so no validation face shares a photo with a training face;
- **never a test split**: only faces of the training split are held out.

``val_split`` (a recipe key, ``--val-split`` on the CLI) overrides it: a split name, or a fraction such as 0.2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, EdgeLandmarksError
from .samples import LandmarkSet

__all__ = ["HOLDOUT_FRACTION", "Validation", "training_and_validation", "training_split", "parse_val_split"]

HOLDOUT_FRACTION = 0.1
"""The part of the training split held out for validation where the data has no ``val`` split."""


@dataclass
class Validation:
    """How the validation faces were chosen, printed by the trainer and recorded in the run folder."""

    rule: str
    """One line: ``split 'val'`` or ``10 % of split 'train' held out (seed 0, stratified by subset)``."""
    faces: list[str] = field(default_factory=list)
    """Each validation face's source (``file`` or ``file:line``), for a held-out part."""
    per_subset: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"rule": self.rule, "faces": self.faces, "per_subset": self.per_subset}


def parse_val_split(value) -> str | float:
    """``auto``, a split name, or a fraction in (0, 0.5] (a number or its text); anything else is one error."""
    if isinstance(value, bool):
        raise EdgeLandmarksError(f"val_split must be 'auto', a split name or a fraction, not {value!r}")
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\s*[0-9.eE+-]+\s*", value)):
        try:
            f = float(value)
        except ValueError:
            raise EdgeLandmarksError(f"val_split {value!r} is not a number") from None
        if not (math.isfinite(f) and 0 < f <= 0.5):
            raise EdgeLandmarksError(f"val_split {value!r}: a fraction must lie in (0, 0.5]")
        return f
    if not isinstance(value, str) or not value.strip():
        raise EdgeLandmarksError(f"val_split must be 'auto', a split name or a fraction, not {value!r}")
    return value.strip()


def _photo(sample) -> str:
    """The photo a face comes from: faces of one photo are held out together (one image file; and the files that
    300-W's Helen, AFW and iBUG and ``edge-lmk data label`` name ``<photo>_<k>`` or ``<photo>_f<k>``)."""
    if sample.image_path:
        p = Path(sample.image_path)
        return str(p.with_name(re.sub(r"_f?\d$", "", p.stem)))
    return sample.source


def training_split(data: LandmarkSet, train_split: str = "train") -> tuple[LandmarkSet, str]:
    """The faces of ``train_split`` and its name; a set with no splits at all trains on every face."""
    names = data.splits()
    if train_split in names:
        return data.split(train_split), train_split
    if train_split == "train" and set(names) == {"all"}:  # one folder, no splits (the FFHQ project's layout)
        return data, "all"
    raise DataFormatError(data.root, f"no split {train_split!r} to train on; splits here: "
                                     f"{', '.join(sorted(names)) or 'none'}")


def training_and_validation(data: LandmarkSet, train_split: str = "train", val_split: str | float = "auto",
                            seed: int = 0) -> tuple[LandmarkSet, LandmarkSet, Validation]:
    """The training faces, the validation faces and how they were chosen (see the module's docstring)."""
    val_split = parse_val_split(val_split)
    train, train_name = training_split(data, train_split)
    names = data.splits()
    if isinstance(val_split, str) and val_split != "auto":
        if val_split not in names:
            raise DataFormatError(data.root, f"no split {val_split!r} to validate on; splits here: "
                                             f"{', '.join(sorted(names))}. Pass --val-split with one of them, or a "
                                             f"fraction of {train_name!r} to hold out (e.g. --val-split 0.1)")
        if val_split in (train_name, "all"):
            raise EdgeLandmarksError(f"val_split {val_split!r} would validate on the training faces; pass another "
                                     "split or a fraction to hold out (e.g. --val-split 0.1)")
        return train, data.split(val_split), Validation(f"split {val_split!r}")
    if val_split == "auto" and "val" in names:
        return train, data.split("val"), Validation("split 'val'")
    fraction = HOLDOUT_FRACTION if val_split == "auto" else val_split
    return _hold_out(train, train_name, fraction, seed)


def _hold_out(train: LandmarkSet, train_name: str, fraction: float, seed: int):
    photos: dict[str, list[int]] = {}
    for i, s in enumerate(train):
        photos.setdefault(_photo(s), []).append(i)
    by_subset: dict[str, list[str]] = {}
    for key in sorted(photos):
        by_subset.setdefault(train[photos[key][0]].subset or train_name, []).append(key)
    if len(photos) < 2:
        raise EdgeLandmarksError(f"split {train_name!r} has {len(train)} face(s) from {len(photos)} photo(s): too few "
                                 "to hold out validation faces; pass --val-split NAME with a split of its own")
    rng = np.random.default_rng([seed, 0x5E1D])
    chosen: dict[str, list[str]] = {}
    for subset, keys in sorted(by_subset.items()):
        k = min(int(round(fraction * len(keys))), len(keys) - 1)
        chosen[subset] = [keys[j] for j in sorted(rng.permutation(len(keys))[:k])]
    if not any(chosen.values()):  # tiny sets: one photo of the largest subset
        subset = max(by_subset, key=lambda n: len(by_subset[n]))
        chosen[subset] = [by_subset[subset][int(rng.integers(len(by_subset[subset])))]]
    held = {i for keys in chosen.values() for key in keys for i in photos[key]}
    val = LandmarkSet([s for i, s in enumerate(train) if i in held], train.format, train.root, train.skipped)
    kept = LandmarkSet([s for i, s in enumerate(train) if i not in held], train.format, train.root, train.skipped)
    strat = ", stratified by subset" if len(by_subset) > 1 else ""
    rule = (f"{fraction:.0%} of split {train_name!r} held out (seed {seed}{strat}, whole photos): {len(val)} of "
            f"{len(train)} faces validate, {len(kept)} train")
    per_subset = {name: sum(len(photos[k]) for k in keys) for name, keys in chosen.items() if keys}
    return kept, val, Validation(rule, [s.source or s.image_path or "" for s in val], per_subset)


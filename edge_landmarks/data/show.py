"""Pictures of landmarks: a grid of dataset samples, and the point drawing shared with predict and the demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import refuse_overwrite, write_image
from . import transforms as T

__all__ = ["draw_points", "save_grid", "REGION_COLOURS"]

# BGR colours per facial region of iBUG 68 (jaw, brows, nose, eyes, mouth).
REGION_COLOURS = {
    "jaw": (200, 200, 200), "brow": (0, 200, 255), "nose": (0, 255, 0), "eye": (255, 128, 0), "mouth": (0, 0, 255),
}


def _colour(name: str) -> tuple[int, int, int]:
    for key, colour in REGION_COLOURS.items():
        if key in name or (key == "jaw" and name.startswith("contour")):
            return colour
    return (255, 0, 255)


def draw_points(image: np.ndarray, points: np.ndarray, scheme: str | None = None, radius: int = 1) -> np.ndarray:
    """Draw (K, 2) points on a copy of a BGR (or grey) image, coloured by region when the scheme is known."""
    import cv2

    from ..schemes import get_scheme

    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    names = get_scheme(scheme).names if scheme else None
    for i, (x, y) in enumerate(np.asarray(points, dtype=np.float64)):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        colour = _colour(names[i]) if names else (0, 255, 0)
        cv2.circle(out, (int(round(x)), int(round(y))), radius, colour, -1, lineType=cv2.LINE_AA)
    return out


def save_grid(path: str, out: str, split: str | None = None, num: int = 16, cell: int = 192,
              force: bool = False, model_config=None, augmentation=None, seed: int = 0) -> Path:
    """Crop ``num`` faces (evenly spread over the set), draw their points and tile them into one PNG; with a
    ``model_config`` and an ``augmentation`` (a recipe's: the CLI resolves it), as training crops them (epoch 0,
    ``seed``) at the model's input size, enlarged."""
    import cv2

    from . import load_dataset
    from .dataset import make_crop

    refuse_overwrite(out, force)
    data = load_dataset(path, split=split)
    if not data:
        raise ValueError(f"{path}: no samples to draw")
    idx = np.linspace(0, len(data) - 1, min(num, len(data))).round().astype(int)
    crops, scheme = (None, None) if model_config is None else _augmented_crops(model_config, augmentation, seed,
                                                                                 data, idx)
    tiles = []
    for n, i in enumerate(idx):
        s = data[i]
        if crops is None:
            c = make_crop(s, s.load_image(), cell, 0.3, s.scheme)
        else:  # enlarged from the model's input size to the cell
            size = crops[n]["image"].shape[0]
            c = {"image": cv2.resize(crops[n]["image"], (cell, cell), interpolation=cv2.INTER_LINEAR),
                 "points": T.from_normalized(T.to_normalized(crops[n]["points"], size), cell)}
        tile = draw_points(c["image"], c["points"], scheme or s.scheme, radius=2)
        label = Path(s.image_path or s.source).stem[:22]
        cv2.putText(tile, label, (3, cell - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    cols = int(np.ceil(np.sqrt(len(tiles))))
    rows = int(np.ceil(len(tiles) / cols))
    grid = np.zeros((rows * cell, cols * cell, 3), np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        grid[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = tile
    return write_image(out, grid)


def _augmented_crops(mcfg, augmentation, seed: int, data, idx) -> tuple[list[dict], str]:
    """The crops training sees in epoch 0 (``seed``, the model's size, margin and scheme), and the scheme of their
    points."""
    from .dataset import LandmarkCrops

    ds = LandmarkCrops(list(data), mcfg, augment=augmentation, seed=seed, cache=False)
    crops = [ds.crop(int(i), epoch=0) for i in idx]
    for c in crops:  # the model's channel order (RGB) back to OpenCV's for drawing
        c["image"] = c["image"][..., ::-1].copy() if c["image"].ndim == 3 else c["image"]
    return crops, mcfg.scheme

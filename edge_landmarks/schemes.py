"""Landmark schemes as data: points, names, the left/right flip permutation, NME normalisation and conversions.

Every scheme uses image conventions: "left" and "right" in point names are the *subject's* sides, as in the
published annotations (iBUG 68: points 36-41 are the subject's right eye, on the left of the image).
A conversion is a table: each target point is the mean of a group of source points, so 68 -> 15 (Kaggle eye
centres are means of six eye points) and 98 -> 68 are data, not code.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LandmarkScheme", "get_scheme", "list_schemes", "convert", "SCHEMES"]


@dataclass(frozen=True)
class LandmarkScheme:
    name: str
    names: tuple[str, ...]
    flip_perm: tuple[int, ...]
    """``flip_perm[i]`` is the index of the point that point ``i`` becomes after a horizontal flip."""
    outer_eye_corners: tuple[int, int]
    """Indices for inter-ocular NME (the outer eye corners)."""
    pupils: tuple[tuple[int, ...], tuple[int, ...]]
    """Point groups whose means are the two pupils, for inter-pupil NME."""
    conversions: dict[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)
    """Target scheme name -> one group of source indices per target point."""
    description: str = ""

    @property
    def num_points(self) -> int:
        return len(self.names)

    def __post_init__(self) -> None:
        n = len(self.names)
        perm = self.flip_perm
        if sorted(perm) != list(range(n)):
            raise ValueError(f"scheme {self.name}: flip_perm is not a permutation of {n} points")
        if any(perm[perm[i]] != i for i in range(n)):
            raise ValueError(f"scheme {self.name}: flip_perm is not an involution")

    def flip(self, points: np.ndarray, width: float) -> np.ndarray:
        """Mirror (K, 2) points in an image of ``width`` pixels (pixel-centre convention) and swap left/right."""
        out = np.asarray(points, dtype=np.float64).copy()
        out[:, 0] = (width - 1) - out[:, 0]
        return out[list(self.flip_perm)]

    def interocular(self, points: np.ndarray) -> np.ndarray:
        """Outer-eye-corner distance of (..., K, 2) points."""
        i, j = self.outer_eye_corners
        return np.linalg.norm(points[..., i, :] - points[..., j, :], axis=-1)

    def interpupil(self, points: np.ndarray) -> np.ndarray:
        a = points[..., list(self.pupils[0]), :].mean(axis=-2)
        b = points[..., list(self.pupils[1]), :].mean(axis=-2)
        return np.linalg.norm(a - b, axis=-1)


def _pairs_to_perm(n: int, pairs: list[tuple[int, int]]) -> tuple[int, ...]:
    perm = list(range(n))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return tuple(perm)


# --- iBUG 68 -------------------------------------------------------------------------------------------------
_IBUG68_NAMES = (
    [f"jaw_{i}" for i in range(17)]
    + [f"right_brow_{i}" for i in range(5)]
    + [f"left_brow_{i}" for i in range(5)]
    + [f"nose_bridge_{i}" for i in range(4)]
    + [f"nose_base_{i}" for i in range(5)]
    + [f"right_eye_{i}" for i in range(6)]
    + [f"left_eye_{i}" for i in range(6)]
    + [f"mouth_outer_{i}" for i in range(12)]
    + [f"mouth_inner_{i}" for i in range(8)]
)
_IBUG68_PAIRS = (
    [(i, 16 - i) for i in range(8)]
    + [(17 + i, 26 - i) for i in range(5)]
    + [(31, 35), (32, 34)]
    + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    + [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]
    + [(60, 64), (61, 63), (65, 67)]
)

# Kaggle facial-keypoints columns, in the order of training.csv (x, y per point).
KAGGLE15_NAMES = (
    "left_eye_center", "right_eye_center", "left_eye_inner_corner", "left_eye_outer_corner",
    "right_eye_inner_corner", "right_eye_outer_corner", "left_eyebrow_inner_end", "left_eyebrow_outer_end",
    "right_eyebrow_inner_end", "right_eyebrow_outer_end", "nose_tip", "mouth_left_corner", "mouth_right_corner",
    "mouth_center_top_lip", "mouth_center_bottom_lip",
)
_IBUG68_TO_KAGGLE15 = (
    (42, 43, 44, 45, 46, 47), (36, 37, 38, 39, 40, 41), (42,), (45,), (39,), (36,),
    (22,), (26,), (21,), (17,), (30,), (54,), (48,), (51,), (57,),
)
_IBUG68_TO_EYES12 = tuple((i,) for i in range(36, 48))

# --- WFLW 98 -------------------------------------------------------------------------------------------------
_WFLW98_NAMES = (
    [f"contour_{i}" for i in range(33)]
    + [f"right_brow_upper_{i}" for i in range(5)]
    + [f"right_brow_lower_{i}" for i in range(4)]
    + [f"left_brow_upper_{i}" for i in range(5)]
    + [f"left_brow_lower_{i}" for i in range(4)]
    + [f"nose_bridge_{i}" for i in range(4)]
    + [f"nose_base_{i}" for i in range(5)]
    + [f"right_eye_{i}" for i in range(8)]
    + [f"left_eye_{i}" for i in range(8)]
    + [f"mouth_outer_{i}" for i in range(12)]
    + [f"mouth_inner_{i}" for i in range(8)]
    + ["right_pupil", "left_pupil"]
)
_WFLW98_PAIRS = (
    [(i, 32 - i) for i in range(16)]
    + [(33, 46), (34, 45), (35, 44), (36, 43), (37, 42), (38, 50), (39, 49), (40, 48), (41, 47)]
    + [(55, 59), (56, 58)]
    + [(60, 72), (61, 71), (62, 70), (63, 69), (64, 68), (65, 75), (66, 74), (67, 73)]
    + [(76, 82), (77, 81), (78, 80), (83, 87), (84, 86)]
    + [(88, 92), (89, 91), (93, 95), (96, 97)]
)
_WFLW98_TO_IBUG68 = tuple(
    (i,)
    for i in (
        list(range(0, 33, 2))
        + [33, 34, 35, 36, 37, 42, 43, 44, 45, 46]
        + list(range(51, 60))
        + [60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75]
        + list(range(76, 96))
    )
)

SCHEMES: dict[str, LandmarkScheme] = {
    "ibug68": LandmarkScheme(
        name="ibug68",
        names=tuple(_IBUG68_NAMES),
        flip_perm=_pairs_to_perm(68, _IBUG68_PAIRS),
        outer_eye_corners=(36, 45),
        pupils=(tuple(range(36, 42)), tuple(range(42, 48))),
        conversions={"kaggle15": _IBUG68_TO_KAGGLE15, "eyes12": _IBUG68_TO_EYES12},
        description="iBUG 300-W / Multi-PIE 68 points (also dlib's shape predictor)",
    ),
    "wflw98": LandmarkScheme(
        name="wflw98",
        names=tuple(_WFLW98_NAMES),
        flip_perm=_pairs_to_perm(98, _WFLW98_PAIRS),
        outer_eye_corners=(60, 72),
        pupils=((96,), (97,)),
        conversions={"ibug68": _WFLW98_TO_IBUG68},
        description="WFLW 98 points (contour 33, brows 18, nose 9, eyes 16, mouth 20, pupils 2)",
    ),
    "kaggle15": LandmarkScheme(
        name="kaggle15",
        names=KAGGLE15_NAMES,
        flip_perm=_pairs_to_perm(15, [(0, 1), (2, 4), (3, 5), (6, 8), (7, 9), (11, 12)]),
        outer_eye_corners=(3, 5),
        pupils=((0,), (1,)),
        description="Kaggle facial keypoints detection, 15 points on 96x96 grey faces",
    ),
    "eyes12": LandmarkScheme(
        name="eyes12",
        names=tuple(_IBUG68_NAMES[36:48]),
        flip_perm=_pairs_to_perm(12, [(0, 9), (1, 8), (2, 7), (3, 6), (4, 11), (5, 10)]),
        outer_eye_corners=(0, 9),
        pupils=(tuple(range(0, 6)), tuple(range(6, 12))),
        description="the 12 eye points of iBUG 68 (36-47)",
    ),
}


def list_schemes() -> list[str]:
    return sorted(SCHEMES)


def get_scheme(name: str | LandmarkScheme) -> LandmarkScheme:
    if isinstance(name, LandmarkScheme):
        return name
    try:
        return SCHEMES[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), SCHEMES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown landmark scheme {name!r}{hint} (known: {', '.join(list_schemes())})") from None


def convert(points: np.ndarray, source: str | LandmarkScheme, target: str | LandmarkScheme) -> np.ndarray:
    """Convert (..., K, 2) points from one scheme to another (identity when they are the same).

    Conversions compose: wflw98 -> kaggle15 goes through ibug68.
    """
    src, dst = get_scheme(source), get_scheme(target)
    points = np.asarray(points, dtype=np.float64)
    if points.shape[-2] != src.num_points:
        raise ValueError(f"{src.name} has {src.num_points} points, got an array of shape {points.shape}")
    if src.name == dst.name:
        return points.copy()
    if dst.name in src.conversions:
        groups = src.conversions[dst.name]
        return np.stack([points[..., list(g), :].mean(axis=-2) for g in groups], axis=-2)
    for mid in src.conversions:
        if dst.name in SCHEMES[mid].conversions:
            return convert(convert(points, src, mid), mid, dst)
    raise ValueError(f"no conversion from {src.name} to {dst.name}")

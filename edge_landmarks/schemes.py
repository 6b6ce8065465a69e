"""Landmark schemes as data: points, names, the left/right flip permutation, NME normalisation and conversions.

Every scheme uses image conventions: "left" and "right" in point names are the *subject's* sides, as in the
published annotations (iBUG 68: points 36-41 are the subject's right eye, on the left of the image).
A conversion is a table: each target point is the mean of a group of source points, so 68 -> 15 (Kaggle eye
centres are means of six eye points) and 98 -> 68 are data, not code.

Each scheme names the NME normalisation its benchmark uses (``nme_norm``): inter-ocular for 68 / 98 / 15 / 12 points,
the ground-truth box's diagonal for Menpo's 39-point profile faces, which show one eye.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LandmarkScheme", "get_scheme", "list_schemes", "convert", "convertible", "SCHEMES"]


@dataclass(frozen=True)
class LandmarkScheme:
    name: str
    names: tuple[str, ...]
    flip_perm: tuple[int, ...]
    """``flip_perm[i]`` is the index of the point that point ``i`` becomes after a horizontal flip."""
    outer_eye_corners: tuple[int, int] | None
    """Indices for inter-ocular NME (the outer eye corners); None for a scheme that shows one eye."""
    pupils: tuple[tuple[int, ...], tuple[int, ...]] | None
    """Point groups whose means are the two pupils, for inter-pupil NME; None for a scheme that shows one eye."""
    conversions: dict[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)
    """Target scheme name -> one group of source indices per target point."""
    description: str = ""
    nme_norm: str = "interocular"
    """The NME normalisation of this scheme's benchmark (see :func:`edge_landmarks.metrics.nme`)."""
    regions: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """Facial regions (jaw, brows, nose, eyes, mouth) -> their points, for NME per region."""

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
        """Outer-eye-corner distance of (..., K, 2) points (NaN for a scheme with one eye)."""
        if self.outer_eye_corners is None:
            return np.full(np.shape(points)[:-2], np.nan)
        i, j = self.outer_eye_corners
        return np.linalg.norm(points[..., i, :] - points[..., j, :], axis=-1)

    def interpupil(self, points: np.ndarray) -> np.ndarray:
        if self.pupils is None:
            return np.full(np.shape(points)[:-2], np.nan)
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

# --- Menpo 39 (profile faces) -----------------------------------------------------------------------------------
# The Menpo 2D benchmark's markup for profile faces (Multi-PIE's profile configuration, in the order of the
# benchmark's own figure, jiankangdeng/MenpoBenchmark): only the side that faces the camera is marked, so the names
# say "visible", not left or right. A left-facing and a right-facing profile use the same order (the benchmark's
# figure shows them as mirror images with the same numbers), so a horizontal flip keeps every index: a flipped left
# profile is a right profile, and flip_perm is the identity.
_MENPO39_NAMES = (
    [f"contour_{i}" for i in range(10)]          # 0-9: from the top of the jaw by the ear down to the chin
    + ["chin_front_0", "chin_front_1"]           # 10-11: up the front of the chin towards the lower lip
    + [f"brow_{i}" for i in range(4)]            # 12-15: the visible brow, outer end to inner end
    + [f"nose_bridge_{i}" for i in range(4)]     # 16-19: bridge from the top to the tip (19)
    + ["nose_below_tip", "nostril_wing"]         # 20-21
    + ["eye_upper_0", "eye_upper_1", "eye_outer_corner", "eye_lower_0", "eye_lower_1"]  # 22-26: no inner corner
    + [f"mouth_outer_{i}" for i in range(7)]     # 27-33: upper-lip middle (27), corner (30), lower-lip middle (33)
    + [f"mouth_inner_{i}" for i in range(5)]     # 34-38: upper middle (34), inner corner (36), lower middle (38)
)

SCHEMES: dict[str, LandmarkScheme] = {
    "ibug68": LandmarkScheme(
        name="ibug68",
        names=tuple(_IBUG68_NAMES),
        flip_perm=_pairs_to_perm(68, _IBUG68_PAIRS),
        outer_eye_corners=(36, 45),
        pupils=(tuple(range(36, 42)), tuple(range(42, 48))),
        conversions={"kaggle15": _IBUG68_TO_KAGGLE15, "eyes12": _IBUG68_TO_EYES12},
        regions={"jaw": tuple(range(17)), "brows": tuple(range(17, 27)), "nose": tuple(range(27, 36)),
                 "eyes": tuple(range(36, 48)), "mouth": tuple(range(48, 68))},
        description="iBUG 300-W / Multi-PIE 68 points (also dlib's shape predictor)",
    ),
    "wflw98": LandmarkScheme(
        name="wflw98",
        names=tuple(_WFLW98_NAMES),
        flip_perm=_pairs_to_perm(98, _WFLW98_PAIRS),
        outer_eye_corners=(60, 72),
        pupils=((96,), (97,)),
        conversions={"ibug68": _WFLW98_TO_IBUG68},
        regions={"jaw": tuple(range(33)), "brows": tuple(range(33, 51)), "nose": tuple(range(51, 60)),
                 "eyes": (*range(60, 76), 96, 97), "mouth": tuple(range(76, 96))},
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
    # No conversion to or from menpo39: of its 39 points, 23 are iBUG-68 points of the visible side, 14 lie between
    # 68 points (the contour and brow are resampled) and 2 (the front of the chin) have none, so any table would
    # invent points; and 68 -> 39 would also need the facing side, which the 68 points do not carry.
    "menpo39": LandmarkScheme(
        name="menpo39",
        names=tuple(_MENPO39_NAMES),
        flip_perm=tuple(range(39)),
        outer_eye_corners=None,
        pupils=None,
        description="Menpo 2D benchmark's 39 points for profile faces (one visible side; flip keeps the order)",
        nme_norm="diagonal",
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


def convertible(source: str | LandmarkScheme, target: str | LandmarkScheme) -> bool:
    """Whether :func:`convert` has a path from ``source`` to ``target`` (the same scheme counts)."""
    src, dst = get_scheme(source), get_scheme(target)
    return src.name == dst.name or dst.name in src.conversions or any(
        dst.name in SCHEMES[mid].conversions for mid in src.conversions)


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

"""Crop geometry and augmentations that move the points with the pixels (numpy + OpenCV; no torch needed).

Every geometric step is a 2x3 affine matrix in pixel-index coordinates (the centre of the top-left pixel is
(0, 0)): the face crop, random scale/rotation/shift about the crop centre, and the horizontal flip. They are composed
into one matrix, so an image is warped once and its points are moved by the same matrix. A flip also reorders the
points with the scheme's left/right permutation.

The normalised frame of a crop of side S: ``u = (x_crop + 0.5) / S``, so 0 is the left edge of the first pixel and 1
the right edge of the last. :func:`to_image` inverts it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..schemes import get_scheme

__all__ = [
    "face_box", "crop_matrix", "compose", "invert", "apply", "warp", "to_normalized", "from_normalized",
    "to_image", "flip_matrix", "similarity_about_centre", "Augment", "augment_matrix", "photometric",
    "perspective_matrix", "apply_homography",
]


def face_box(landmarks: np.ndarray, box=None, mask=None) -> tuple[float, float, float, float]:
    """The annotation's box if there is one, else the bounding box of the visible points."""
    if box is not None:
        return tuple(float(v) for v in box)
    pts = landmarks if mask is None else landmarks[mask]
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        raise ValueError("no visible landmarks to derive a face box from")
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def crop_matrix(box, size: int, margin: float = 0.25) -> np.ndarray:
    """Square crop of side ``max(w, h) * (1 + margin)`` centred on ``box``, resized to ``size`` pixels."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0, 1.0) * (1.0 + margin)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    s = size / side
    # crop continuous coordinate = s * (image continuous - left edge); continuous = index + 0.5
    left, top = cx - side / 2.0 + 0.5, cy - side / 2.0 + 0.5
    return np.array([[s, 0.0, s * (0.5 - left) - 0.5], [0.0, s, s * (0.5 - top) - 0.5]])


def compose(*mats: np.ndarray) -> np.ndarray:
    """``compose(A, B)`` applies A first, then B."""
    out = np.eye(3)
    for m in mats:
        out = np.vstack([m, [0.0, 0.0, 1.0]]) @ out
    return out[:2]


def invert(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine matrix, in closed form (np.linalg.inv on the 3x3 costs more than the rest of a
    56 px prediction's mapping back)."""
    (a, b, c), (d, e, f) = m
    det = a * e - b * d
    return np.array([[e, -b, b * f - c * e], [-d, a, c * d - a * f]]) / det


def apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Move points by a 2x3 affine matrix, or by a 3x3 homography (:func:`apply_homography`)."""
    if m.shape[0] == 3:
        return apply_homography(m, points)
    pts = np.asarray(points, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def warp(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` x ``size`` crop through a 2x3 affine matrix or a 3x3 homography, bilinear, black outside."""
    import cv2

    if m.shape[0] == 3:
        return cv2.warpPerspective(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def to_normalized(points_crop: np.ndarray, size: int) -> np.ndarray:
    return (np.asarray(points_crop, dtype=np.float64) + 0.5) / size


def from_normalized(u: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(u, dtype=np.float64) * size - 0.5


def to_image(u: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Normalised crop coordinates back to image pixels, for the crop made by matrix ``m``."""
    return apply(invert(m), from_normalized(u, size))


def flip_matrix(size: int) -> np.ndarray:
    return np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0]])


def similarity_about_centre(size: int, angle_deg: float = 0.0, scale: float = 1.0, tx: float = 0.0,
                            ty: float = 0.0) -> np.ndarray:
    """Rotate (counter-clockwise on screen for positive angles) and scale about the crop centre, then shift."""
    c = (size - 1) / 2.0
    a = math.radians(angle_deg)
    cos, sin = scale * math.cos(a), scale * math.sin(a)
    r = np.array([[cos, sin], [-sin, cos]])
    t = np.array([c, c]) - r @ np.array([c, c]) + np.array([tx, ty])
    return np.hstack([r, t[:, None]])


@dataclass(frozen=True)
class Augment:
    """Training augmentation settings; probabilities are per sample."""

    scale: tuple[float, float] = (0.9, 1.1)
    shift: float = 0.05
    """Largest shift as a fraction of the crop side."""
    rotate: float = 30.0
    rotate_p: float = 0.5
    flip_p: float = 0.5
    color_p: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    noise_p: float = 0.2
    noise_std: float = 6.0
    blur_p: float = 0.1
    gray_p: float = 0.1
    tint_p: float = 0.0
    """Colour a grey face: per-channel gains in 1 +- ``tint`` (grey <-> colour, with ``gray_p``)."""
    tint: float = 0.2
    jpeg_p: float = 0.0
    """JPEG artefacts at a quality drawn from ``jpeg_quality``."""
    jpeg_quality: tuple[int, int] = (30, 90)
    occlude_p: float = 0.0
    """A random grey or noise rectangle over part of the face (hands, hair, glasses); points stay the truth."""
    occlude_size: tuple[float, float] = (0.1, 0.35)
    """Its sides as fractions of the crop side."""
    profile_p: float = 0.0
    """Face profiling (68-point faces): turn the face in depth by up to +-``profile_yaw`` degrees and re-render it
    (:mod:`edge_landmarks.data.profile`), the way 300W-LP made large poses from 300-W."""
    profile_yaw: float = 30.0
    perspective_p: float = 0.0
    """A yaw/pitch-like perspective warp of the crop: one side up to ``perspective`` (a fraction) nearer."""
    perspective: float = 0.15


def augment_matrix(rng: np.random.Generator, aug: Augment, size: int) -> tuple[np.ndarray, bool]:
    """A random similarity about the crop centre, and whether to flip (apply after the crop matrix)."""
    angle = rng.uniform(-aug.rotate, aug.rotate) if rng.random() < aug.rotate_p else 0.0
    scale = rng.uniform(*aug.scale)
    tx, ty = rng.uniform(-aug.shift, aug.shift, size=2) * size
    m = similarity_about_centre(size, angle, scale, tx, ty)
    flip = rng.random() < aug.flip_p
    if flip:
        m = compose(m, flip_matrix(size))
    return m, flip


def perspective_matrix(rng: np.random.Generator, aug: Augment, size: int) -> np.ndarray:
    """A random 3x3 homography about the crop centre that brings one side nearer (yaw) and the top or bottom
    (pitch), as a turned plane looks through a lens; drawn only when ``perspective_p`` is on."""
    c = (size - 1) / 2.0
    px, py = rng.uniform(-aug.perspective, aug.perspective, size=2) / size
    centre = np.array([[1.0, 0.0, -c], [0.0, 1.0, -c], [0.0, 0.0, 1.0]])
    # about the centre, which stays fixed with its scale unchanged; the sides' scales differ by about 1 +- perspective
    return np.linalg.inv(centre) @ np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [px, py, 1.0]]) @ centre


def apply_homography(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    q = pts @ h[:2, :2].T + h[:2, 2]
    return q / (pts @ h[2, :2] + h[2, 2])[:, None]


def flip_points_order(points: np.ndarray, scheme: str) -> np.ndarray:
    """Reorder points after a mirror so that each index names the same facial part again."""
    return np.asarray(points)[list(get_scheme(scheme).flip_perm)]


def photometric(rng: np.random.Generator, aug: Augment, image: np.ndarray) -> np.ndarray:
    """Tint, colour jitter, brightness/contrast, Gaussian noise, blur, grey, occluding patches and JPEG artefacts;
    points are untouched. The steps off by default draw no random numbers, so older recipes augment as before."""
    import cv2

    img = image.astype(np.float32)
    if img.ndim == 3 and aug.tint_p and rng.random() < aug.tint_p:
        img = img * (1.0 + rng.uniform(-aug.tint, aug.tint, size=3)).astype(np.float32)
    if rng.random() < aug.color_p:
        img = img * (1.0 + rng.uniform(-aug.contrast, aug.contrast)) + 255.0 * rng.uniform(-aug.brightness,
                                                                                            aug.brightness) * 0.5
        if img.ndim == 3 and aug.saturation > 0:
            grey = img.mean(axis=2, keepdims=True)
            img = grey + (img - grey) * (1.0 + rng.uniform(-aug.saturation, aug.saturation))
    if rng.random() < aug.noise_p:
        img = img + rng.normal(0.0, aug.noise_std, size=img.shape).astype(np.float32)
    img = np.clip(img, 0, 255)
    if rng.random() < aug.blur_p:
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    if img.ndim == 3 and rng.random() < aug.gray_p:
        img = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
    img = img.astype(np.uint8)
    if aug.occlude_p and rng.random() < aug.occlude_p:
        h, w = img.shape[:2]
        rh, rw = (int(round(rng.uniform(*aug.occlude_size) * n)) for n in (h, w))
        y, x = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
        patch = rng.integers(0, 256, size=(rh, rw) + img.shape[2:]) if rng.random() < 0.5 else \
            np.full((rh, rw) + img.shape[2:], rng.integers(0, 256))
        img[y:y + rh, x:x + rw] = patch.astype(np.uint8)
    if aug.jpeg_p and rng.random() < aug.jpeg_p:
        q = int(rng.integers(aug.jpeg_quality[0], aug.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).reshape(img.shape)
    return img


def to_channels(image: np.ndarray, in_chans: int) -> np.ndarray:
    """BGR or grey uint8 -> grey (H, W) for 1 channel, RGB (H, W, 3) for 3."""
    import cv2

    if in_chans == 1:
        return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_input(crop: np.ndarray, mean, std) -> np.ndarray:
    """uint8 crop (H, W) or (H, W, C) in the model's channel order -> normalised float32 (C, H, W)."""
    x = crop.astype(np.float32) / 255.0
    if x.ndim == 2:
        x = x[:, :, None]
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))

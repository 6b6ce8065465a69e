"""Face profiling: turn a face in depth (yaw) and re-render it, the way 300W-LP was made from 300-W.

The 68 points are lifted to 3D with the depth of a mean face (fitted to them by a scaled orthographic camera), turned
about the head's vertical axis and projected again; the picture follows through a piecewise-affine warp over a mesh
of the 68 points, forehead and head-outline anchors (which turn with the head) and a fixed outer frame (background).
Triangles are painted far to near and those turned away are dropped, so the near cheek covers the far one. The moved
points are exact for the mesh and, within the +-30 degrees used here, close to where a labeller would put them (the
far jaw line stays near the visible cheek edge). numpy + OpenCV; no torch.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["MEAN_SHAPE_68", "fit_pose", "head_pose", "turn_points", "profile"]

# The 68-point 3D mean face of insightface 2.1 (insightface/data/objects/meanshape_68.pkl in its wheel; MIT licence,
# (c) insightface.ai). x right, y down, z towards the viewer, in units of about half the face width.
MEAN_SHAPE_68 = np.array([
    (-0.627, -0.293, -0.314), (-0.600, -0.123, -0.292), (-0.571, 0.051, -0.255), (-0.534, 0.213, -0.187),
    (-0.480, 0.351, -0.048), (-0.396, 0.447, 0.073), (-0.299, 0.511, 0.180), (-0.188, 0.554, 0.317),
    (0.001, 0.584, 0.388), (0.191, 0.552, 0.314), (0.327, 0.490, 0.168), (0.440, 0.402, 0.036),
    (0.507, 0.312, -0.095), (0.541, 0.205, -0.203), (0.574, 0.046, -0.284), (0.599, -0.146, -0.296),
    (0.628, -0.308, -0.302), (-0.475, -0.438, 0.236), (-0.417, -0.472, 0.316), (-0.348, -0.484, 0.366),
    (-0.261, -0.476, 0.399), (-0.167, -0.458, 0.417), (0.123, -0.459, 0.425), (0.206, -0.480, 0.416),
    (0.287, -0.490, 0.392), (0.362, -0.477, 0.353), (0.426, -0.450, 0.295), (-0.008, -0.323, 0.462),
    (-0.008, -0.256, 0.510), (-0.008, -0.199, 0.553), (-0.007, -0.143, 0.599), (-0.145, 0.033, 0.420),
    (-0.084, 0.031, 0.473), (-0.005, 0.040, 0.515), (0.063, 0.046, 0.479), (0.134, 0.022, 0.419),
    (-0.387, -0.313, 0.260), (-0.317, -0.350, 0.329), (-0.234, -0.355, 0.333), (-0.155, -0.315, 0.314),
    (-0.231, -0.284, 0.326), (-0.318, -0.285, 0.310), (0.139, -0.310, 0.318), (0.219, -0.353, 0.338),
    (0.302, -0.350, 0.333), (0.377, -0.314, 0.263), (0.297, -0.287, 0.322), (0.215, -0.291, 0.331),
    (-0.201, 0.237, 0.380), (-0.137, 0.186, 0.465), (-0.076, 0.151, 0.504), (-0.003, 0.169, 0.516),
    (0.064, 0.151, 0.505), (0.126, 0.179, 0.469), (0.218, 0.239, 0.376), (0.133, 0.284, 0.440),
    (0.068, 0.297, 0.477), (-0.000, 0.300, 0.487), (-0.069, 0.297, 0.481), (-0.143, 0.274, 0.438),
    (-0.178, 0.231, 0.396), (-0.074, 0.215, 0.465), (-0.003, 0.214, 0.483), (0.060, 0.211, 0.472),
    (0.167, 0.231, 0.397), (0.060, 0.224, 0.466), (-0.001, 0.226, 0.475), (-0.075, 0.231, 0.467),
])

_HEAD_CENTRE_Z = -0.35
"""Depth of the turning axis in mean-shape units: about the ears (jaw points 0 and 16), behind the face."""


@lru_cache(maxsize=1)
def _control_points() -> tuple[np.ndarray, int]:
    """Model-space control points (N, 3): the 68 points, then anchors beyond them: two forehead rows above the
    brows, a head outline at ear depth (it turns with the head, so hair and ears follow) and an outer frame that
    never moves; and how many points at the end are that frame."""
    brows = MEAN_SHAPE_68[17:27]
    rows = [brows + (0.0, -0.22, -0.06), brows * (1.05, 1.0, 1.0) + (0.0, -0.48, -0.22)]
    t = np.linspace(0.0, 2.0 * math.pi, 20, endpoint=False)
    ring = np.stack([0.95 * np.cos(t), -0.1 + 1.1 * np.sin(t), np.full_like(t, _HEAD_CENTRE_Z)], axis=1)
    s = np.linspace(-2.0, 2.0, 5)
    frame = np.array([(x, y, _HEAD_CENTRE_Z) for x in s for y in s if abs(x) == 2.0 or abs(y) == 2.0])
    return np.vstack([MEAN_SHAPE_68, *rows, ring, frame]), len(frame)


@lru_cache(maxsize=1)
def _mesh() -> tuple[np.ndarray, np.ndarray]:
    """Triangles (T, 3) over the control points (a Delaunay triangulation of the frontal mean face) and each
    triangle's signed area there, which tells a triangle turned away after a turn."""
    import cv2

    pts = _control_points()[0][:, :2]
    sub = cv2.Subdiv2D((-3, -3, 6, 6))
    for p in pts:
        sub.insert((float(p[0]), float(p[1])))
    tris = []
    for t in sub.getTriangleList().reshape(-1, 3, 2):
        d = np.linalg.norm(pts[None, :, :] - t[:, None, :], axis=2)
        idx = d.argmin(axis=1)
        if (d[np.arange(3), idx] < 1e-4).all():
            tris.append(idx)
    tris = np.array(tris, dtype=np.int64)
    return tris, np.array([_area(pts[t]) for t in tris])


def fit_pose(points: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation (3x3, model -> image axes) and 2D centre of the mean face that best explains 68 points."""
    model = MEAN_SHAPE_68 - MEAN_SHAPE_68.mean(axis=0)
    centre = points.mean(axis=0)
    a = np.linalg.lstsq(model, points - centre, rcond=None)[0].T  # 2x3 affine camera
    u, sv, vt = np.linalg.svd(a, full_matrices=False)
    r2 = u @ vt
    rot = np.vstack([r2, np.cross(r2[0], r2[1])])
    return float(sv.mean()), rot, centre


def head_pose(points: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of the head whose 68 points these are, from :func:`fit_pose`'s rotation
    decomposed as roll (in the image plane) after yaw (about the head's vertical axis) after pitch; yaw has the sign
    of :func:`turn_points`' turns (face profiling's ``profile_yaw``). A fit of the mean face to 2D points: a few
    degrees off on a strong expression, and it cannot tell a turn past about 60 degrees from a narrower face."""
    _, r, _ = fit_pose(np.asarray(points, dtype=np.float64))
    # r = Rz(roll) Ry(yaw) Rx(pitch): the third row is Ry Rx's, the first column Rz applied to Ry's
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def turn_points(points: np.ndarray, yaw_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 68 points and the anchors before and after a turn of ``yaw_deg`` about the head's vertical axis.

    Returns (source (N, 2), target (N, 2), target depth (N,)) for the 68 points followed by the anchors; the 68
    source points are the given ones exactly (their depth comes from the mean face)."""
    scale, rot, centre = fit_pose(points)
    mean = MEAN_SHAPE_68.mean(axis=0)
    model, n_frame = _control_points()
    cam = (model - mean) @ rot.T * scale  # model -> image axes, centred
    src3 = cam.copy()
    src3[:68, :2] = points - centre  # the real points, with the mean face's depth
    pivot = (np.array([0.0, 0.0, _HEAD_CENTRE_Z]) - mean) @ rot.T * scale
    turn = _rotation(rot[:, 1], math.radians(yaw_deg))
    dst3 = (src3 - pivot) @ turn.T + pivot
    dst3[-n_frame:] = src3[-n_frame:]  # the background frame stays
    return src3[:, :2] + centre, dst3[:, :2] + centre, dst3[:, 2]


def profile(image: np.ndarray, points: np.ndarray, yaw_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with the face turned by ``yaw_deg`` degrees, and its 68 points moved with it."""
    import cv2

    src, dst, depth = turn_points(np.asarray(points, dtype=np.float64), yaw_deg)
    tris, ref_area = _mesh()
    h, w = image.shape[:2]
    ids = np.zeros((h, w), np.int32)
    mats = [np.array([[1.0, 0, 0], [0, 1.0, 0]])]  # id 0: outside the mesh, left as it is
    for k in np.argsort(depth[tris].mean(axis=1)):  # far first, so nearer triangles paint over
        t = tris[k]
        if _area(dst[t]) * ref_area[k] <= 1e-6 * ref_area[k] ** 2:  # turned away or degenerate
            continue
        mats.append(cv2.getAffineTransform(dst[t].astype(np.float32), src[t].astype(np.float32)))
        cv2.fillConvexPoly(ids, np.round(dst[t] * 16).astype(np.int32), len(mats) - 1, lineType=cv2.LINE_8,
                           shift=4)
    m = np.array(mats, dtype=np.float32)[ids]  # (h, w, 2, 3): each pixel's destination -> source map
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x = m[..., 0, 0] * xs + m[..., 0, 1] * ys + m[..., 0, 2]
    map_y = m[..., 1, 0] * xs + m[..., 1, 1] * ys + m[..., 1, 2]
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, dst[:68].copy()


def _area(tri: np.ndarray) -> float:
    (x0, y0), (x1, y1), (x2, y2) = tri
    return 0.5 * ((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))

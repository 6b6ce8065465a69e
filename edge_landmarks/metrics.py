"""Landmark metrics: NME (inter-ocular, inter-pupil, box, diagonal), failure rate, AUC of the CED curve, RMSE in px.

Definitions (those of PFLD and PIPNet, so numbers compare with published tables):
- NME of one face = mean over its visible points of ||pred - gt|| / d, with d the outer-eye-corner distance
  (inter-ocular), the distance between the two pupil centres (inter-pupil), sqrt(w * h) of the ground-truth
  points' bounding box (box), or its diagonal sqrt(w^2 + h^2) (diagonal: the Menpo 2D benchmark's normalisation,
  ``compute_diag_error.m``, for its profile and semi-frontal faces).
- The headline ``nme`` uses the scheme's own normalisation (``LandmarkScheme.nme_norm``): inter-ocular for 68, 98,
  15 and 12 points, diagonal for Menpo's 39-point profiles.
- FR@t = fraction of faces with NME > t.
- AUC@t = Simpson integral of the CED curve (fraction of faces with NME <= x) for x in [0, t] with step 1e-4,
  divided by t.
- RMSE (Kaggle) = sqrt(mean squared coordinate error) over visible coordinates, in pixels.
"""

from __future__ import annotations

import numpy as np

from .schemes import get_scheme

__all__ = ["nme", "failure_rate", "auc", "ced", "rmse", "summarize", "simpson", "mean_finite", "NORMS", "NORM_LABELS"]


def _mask(gt: np.ndarray, mask) -> np.ndarray:
    m = np.isfinite(gt).all(axis=-1)
    return m if mask is None else (m & np.asarray(mask, dtype=bool))


NORMS = ("interocular", "interpupil", "box", "diagonal")
NORM_LABELS = {"interocular": "inter-ocular", "interpupil": "inter-pupil", "box": "box sqrt(w*h)",
               "diagonal": "box diagonal"}


def nme(pred, gt, scheme: str, norm: str | None = None, mask=None) -> np.ndarray:
    """Per-face NME of (N, K, 2) predictions against (N, K, 2) ground truth, both in image pixels; ``norm`` defaults
    to the scheme's own (NaN where a scheme lacks the points a normalisation needs, e.g. inter-ocular on one eye)."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f"pred and gt must both be (N, K, 2); got {pred.shape} and {gt.shape}")
    s = get_scheme(scheme)
    norm = norm or s.nme_norm
    vis = _mask(gt, mask)
    if norm == "interocular":
        d = s.interocular(gt)
    elif norm == "interpupil":
        d = s.interpupil(gt)
    elif norm in ("box", "diagonal"):
        g = np.where(vis[..., None], gt, np.nan)
        w = np.nanmax(g[..., 0], axis=1) - np.nanmin(g[..., 0], axis=1)
        h = np.nanmax(g[..., 1], axis=1) - np.nanmin(g[..., 1], axis=1)
        d = np.sqrt(w * h) if norm == "box" else np.hypot(w, h)
    else:
        raise ValueError(f"unknown NME normalisation {norm!r}; use {', '.join(NORMS)}")
    err = np.linalg.norm(pred - np.nan_to_num(gt), axis=-1)
    per_face = np.where(vis, err, 0.0).sum(axis=1) / np.maximum(vis.sum(axis=1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return per_face / d


def failure_rate(nmes, threshold: float = 0.1) -> float:
    nmes = np.asarray(nmes, dtype=np.float64)
    return float((nmes > threshold).mean()) if nmes.size else float("nan")


def ced(nmes, threshold: float = 0.1, step: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """(x, fraction of faces with NME <= x) for x = 0, step, ..., threshold."""
    nmes = np.sort(np.asarray(nmes, dtype=np.float64))
    n = int(round(threshold / step))
    x = np.linspace(0.0, threshold, n + 1)
    y = np.searchsorted(nmes, x, side="right") / max(len(nmes), 1)
    return x, y


def simpson(y: np.ndarray, dx: float) -> float:
    """Composite Simpson's rule on evenly spaced samples (trapezoid on a last odd interval)."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y) - 1
    if n < 1:
        return 0.0
    even = n - (n % 2)
    total = dx / 3.0 * (y[0] + y[even] + 4.0 * y[1:even:2].sum() + 2.0 * y[2:even - 1:2].sum()) if even else 0.0
    if n % 2:
        total += dx * (y[-2] + y[-1]) / 2.0
    return float(total)


def auc(nmes, threshold: float = 0.1, step: float = 1e-4) -> float:
    x, y = ced(nmes, threshold, step)
    return simpson(y, step) / threshold


def rmse(pred, gt, mask=None) -> float:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    vis = _mask(gt, mask)
    diff = (pred - np.nan_to_num(gt))[vis]
    return float(np.sqrt((diff ** 2).mean())) if diff.size else float("nan")


def summarize(pred, gt, scheme: str, mask=None, thresholds=(0.05, 0.08, 0.1)) -> dict:
    """Every metric at once: NME in the scheme's normalisation (``nme``, named by ``nme_norm``; FR and AUC at each
    threshold use it) and in the others where the scheme has their points, RMSE in pixels."""
    s = get_scheme(scheme)
    per_face = nme(pred, gt, scheme, None, mask)
    out = {
        "faces": int(len(per_face)),
        "nme": mean_finite(per_face),
        "nme_norm": s.nme_norm,
        "nme_interpupil": mean_finite(nme(pred, gt, scheme, "interpupil", mask)) if s.pupils else float("nan"),
        "nme_box": mean_finite(nme(pred, gt, scheme, "box", mask)),
        "nme_diagonal": mean_finite(nme(pred, gt, scheme, "diagonal", mask)),
        "rmse_px": rmse(pred, gt, mask),
    }
    for t in thresholds:
        out[f"fr_{metric_suffix(t)}"] = failure_rate(per_face, t)
        out[f"auc_{metric_suffix(t)}"] = auc(per_face, t)
    return out


def mean_finite(values) -> float:
    """The mean of the values that are not NaN (a Kaggle row without eye corners has no inter-ocular NME); NaN,
    without a warning, when none is."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def metric_suffix(threshold: float) -> str:
    """The one key scheme of FR and AUC: the threshold in hundredths, two digits (0.05 -> ``05``, 0.1 -> ``10``)."""
    return f"{round(threshold * 100):02d}"

"""Jitter and lag: clips with known truth made from real faces, and the measures of the field.

A clip is a short video of one real face (a photo and its labelled points) whose truth is known on every frame,
because every frame is made from the photo by a known translation:

- ``still``: a face held still in front of a webcam: sub-pixel camera shake (each frame moved by N(0, 0.3 px) per
  axis, the truth moved exactly with it), an exposure that flickers (gain N(1, 0.02)), sensor noise (N(0, 3) grey
  levels) and a JPEG re-encoding per frame (quality 80);
- ``moving``: the same face swaying side to side (one period of a sine over the measured frames, about two seconds,
  with a smaller vertical one) at a peak speed of 1, 3 or 6 pixels a frame (30, 90 and 180 px/s at 30 FPS, a face of
  :data:`FACE_SIDE` px: amplitudes of 10, 30 and 59 px), with the same noise.

The face is scaled so that its points' box measures :data:`FACE_SIDE` pixels (sqrt(w*h)), in a frame of
:data:`FRAME` pixels, so every number below reads on the same face size. Clips are seeded: the same faces and seed
give the same frames, byte for byte.

Measures (per clip, then the mean over clips):

- ``nmf``: normalised mean flicker (Micaelli et al., "Recurrence without Recurrence", CVPR 2023, the measure of
  WFLW-V): with r(n, l) = p(n, l) - g(n, l) the error of point l on frame n and d(n) = sqrt(w*h) of the true points'
  box, NMF = sqrt(mean_n(mean_l |r(n, l) - r(n-1, l)|^2 / d(n)^2)), in per cent. It measures how much the error
  changes from frame to frame, whatever the error itself.
- ``motion_px`` (still clips): the RMS frame-to-frame motion of the predicted points in frame pixels (a face of
  :data:`FACE_SIDE` px), what a user sees as trembling; the truth itself moves by the shake (0.6 px RMS).
- ``lag`` (moving clips): the delay in frames (to a tenth, by a parabola through the best whole frame and its
  neighbours) that best aligns the predicted points with the truth, p(n) against g(n - lag);
- ``nme``: the mean inter-ocular NME (the scheme's normalisation) over the frames.

Three ways to run a model on the clips (:data:`MODES`): ``model``, the model alone on the true points' box of every
frame (the ``points`` box protocol of ``edge-lmk eval``: the model's own response to noise; its lag is 0 by
construction); ``tracker``, the live demo's :class:`~edge_landmarks.runtime.track.FaceTracker` with smoothing off
(the detector finds the face, each frame's points make the next crop); ``demo``, the same with the demo's One-Euro
smoothing, as ``edge-lmk demo`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data.samples import Sample
from .schemes import convert

__all__ = ["Clip", "PointsPredictor", "make_clips", "clip_faces", "nmf", "motion_px", "lag_frames", "score_clip",
           "run_clip", "stability", "stability_table", "slowest_lag", "summarise", "MODES", "FACE_SIDE", "FRAME",
           "SPEEDS", "FPS"]

FPS = 30.0
FACE_SIDE = 100.0
"""The face's size in every clip: sqrt(w*h) of its true points' box, in pixels."""
FRAME = (320, 240)
"""Width and height of every clip frame."""
SPEEDS = (1.0, 3.0, 6.0)
"""Peak speeds of the moving clips, pixels a frame."""
STILL_FRAMES, MOVING_FRAMES = 48, 72
SHAKE_PX, GAIN_SD, NOISE_SD, JPEG_QUALITY = 0.3, 0.02, 3.0, 80
MAX_LAG = 8
SETTLE = 10
"""Frames at the start of a clip left out of every measure (the tracker's first detection and the filter's start)."""
MODES = ("model", "tracker", "demo")
MIN_IOU = 0.3
"""A followed face counts as the clip's face when its points' box overlaps the true one by this IoU."""


@dataclass
class Clip:
    """One clip: its frames (BGR uint8), the truth on each (T, K, 2, frame pixels) and what it is."""

    name: str
    kind: str
    """``still`` or ``moving``."""
    speed: float
    """Peak speed in pixels a frame (0 for still)."""
    source: str
    scheme: str
    frames: list
    truth: np.ndarray

    def samples(self) -> list[Sample]:
        """Each frame as a :class:`~edge_landmarks.data.samples.Sample` (no box: the true points' box)."""
        return [Sample(landmarks=self.truth[i], scheme=self.scheme, image=self.frames[i],
                       source=f"{self.source} ({self.name}, frame {i})") for i in range(len(self.frames))]


def _scaled(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo resized so that the points' box measures FACE_SIDE, and the points moved with it."""
    import cv2

    finite = points[np.isfinite(points).all(axis=1)]
    w, h = finite.max(axis=0) - finite.min(axis=0)
    s = FACE_SIDE / max(float(np.sqrt(w * h)), 1.0)
    size = (max(1, round(image.shape[1] * s)), max(1, round(image.shape[0] * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    out = cv2.resize(image, size, interpolation=interp)
    sx, sy = size[0] / image.shape[1], size[1] / image.shape[0]
    # cv2.resize: the centre of destination pixel x comes from source (x + 0.5) / s - 0.5 (0-based pixel centres)
    return out, (points + 0.5) * np.array([sx, sy]) - 0.5


def _render(scaled: np.ndarray, pts: np.ndarray, offsets: np.ndarray, rng: np.random.Generator):
    """Frames of the scaled photo, its face centred plus each offset, with the camera's noise; and the truth."""
    import cv2

    w, h = FRAME
    centre = np.nanmean(pts, axis=0)
    frames, truth = [], []
    for off in offsets:
        shift = np.array([w / 2 - 0.5, h / 2 - 0.5]) - centre + off
        m = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
        f = cv2.warpAffine(scaled, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        f = f.astype(np.float32) * rng.normal(1.0, GAIN_SD) + rng.normal(0.0, NOISE_SD, f.shape).astype(np.float32)
        f = np.clip(np.rint(f), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        frames.append(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else f)
        truth.append(pts + shift)
    return frames, np.stack(truth)


def make_clips(sample: Sample, seed: int = 0, scheme: str | None = None, speeds=SPEEDS) -> list[Clip]:
    """The still clip and one moving clip per speed of one labelled face (truth in ``scheme``, default the
    sample's own)."""
    scheme = scheme or sample.scheme
    pts = convert(sample.landmarks, sample.scheme, scheme) if scheme != sample.scheme else sample.landmarks
    image = sample.load_image()
    if image.ndim == 2:
        import cv2

        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scaled, spts = _scaled(image, np.asarray(pts, dtype=np.float64))
    rng = np.random.default_rng(seed)
    shake = rng.normal(0.0, SHAKE_PX, (STILL_FRAMES, 2))
    frames, truth = _render(scaled, spts, shake, rng)
    clips = [Clip("still", "still", 0.0, sample.source, scheme, frames, truth)]
    n = np.arange(MOVING_FRAMES, dtype=np.float64)
    w = 2 * np.pi / (MOVING_FRAMES - SETTLE)  # one side-to-side sway over the measured frames
    for v in speeds:
        amp = v / w  # a peak speed of v pixels a frame
        path = np.stack([amp * np.sin(w * n), 0.3 * amp * np.sin(w * n + 0.5)], axis=1)
        path += rng.normal(0.0, SHAKE_PX, path.shape)
        frames, truth = _render(scaled, spts, path, rng)
        clips.append(Clip(f"moving {v:g} px/frame", "moving", float(v), sample.source, scheme, frames, truth))
    return clips


def clip_faces(samples, count: int) -> list[Sample]:
    """``count`` faces spread evenly over ``samples`` (in their order) that can make clips: every point labelled,
    not a whole-image face (Kaggle's 96 px crops)."""
    usable = [s for s in samples if not s.attributes.get("whole_image") and np.isfinite(s.landmarks).all()]
    if count <= 0 or not usable:
        return []
    idx = np.unique(np.linspace(0, len(usable) - 1, min(count, len(usable))).round().astype(int))
    return [usable[i] for i in idx]


def _box_size(truth: np.ndarray) -> np.ndarray:
    w = truth[..., 0].max(axis=-1) - truth[..., 0].min(axis=-1)
    h = truth[..., 1].max(axis=-1) - truth[..., 1].min(axis=-1)
    return np.sqrt(w * h)


def nmf(pred: np.ndarray, truth: np.ndarray) -> float:
    """Normalised mean flicker of one clip, per cent (see the module docstring); frames without a prediction
    (NaN) are left out with the frame after them."""
    r = np.asarray(pred, np.float64) - truth
    step = np.sum((r[1:] - r[:-1]) ** 2, axis=-1).mean(axis=-1) / _box_size(truth[1:]) ** 2
    step = step[np.isfinite(step)]
    return float(100.0 * np.sqrt(step.mean())) if step.size else float("nan")


def motion_px(pred: np.ndarray) -> float:
    """RMS frame-to-frame motion of the predicted points, pixels."""
    d = np.sum((np.asarray(pred, np.float64)[1:] - pred[:-1]) ** 2, axis=-1).mean(axis=-1)
    d = d[np.isfinite(d)]
    return float(np.sqrt(d.mean())) if d.size else float("nan")


def lag_frames(pred: np.ndarray, truth: np.ndarray, max_lag: int = MAX_LAG) -> float:
    """The delay (frames, to a tenth) that best aligns ``pred[n]`` with ``truth[n - lag]`` up to a steady offset
    (a model's constant error on a face is not lag): for every whole lag from 0 to ``max_lag`` the RMS distance
    after taking out each point's mean offset, and a parabola through the best and its two neighbours places the
    minimum between them. The path must turn (the moving clips sway side to side), or a lag along a straight line
    could not be told from an offset."""
    pred = np.asarray(pred, np.float64)
    n = len(pred)
    errs = []
    for k in range(max_lag + 1):
        d = pred[max_lag:] - truth[max_lag - k:n - k]
        d = d[np.isfinite(d).all(axis=(1, 2))]
        errs.append(float(np.sqrt(np.mean((d - d.mean(axis=0)) ** 2))) if len(d) > 2 else np.inf)
    errs = np.array(errs)
    k = int(np.argmin(errs))
    if not np.isfinite(errs[k]):
        return float("nan")
    if 0 < k < max_lag:
        a, b, c = errs[k - 1], errs[k], errs[k + 1]
        den = a - 2 * b + c
        if den > 0:
            return round(k + 0.5 * (a - c) / den, 1)
    return float(k)


def score_clip(pred: np.ndarray, clip: Clip) -> dict:
    """The measures of one clip from its predicted points (T, K, 2; NaN on frames without a face), the first
    :data:`SETTLE` frames left out."""
    from .metrics import mean_finite, nme

    p, g = pred[SETTLE:], clip.truth[SETTLE:]
    found = np.isfinite(p).all(axis=(1, 2))
    out = {"clip": clip.name, "kind": clip.kind, "speed": clip.speed, "frames": int(len(p)),
           "frames_without_face": int((~found).sum()), "nmf": nmf(p, g),
           "nme": mean_finite(nme(np.nan_to_num(p[found]), g[found], clip.scheme)) if found.any() else float("nan")}
    if clip.kind == "still":
        out["motion_px"] = motion_px(p)
    else:
        out["lag"] = lag_frames(p, g)
    return out


class PointsPredictor:
    """A peer's ``points(frame_bgr, box) -> (K, 2)`` in the shape the demo's tracker drives (``predict``,
    ``num_points``, ``scheme``, ``threads``, ``color``), so that dlib's and MediaPipe's predictors can be measured
    through the same tracker and smoothing as ours."""

    def __init__(self, points, num_points: int = 68, scheme: str = "ibug68", threads: int = 1):
        self._points, self.num_points, self.scheme, self.threads = points, num_points, scheme, threads
        self.color = "bgr"

    def predict(self, image: np.ndarray, box=None) -> np.ndarray:
        return np.asarray(self._points(image, box), dtype=np.float64)


def run_clip(clip: Clip, mode: str, predict_batch=None, config=None, predictor=None, points=None,
             **tracker_options) -> np.ndarray:
    """The predicted points on every frame of ``clip`` (T, K, 2), NaN where no face was followed.

    ``model``: ``predict_batch`` and ``config`` (as :func:`~edge_landmarks.training.evaluate.predict_crops` takes
    them) on the true points' box of each frame, or ``points(frame, box) -> (K, 2)`` (a peer such as dlib's
    predictor, given the same box). ``tracker`` / ``demo``: a fresh
    :class:`~edge_landmarks.runtime.track.FaceTracker` on ``predictor`` (a
    :class:`~edge_landmarks.runtime.predictor.LandmarkPredictor`), frames timed at :data:`FPS`, smoothing off /
    on, the followed face whose points' box overlaps the truth's by :data:`MIN_IOU` or more taken as the clip's
    (other people in the photo are in the frame too); ``tracker_options`` go to the tracker (e.g. ``min_cutoff``,
    ``beta``, ``detector``).
    """
    if mode == "model" and points is not None:
        from .data.transforms import face_box

        return np.stack([points(f, face_box(g)) for f, g in zip(clip.frames, clip.truth, strict=True)])
    if mode == "model":
        from .training.evaluate import predict_crops

        pred, _ = predict_crops(predict_batch, clip.samples(), config)
        return pred
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    from .runtime.detect import box_iou
    from .runtime.predictor import points_box
    from .runtime.track import FaceTracker

    tracker = FaceTracker(predictor, smoothing=mode == "demo", **tracker_options)
    out = np.full((len(clip.frames), predictor.num_points, 2), np.nan)
    for i, frame in enumerate(clip.frames):
        # the followed face that is the clip's face (a photo of several people shows the others too)
        truth = points_box(clip.truth[i])
        faces = [(box_iou(points_box(f.points), truth), f) for f in tracker.update(frame, t=i / FPS).faces]
        iou, face = max(faces, key=lambda x: x[0], default=(0.0, None))
        if iou >= MIN_IOU:
            out[i] = face.points
    return out


def slowest_lag(summary: dict) -> float | None:
    """The lag on the slowest moving clip of a :func:`summarise` result (None without moving clips)."""
    lags = sorted((float(k[4:-2]), v) for k, v in summary.items() if k.startswith("lag_"))
    return lags[0][1] if lags else None


def summarise(rows: list[dict]) -> dict:
    """Mean measures over clips: still clips' ``nmf_still`` and ``motion_px``; per speed the moving clips' ``lag``
    and ``nme``; ``nmf_moving``; and how many frames had no face."""
    from .metrics import mean_finite

    still = [r for r in rows if r["kind"] == "still"]
    moving = [r for r in rows if r["kind"] == "moving"]
    out = {"clips": len(rows), "frames_without_face": int(sum(r["frames_without_face"] for r in rows)),
           "nmf_still": mean_finite([r["nmf"] for r in still]),
           "motion_px": mean_finite([r["motion_px"] for r in still]),
           "nme_still": mean_finite([r["nme"] for r in still]),
           "nmf_moving": mean_finite([r["nmf"] for r in moving])}
    for v in sorted({r["speed"] for r in moving}):
        at = [r for r in moving if r["speed"] == v]
        out[f"lag_{v:g}px"] = mean_finite([r["lag"] for r in at])
        out[f"nme_{v:g}px"] = mean_finite([r["nme"] for r in at])
    return out


def stability(samples, count: int = 6, seed: int = 0, modes=MODES, predict_batch=None, config=None,
              predictor=None, points=None, scheme: str | None = None, progress=None, **tracker_options) -> dict:
    """Every mode's :func:`summarise` over the clips of ``count`` faces of ``samples`` (:func:`clip_faces`), with
    the per-clip rows; {} when no face can make clips. The model is given as :func:`run_clip` takes it (with
    ``points``, ``scheme`` names its points' scheme). ``progress(i, n)`` is called after each face."""
    faces = clip_faces(samples, count)
    scheme = scheme or (config.scheme if config is not None else predictor.scheme)
    rows: dict[str, list] = {m: [] for m in modes}
    for i, face in enumerate(faces):
        for clip in make_clips(face, seed=seed + i, scheme=scheme):
            for m in modes:
                pred = run_clip(clip, m, predict_batch, config, predictor, points, **tracker_options)
                rows[m].append(score_clip(pred, clip))
        if progress:
            progress(i + 1, len(faces))
    if not faces:
        return {}
    return {"faces": [f.source for f in faces], "seed": seed, "fps": FPS, "face_side_px": FACE_SIDE,
            "modes": {m: {**summarise(rows[m]), "per_clip": rows[m]} for m in modes}}


MODE_LABELS = {"model": "model alone (true box)", "tracker": "demo tracker, no smoothing",
               "demo": "demo (tracker + smoothing)"}


def stability_table(result: dict) -> str:
    """The table ``edge-lmk eval --clips`` prints: one row per mode."""
    from .report import format_table

    modes = result["modes"]
    speeds = sorted(float(k[4:-2]) for k in next(iter(modes.values())) if k.startswith("lag_"))

    def f(v, digits):
        return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"

    headers = ["mode", "NMF still %", "motion px", "NMF moving %",
               *(f"lag {v:g}px (frames)" for v in speeds), f"NME at {speeds[-1]:g}px" if speeds else "NME"]
    rows = [[MODE_LABELS.get(m, m), f(s["nmf_still"], 3), f(s["motion_px"], 3), f(s["nmf_moving"], 3),
             *(f(s[f"lag_{v:g}px"], 1) for v in speeds), f(s[f"nme_{speeds[-1]:g}px"] if speeds else s["nme_still"], 4)]
            for m, s in modes.items()]
    lost = sum(s["frames_without_face"] for s in modes.values())
    note = (f"jitter and lag on {len(result['faces'])} faces of {result['split']}: per face a clip held still "
            f"({STILL_FRAMES} frames) and one moving per speed ({MOVING_FRAMES} frames), {FPS:g} FPS, the face "
            f"{FACE_SIDE:g} px (sqrt(w*h) of its points' box); NMF: normalised mean flicker (LDEQ, CVPR 2023), "
            "motion: RMS frame-to-frame point motion on the still clip (the shake itself is 0.6 px)")
    if lost:
        note += f"; {lost} frames had no face followed (left out)"
    return format_table(headers, rows) + "\n" + note

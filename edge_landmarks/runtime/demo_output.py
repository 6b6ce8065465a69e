"""What the camera demo writes: an annotated video, published only once it reads back whole, or one frame as an
image (``--save``), and the demo's running statistics."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from ..data.video import SAVE_VIDEO_FOURCC, count_video_frames
from ..errors import EdgeLandmarksError
from ..files import publish, refuse_overwrite, temporary

__all__ = ["SAVE_IMAGE_SUFFIXES", "check_save"]

SAVE_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
"""The images ``--save`` writes (it reads :data:`edge_landmarks.data.samples.IMAGE_SUFFIXES`)."""


class _VideoOut:
    """A video written beside its final name and renamed into place when the run ends (nothing half-written)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import cv2

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = temporary(path, path.suffix)
        self.writer = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*SAVE_VIDEO_FOURCC[path.suffix.lower()]),
                                      fps, size)
        if not self.writer.isOpened():
            os.unlink(self.tmp)
            raise EdgeLandmarksError(f"{path}: OpenCV cannot write this video format here")

        self.written = 0

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)
        self.written += 1

    def close(self, keep: bool) -> None:
        """Publish the video only once it reads back with every frame (a full disk makes OpenCV write a file
        without its index, silently); otherwise remove it and say so."""
        self.writer.release()
        try:
            if keep:
                readable = count_video_frames(self.tmp)
                if readable != self.written:
                    raise EdgeLandmarksError(f"{self.path}: the video did not write correctly ({self.written} frames "
                                             f"written, {readable} read back; is the disk full?); nothing kept")
                publish(self.tmp, self.path)
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)


def check_save(save: str | None, force: bool) -> Path | None:
    if save is None:
        return None
    path = Path(save)
    if path.suffix.lower() not in SAVE_VIDEO_FOURCC and path.suffix.lower() not in SAVE_IMAGE_SUFFIXES:
        raise EdgeLandmarksError(f"{save}: --save takes a video ({', '.join(SAVE_VIDEO_FOURCC)}) or an image "
                                 f"({', '.join(SAVE_IMAGE_SUFFIXES)})")
    refuse_overwrite(path, force)
    return path


def _count(result, counts: Counter, losses: Counter, totals: Counter, read_seconds: float) -> None:
    """Add one frame's tracker result to the running counts and stage times."""
    counts["frames"] += 1
    counts["faces"] += bool(result.faces)
    counts["face_crops"] += len(result.faces)
    counts["most_faces"] = max(counts["most_faces"], len(result.faces))
    counts["detections"] += result.detected
    counts["searches"] += result.searched
    counts["checks"] += result.checked
    counts["reanchors"] += result.reanchored
    counts["rejected"] += result.rejected
    if result.lost:
        losses[result.lost] += 1
    totals["read"] += read_seconds
    for k, v in result.timings.items():
        totals[k] += v
    totals["slowest_detect"] = max(totals["slowest_detect"], result.timings.get("detect", 0.0))


def _statistics(counts: Counter, losses: Counter, totals: Counter, elapsed: float) -> dict:
    n = counts["frames"]
    stages = ["read", "detect", "landmarks", "draw", "output"]
    return {
        "frames": n, "faces": counts["faces"], "faces_per_frame": round(counts["face_crops"] / n, 3),
        "most_faces": counts["most_faces"], "detections": counts["detections"], "searches": counts["searches"],
        "checks": counts["checks"], "rejected_detections": counts["rejected"],
        "reanchors": counts["reanchors"], "track_losses": dict(losses), "seconds": round(elapsed, 4),
        "fps": round(n / elapsed, 2),
        "ms_per_frame": {k: round(1e3 * totals[k] / n, 3) for k in stages},
        "detect_ms_per_call": round(1e3 * totals["detect"] / max(1, counts["detections"] + counts["searches"]
                                                                 + counts["checks"]), 3),
        "slowest_detect_ms": round(1e3 * totals["slowest_detect"], 3),
    }

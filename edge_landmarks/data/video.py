"""Test videos made from face photos that packages ship, and reading a video back.

:func:`make_test_video` writes a short video from scikit-image's astronaut and matplotlib's Grace Hopper (the demo
set's own sources), moving and zooming a little from frame to frame, so the headless demo runs anywhere;
:func:`count_video_frames` is how every video this package writes is checked before it is published.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError
from ..files import atomic_write, refuse_overwrite

__all__ = ["make_test_video", "count_video_frames", "SAVE_VIDEO_FOURCC"]

SAVE_VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
"""The videos the demo writes (``--save``, the test video), with the codec OpenCV writes each in (the videos it
reads are :data:`edge_landmarks.data.label.VIDEO_SUFFIXES`)."""


def count_video_frames(path: str | Path) -> int:
    """Frames OpenCV can decode from a video file (0 when it cannot open it)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    try:
        while cap.isOpened() and cap.grab():
            n += 1
    finally:
        cap.release()
    return n


def _face_photos() -> list[np.ndarray]:
    """BGR face photos from scikit-image (astronaut) and matplotlib (Grace Hopper), the demo set's own sources."""
    import cv2

    from ..data.sources import package_dir

    photos = []
    for package, rel in (("skimage", "data/astronaut.png"), ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg")):
        try:
            img = cv2.imread(str(package_dir(package) / rel), cv2.IMREAD_COLOR)
        except MissingExtraError:
            continue
        if img is not None:
            photos.append(img)
    if not photos:
        raise MissingExtraError("no face photo found: the test video uses scikit-image's or matplotlib's sample "
                                "photos: pip install 'edge-landmarks[teacher]'")
    return photos


def make_test_video(path: str | Path, frames: int = 60, size: tuple[int, int] = (640, 480), fps: float = 30.0,
                    seed: int = 0, force: bool = False, together: bool = False) -> Path:
    """A video of package-shipped face photos drifting and zooming slightly, half the frames per photo.

    Each photo is placed in a ``size`` frame at a scale that changes by under 1 % per frame and a position that
    drifts a few pixels per frame (a random walk with ``seed``), so tracking has work to do; the cut between
    photos is where the track must be found again. ``together``: the photos side by side, each in its own part of
    the frame, for the whole video (several faces to follow at once).
    """
    import cv2

    path = Path(path)
    if path.suffix.lower() not in SAVE_VIDEO_FOURCC:
        raise EdgeLandmarksError(f"{path}: the test video must be one of {', '.join(SAVE_VIDEO_FOURCC)}")
    refuse_overwrite(path, force)
    photos = _face_photos()
    rng = np.random.default_rng(seed)
    w, h = size
    per = frames if together else int(np.ceil(frames / len(photos)))
    slots = len(photos) if together else 1

    def write(tmp: str) -> None:
        out = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*SAVE_VIDEO_FOURCC[path.suffix.lower()]), fps, (w, h))
        if not out.isOpened():
            raise EdgeLandmarksError(f"{path}: OpenCV cannot write this video format here")
        try:
            sw = w / slots
            for i in range(frames):
                shown = list(enumerate(photos)) if together else [(0, photos[min(i // per, len(photos) - 1)])]
                k = i % per
                if k == 0:
                    pos = np.zeros((slots, 2))
                pos = pos + rng.normal(0, 1.5, (slots, 2))
                frame = np.full((h, w, 3), 40, np.uint8)
                for slot, photo in shown:
                    base = 0.9 * min(sw / photo.shape[1], h / photo.shape[0])
                    s = base * (1.0 + 0.08 * np.sin(2 * np.pi * k / max(per, 1)))
                    ph, pw = photo.shape[0] * s, photo.shape[1] * s
                    tx = slot * sw + (sw - pw) / 2 + pos[slot, 0] + 20 / slots * np.sin(2 * np.pi * k / max(per, 1))
                    ty = (h - ph) / 2 + pos[slot, 1]
                    m = np.array([[s, 0.0, tx], [0.0, s, ty]])
                    cv2.warpAffine(photo, m, (w, h), dst=frame, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_TRANSPARENT)
                out.write(frame)
        finally:
            out.release()
        readable = count_video_frames(tmp)
        if readable != frames:
            raise EdgeLandmarksError(f"{path}: the video did not write correctly ({frames} frames written, {readable} "
                                     "read back; is the disk full?); nothing kept")

    return atomic_write(path, write, suffix=path.suffix)

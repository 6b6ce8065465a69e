"""Frame sources of the camera demo: a Raspberry Pi camera (picamera2), a webcam or a video file
(``cv2.VideoCapture``), and the pacing that plays a file at its own frame rate."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError

__all__ = ["open_source"]


class _CaptureSource:
    """cv2.VideoCapture: a video file (timestamps from its frame rate) or a camera (timestamps from the clock)."""

    def __init__(self, target, width: int | None = None, height: int | None = None):
        import cv2

        self.is_file = isinstance(target, str)
        self.name = target if self.is_file else f"camera {target}"
        if self.is_file and not Path(target).is_file():
            raise EdgeLandmarksError(f"{target}: video file not found")
        self.cap = cv2.VideoCapture(target)
        if not self.cap.isOpened():
            if self.is_file:
                raise EdgeLandmarksError(f"{target}: OpenCV cannot read this video (not a video, or a codec it lacks)")
            raise EdgeLandmarksError(f"camera {target} could not be opened (on a Raspberry Pi with a CSI camera, "
                                     "use --picamera: libcamera cameras are invisible to cv2.VideoCapture)")
        if not self.is_file and width and height:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0
        self._i = 0

    def read(self):
        ok, frame = self.cap.read()
        if not ok:
            return None, None
        t = self._i / self.fps if self.is_file else time.monotonic()
        self._i += 1
        return frame, t

    def skip(self) -> bool:
        """Pass over the next frame without decoding it (a paced file after a stall); False at the end."""
        if not self.cap.grab():
            return False
        self._i += 1
        return True

    def rewind(self) -> bool:
        """Back to a video file's first frame (timestamps keep counting up); False for a camera."""
        import cv2

        return self.is_file and bool(self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0))

    def close(self) -> None:
        self.cap.release()


class _PiCameraSource:
    """picamera2 (Raspberry Pi OS): 'RGB888' frames are B, G, R in memory, i.e. what OpenCV calls BGR."""

    def __init__(self, width: int = 640, height: int = 480):
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise MissingExtraError(
                "picamera2 is not importable: on Raspberry Pi OS run 'sudo apt install python3-picamera2' and make "
                "the venv with 'python3 -m venv --system-site-packages' (see docs/raspberry-pi.md)") from None
        except ValueError as exc:  # Debian's simplejpeg built for numpy 1 under the venv's numpy 2
            raise EdgeLandmarksError(
                f"picamera2 failed to import ({exc}): Debian's simplejpeg does not match the venv's numpy 2; run "
                "'pip install --force-reinstall simplejpeg' in the venv (see docs/raspberry-pi.md)") from None
        self.name = "picamera2"
        self.cam = Picamera2()
        config = self.cam.create_video_configuration(main={"size": (int(width), int(height)), "format": "RGB888"})
        self.cam.configure(config)
        self.cam.start()
        self.fps = 30.0

    def read(self):
        frame = self.cam.capture_array("main")
        return np.ascontiguousarray(frame[:, :, :3]), time.monotonic()

    def close(self) -> None:
        self.cam.stop()
        self.cam.close()


def open_source(camera: int | None = None, picamera: bool = False, video: str | None = None, width: int = 640,
                height: int = 480):
    """One frame source: ``video`` file, ``picamera`` (picamera2), or ``camera`` index (default 0)."""
    chosen = sum([camera is not None, bool(picamera), video is not None])
    if chosen > 1:
        raise EdgeLandmarksError("choose one source: --camera N, --picamera or --video FILE")
    if video is not None:
        return _CaptureSource(str(video))
    if picamera:
        return _PiCameraSource(width, height)
    return _CaptureSource(int(camera or 0), width, height)


class _Pacer:
    """A video file played at its own frame rate, as a camera delivers it: each frame waits for its time, and after
    a stall (a slow detection, a busy machine) the frames whose time has passed are skipped, never shown in a burst
    to catch up."""

    def __init__(self, fps: float):
        self.period = 1.0 / fps
        self.start: float | None = None
        self.index = 0
        self.dropped = 0

    def wait(self, source) -> None:
        """Before reading frame ``index``: sleep until its time, or skip to the frame due now."""
        now = time.perf_counter()
        if self.start is None:
            self.start = now
        due = self.start + self.index * self.period
        if now < due:
            time.sleep(due - now)
        else:
            late = int((now - due) / self.period)
            for _ in range(late):
                if not source.skip():
                    break
            self.index += late
            self.dropped += late
        self.index += 1

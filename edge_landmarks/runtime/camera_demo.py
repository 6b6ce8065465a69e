"""The camera demo: frames from a Pi camera, a webcam or a video file -> detect, track, landmarks -> drawn, timed.

Sources: ``picamera2`` on a Raspberry Pi (CSI cameras are invisible to ``cv2.VideoCapture`` under libcamera; the
package comes from Raspberry Pi OS, ``sudo apt install python3-picamera2``, and a venv sees it only when made with
``--system-site-packages``), ``cv2.VideoCapture`` for USB webcams and video files. Each frame goes through the
:class:`~edge_landmarks.runtime.track.FaceTracker` (every face in view, up to ``max_faces``; the whole-frame
detector only while no face is tracked, and a quick search for new faces every ``search_every`` frames), then the
points and crop box of each face, the FPS and the time per stage (read, detect, landmarks, draw) are drawn on it;
it is shown in a window, or with ``headless`` only written (``save``: a video, or one annotated frame as an image)
and counted, or served to browsers (``serve``: :mod:`edge_landmarks.runtime.serve`; a video file then loops at its
own frame rate, as a camera would deliver it, skipping the frames whose time passed during a stall, until
``frames`` or Ctrl-C).
:func:`run_demo` returns the run's statistics (``fps``: frames per second end to end, reading included).

:func:`make_test_video` writes a short video from face photos that PyPI packages ship (scikit-image's astronaut,
matplotlib's Grace Hopper), moving and zooming a little from frame to frame, so the headless demo runs anywhere.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError
from ..files import atomic_write, publish, refuse_overwrite, temporary

__all__ = ["open_source", "run_demo", "make_test_video", "annotate", "SAVE_VIDEO_FOURCC", "SAVE_IMAGE_SUFFIXES"]

SAVE_VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
"""The videos the demo writes (``--save``, the test video), with the codec OpenCV writes each in (the videos it
reads are :data:`edge_landmarks.data.label.VIDEO_SUFFIXES`)."""
SAVE_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
"""The images ``--save`` writes (it reads :data:`edge_landmarks.data.samples.IMAGE_SUFFIXES`)."""


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


def annotate(frame: np.ndarray, result, scheme: str | None, fps: float | None, stage_ms: dict,
             shown_fps: float | None = None) -> np.ndarray:
    """Points, crop box, FPS and the time per stage drawn on a copy of the frame. ``shown_fps``: the rate frames
    are shown at when it is not the pipeline's (a video file served at its own frame rate)."""
    import cv2

    from ..data.show import draw_points

    radius = 1 if frame.shape[0] < 400 else 2
    out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
    for face in result.faces:
        out = draw_points(out, face.points, scheme, radius=radius)
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 200, 0) if not face.detected else (0, 200, 255), 1)
    lines = []
    if fps is not None:
        n = len(result.faces)
        state = ("detect" if result.detected else "track") + (f" {n} faces" if n > 1 else "") if n else "no face"
        rate = f"{shown_fps:.0f} FPS (pipeline {fps:.0f})" if shown_fps is not None else f"{fps:.0f} FPS"
        lines.append(f"{rate}  {state}")
    lines.append("  ".join(f"{k} {v:.2f} ms" for k, v in stage_ms.items()))
    scale = max(0.4, frame.shape[0] / 960)
    step = int(round(20 * scale / 0.5))
    width = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for t in lines)
    cv2.rectangle(out, (0, 0), (width + 12, step * len(lines) + 8), (0, 0, 0), -1)
    for i, text in enumerate(lines):
        cv2.putText(out, text, (6, step * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return out


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


def _check_save(save: str | None, force: bool) -> Path | None:
    if save is None:
        return None
    path = Path(save)
    if path.suffix.lower() not in SAVE_VIDEO_FOURCC and path.suffix.lower() not in SAVE_IMAGE_SUFFIXES:
        raise EdgeLandmarksError(f"{save}: --save takes a video ({', '.join(SAVE_VIDEO_FOURCC)}) or an image "
                                 f"({', '.join(SAVE_IMAGE_SUFFIXES)})")
    refuse_overwrite(path, force)
    return path


def _check_gui() -> None:
    import cv2

    try:
        cv2.namedWindow("edge-lmk demo", cv2.WINDOW_AUTOSIZE)
    except cv2.error:
        raise EdgeLandmarksError(
            "this OpenCV has no window support (opencv-python-headless, the default install): watch the demo in a "
            "browser with --serve (http://127.0.0.1:8000), run it with --headless --save FILE, or install the GUI "
            "build: pip install 'edge-landmarks[gui]'") from None


def run_demo(model: str | Path, *, camera: int | None = None, picamera: bool = False, video: str | None = None,
             headless: bool = False, frames: int | None = None, save: str | None = None, force: bool = False,
             threads: int = 1, detector: str = "blazeface", smoothing: bool = True, verify_every: int = 10,
             width: int = 640, height: int = 480, draw: bool = True, serve: str | None = None,
             pace: bool = True, max_faces: int | None = None, search_every: int = 30, log=print) -> dict:
    """Run the demo loop and return its statistics (see the module docstring).

    ``frames``: stop after this many (default: the end of the video, or Esc / q in the window, or Ctrl-C).
    ``draw=False`` skips drawing when nothing is shown or saved (to time the bare pipeline).
    ``serve``: ``[HOST:]PORT`` to stream to browsers (no window); ``pace=False`` then reads a video file as fast as
    the pipeline goes instead of at its frame rate (to time the loop with clients connected).
    ``max_faces``: follow at most this many faces (None: every face the detector finds); ``search_every``: look
    for new faces every N frames while fewer are followed (0: only when none is).
    """
    import cv2

    from .detect import create_detector
    from .predictor import LandmarkPredictor, write_image
    from .track import FaceTracker

    if frames is not None and frames < 1:
        raise EdgeLandmarksError(f"--frames must be at least 1, got {frames}")
    if max_faces is not None and max_faces < 1:
        raise EdgeLandmarksError(f"--max-faces must be at least 1, got {max_faces}")
    save_path = _check_save(save, force)
    address = None
    if serve is not None:
        from .serve import parse_address

        address = parse_address(serve)
        headless = True
    predictor = LandmarkPredictor(model, threads=threads)
    tracker = FaceTracker(predictor, create_detector(detector, threads=threads), smoothing=smoothing,
                          verify_every=verify_every, max_faces=max_faces, search_every=search_every)
    if not headless:
        _check_gui()
    source = open_source(camera, picamera, video, width, height)
    server = None
    if address is not None:
        server = _start_server(address, source, predictor, model, log)
    draw = draw or not headless or save_path is not None or server is not None
    looping = server is not None and getattr(source, "is_file", False)
    pacer = _Pacer(source.fps) if looping and pace else None
    totals = Counter()
    counts = Counter()
    losses = Counter()
    writer = None
    best_frame = None
    fps_ema = None
    shown_ms = {"detect": 0.0, "landmarks": 0.0, "draw": 0.0}
    finished = interrupted = False
    shown_fps, last_shown = None, None
    start = time.perf_counter()
    stop_on_term = _TermAsInterrupt() if server is not None else contextlib.nullcontext()
    with stop_on_term:
        try:
            while frames is None or counts["frames"] < frames:
                t0 = time.perf_counter()
                if pacer is not None:  # a file served live: at its own frame rate, as a camera would give it
                    pacer.wait(source)
                    t0 = time.perf_counter()
                    if last_shown is not None:
                        gap = max(t0 - last_shown, 1e-6)
                        shown_fps = 1.0 / gap if shown_fps is None else 0.9 * shown_fps + 0.1 / gap
                    last_shown = t0
                frame, ts = source.read()
                if frame is None and looping and counts["frames"] and source.rewind():
                    frame, ts = source.read()
                t1 = time.perf_counter()
                if frame is None:
                    break
                result = tracker.update(frame, ts)
                t2 = time.perf_counter()
                _count(result, counts, losses, totals, t1 - t0)
                if draw:
                    dt = t2 - t0 + shown_ms["draw"] / 1e3
                    fps_ema = 1.0 / dt if fps_ema is None else 0.9 * fps_ema + 0.1 / max(dt, 1e-6)
                    shown_ms = {"detect": 1e3 * result.timings["detect"],
                                "landmarks": 1e3 * result.timings["landmarks"], "draw": shown_ms["draw"]}
                    out = annotate(frame, result, predictor.scheme, fps_ema, shown_ms, shown_fps)
                    t3 = time.perf_counter()
                    shown_ms["draw"] = 1e3 * (t3 - t2)
                    totals["draw"] += t3 - t2
                    if save_path is not None:
                        if save_path.suffix.lower() in SAVE_VIDEO_FOURCC:
                            if writer is None:
                                writer = _VideoOut(save_path, source.fps, (out.shape[1], out.shape[0]))
                            writer.write(out)
                        elif result.points is not None:
                            best_frame = out
                    if server is not None:
                        server.publish(out, _served_state(result, predictor.scheme, fps_ema, shown_ms, shown_fps))
                    if not headless:
                        cv2.imshow("edge-lmk demo", out)
                        if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                            break
                    totals["output"] += time.perf_counter() - t3
            finished = True
        except KeyboardInterrupt:
            finished = interrupted = True
        finally:
            elapsed = time.perf_counter() - start
            source.close()
            if server is not None:
                server.close()
            if writer is not None:
                writer.close(keep=finished)
            if not headless:
                cv2.destroyAllWindows()
    if save_path is not None and save_path.suffix.lower() in SAVE_IMAGE_SUFFIXES and best_frame is not None:
        write_image(save_path, best_frame)
    if counts["frames"] == 0:
        if interrupted:  # Ctrl-C (or SIGTERM) before the first frame: stopped, not a source that gives none
            raise EdgeLandmarksError(f"{source.name}: stopped before the first frame was read")
        raise EdgeLandmarksError(f"{source.name}: no frame could be read")
    saved = save_path is not None and (save_path.suffix.lower() in SAVE_VIDEO_FOURCC or best_frame is not None)
    settings = {"model": str(model), "format": predictor.format, "precision": predictor.precision,
                "input_size": predictor.config.input_size, "source": source.name, "threads": threads,
                "detector": detector, "smoothing": smoothing, "verify_every": verify_every, "max_faces": max_faces,
                "search_every": search_every, "drawn": draw}
    if server is not None:
        settings["served"] = {"url": server.url, "frames_sent": server.frames_sent, "paced": pacer is not None,
                              "frames_dropped": pacer.dropped if pacer is not None else 0}
    return {**settings, **_statistics(counts, losses, totals, elapsed), "saved": str(save_path) if saved else None}


def _start_server(address: tuple[str, int], source, predictor, model, log):
    from .serve import FrameServer, is_loopback

    host, port = address
    server = FrameServer(host, port, info={
        "model": Path(str(model)).name, "backend": f"{predictor.format} {predictor.precision}",
        "input_size": predictor.config.input_size, "scheme": predictor.scheme, "source": source.name})
    try:
        url = server.start()
    except Exception:
        source.close()
        raise
    if not is_loopback(host):
        log(f"warning: serving on {host}, reachable from other machines on this network (no password); "
            "the default, 127.0.0.1, is this machine only")
    log(f"serving {source.name} at {url} (Ctrl-C to stop); landmarks as JSON at {url}landmarks.json")
    return server


class _TermAsInterrupt:
    """While serving, SIGTERM (systemd, ``kill``) ends the loop as Ctrl-C does: the port is released, stats kept."""

    def __enter__(self):
        import signal
        import threading

        self._old = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        import signal

        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
        return False


def _served_state(result, scheme: str, fps: float | None, stage_ms: dict, shown_fps: float | None) -> dict:
    faces = [{"id": face.id, "points": np.round(np.asarray(face.points, dtype=np.float64), 2).tolist(),
              "scheme": scheme, "box": [round(float(v), 2) for v in face.box], "detected": bool(face.detected)}
             for face in result.faces]
    rate = shown_fps if shown_fps is not None else fps
    return {"faces": faces, "fps": round(float(rate), 2) if rate is not None else None,
            "pipeline_fps": round(float(fps), 2) if fps is not None else None,
            "ms": {k: round(float(v), 3) for k, v in stage_ms.items()}}


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
    if result.lost:
        losses[result.lost] += 1
    totals["read"] += read_seconds
    for k, v in result.timings.items():
        totals[k] += v


def _statistics(counts: Counter, losses: Counter, totals: Counter, elapsed: float) -> dict:
    n = counts["frames"]
    stages = ["read", "detect", "landmarks", "draw", "output"]
    return {
        "frames": n, "faces": counts["faces"], "faces_per_frame": round(counts["face_crops"] / n, 3),
        "most_faces": counts["most_faces"], "detections": counts["detections"], "searches": counts["searches"],
        "checks": counts["checks"],
        "reanchors": counts["reanchors"], "track_losses": dict(losses), "seconds": round(elapsed, 4),
        "fps": round(n / elapsed, 2),
        "ms_per_frame": {k: round(1e3 * totals[k] / n, 3) for k in stages},
        "detect_ms_per_call": round(1e3 * totals["detect"] / max(1, counts["detections"] + counts["searches"]
                                                                 + counts["checks"]), 3),
    }


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

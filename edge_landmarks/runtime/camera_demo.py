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

The parts live beside it: the frame sources and the pacing in :mod:`.sources`, what the demo writes and counts in
:mod:`.demo_output`, the test video in :mod:`edge_landmarks.data.video`; this module is the loop and its drawing.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..data.video import SAVE_VIDEO_FOURCC, make_test_video
from ..errors import EdgeLandmarksError
from .demo_output import SAVE_IMAGE_SUFFIXES, _count, _statistics, _VideoOut, check_save
from .sources import _Pacer, open_source

__all__ = ["DemoSettings", "run_demo", "annotate", "open_source", "make_test_video"]


@dataclass
class DemoSettings:
    """Everything a demo run is given but the model (the CLI's options; see :func:`run_demo`)."""

    camera: int | None = None
    picamera: bool = False
    video: str | None = None
    headless: bool = False
    frames: int | None = None
    """Stop after this many (default: the end of the video, or Esc / q in the window, or Ctrl-C)."""
    save: str | None = None
    force: bool = False
    threads: int = 1
    flip: bool = False
    """Average each face's points with those on its mirror image (two model calls a face; ``--accurate``)."""
    detector: str = "blazeface"
    smoothing: bool = True
    verify_every: int = 10
    width: int = 640
    height: int = 480
    draw: bool = False
    """Draw every frame even when nothing shows it (a window, ``save`` and ``serve`` draw anyway): headless without
    an output, the points are computed and timed but not drawn."""
    serve: str | None = None
    """``[HOST:]PORT`` to stream to browsers (no window)."""
    pace: bool = True
    """With ``serve``, a video file at its own frame rate (False: as fast as the pipeline goes)."""
    max_faces: int | None = None
    """Follow at most this many faces (None: every face the detector finds)."""
    search_every: int = 30
    """Look for new faces every N frames while fewer than ``max_faces`` are followed (0: only when none is)."""

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


def _check_gui() -> None:
    import cv2

    try:
        cv2.namedWindow("edge-lmk demo", cv2.WINDOW_AUTOSIZE)
    except cv2.error:
        raise EdgeLandmarksError(
            "this OpenCV has no window support (opencv-python-headless, the default install): watch the demo in a "
            "browser with --serve (http://127.0.0.1:8000), run it with --headless --save FILE, or install the GUI "
            "build: pip install 'edge-landmarks[gui]'") from None


def run_demo(model: str | Path, settings: DemoSettings | None = None, *, log=print, **options) -> dict:
    """Run the demo loop and return its statistics (see the module docstring). ``settings`` (or the same fields as
    keyword ``options``): the sources, outputs, tracker and server of the run."""
    import cv2

    from .detect import create_detector
    from .predictor import LandmarkPredictor, write_image
    from .track import FaceTracker

    cfg = replace(settings or DemoSettings(), **options)  # an unknown option is a TypeError, as for any call
    camera, picamera, video, headless, frames = cfg.camera, cfg.picamera, cfg.video, cfg.headless, cfg.frames
    save, force, threads, detector, smoothing = cfg.save, cfg.force, cfg.threads, cfg.detector, cfg.smoothing
    verify_every, width, height, draw, serve = cfg.verify_every, cfg.width, cfg.height, cfg.draw, cfg.serve
    pace, max_faces, search_every = cfg.pace, cfg.max_faces, cfg.search_every

    if frames is not None and frames < 1:
        raise EdgeLandmarksError(f"--frames must be at least 1, got {frames}")
    if max_faces is not None and max_faces < 1:
        raise EdgeLandmarksError(f"--max-faces must be at least 1, got {max_faces}")
    save_path = check_save(save, force)
    address = None
    if serve is not None:
        from .serve import parse_address

        address = parse_address(serve)
        headless = True
    predictor = LandmarkPredictor(model, threads=threads, flip=cfg.flip)
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
                "input_size": predictor.config.input_size, "flip": predictor.flip, "source": source.name,
                "threads": threads, "detector": detector, "smoothing": smoothing, "verify_every": verify_every,
                "max_faces": max_faces, "search_every": search_every, "drawn": draw}
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
    faces = [{**face.to_dict(), "scheme": scheme} for face in result.faces]
    rate = shown_fps if shown_fps is not None else fps
    return {"faces": faces, "fps": round(float(rate), 2) if rate is not None else None,
            "pipeline_fps": round(float(fps), 2) if fps is not None else None,
            "ms": {k: round(float(v), 3) for k, v in stage_ms.items()}}



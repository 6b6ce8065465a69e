"""The demo in a browser (``edge-lmk demo --serve``): the HTTP server on its own, then the real command loaded in a
real headless Chromium (Debian's ``chromium``, installed by .ci/run)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from edge_landmarks.errors import EdgeLandmarksError
from edge_landmarks.runtime.serve import FrameServer, is_loopback, parse_address

ROOT = Path(__file__).resolve().parents[1]


def _get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def _frame(i: int) -> np.ndarray:
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, : (i % 320) + 1] = (40, 160, 220)
    return img


def test_addresses():
    assert parse_address("8000") == ("127.0.0.1", 8000)
    assert parse_address("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    assert parse_address(":7000") == ("127.0.0.1", 7000)
    for bad in ("http", "1.2.3.4:", "host:99999", "host:-1"):
        with pytest.raises(EdgeLandmarksError, match=r"--serve .*\[HOST:\]PORT"):
            parse_address(bad)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


def test_server_pages_and_json():
    server = FrameServer("127.0.0.1", 0, info={"model": "m.onnx", "backend": "onnx int8"})
    url = server.start()
    try:
        with pytest.raises(urllib.error.HTTPError, match="503"):  # nothing published yet
            _get(url + "frame.jpg")
        server.publish(_frame(5), {"faces": [{"points": [[1.0, 2.0]], "box": [0, 0, 4, 4]}], "fps": 30.0})
        page = _get(url).decode()
        assert "/stream.mjpg" in page and "m.onnx" in page and "onnx int8" in page
        state = json.loads(_get(url + "landmarks.json"))
        assert state["frame"] == 1 and state["faces"][0]["points"] == [[1.0, 2.0]] and state["model"] == "m.onnx"
        jpeg = _get(url + "frame.jpg")
        import cv2

        assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)
        with pytest.raises(urllib.error.HTTPError, match="404"):
            _get(url + "nothing")
    finally:
        server.close()
    _assert_released(server.port)


def _assert_released(port: int) -> None:
    """Nothing listens on ``port`` any more: a server can bind it (with SO_REUSEADDR, as servers do, since the
    closed connections may sit in TIME_WAIT)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def _read_parts(sock_file, n: int) -> list[bytes]:
    """``n`` JPEG parts of a multipart/x-mixed-replace stream."""
    parts = []
    while len(parts) < n:
        line = sock_file.readline()
        if not line:
            break
        m = re.match(rb"Content-Length: (\d+)", line)
        if m:
            sock_file.readline()  # the blank line
            parts.append(sock_file.read(int(m.group(1))))
    return parts


def test_a_client_that_stops_reading_never_stalls_publishing():
    """A client that opens the stream and reads nothing fills its socket; publishing goes on at full speed and a
    second client still gets new frames. (A server that waited for clients would hang here for client_timeout.)"""
    server = FrameServer("127.0.0.1", 0, client_timeout=120.0)
    server.start()
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    stalled.sendall(request)
    reader = socket.create_connection(("127.0.0.1", server.port))
    reader.sendall(request)
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.extend(_read_parts(reader.makefile("rb"), 20)), daemon=True)
    t.start()
    noise = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)  # ~200 kB JPEGs
    done = threading.Event()

    def publish_many():
        for i in range(300):
            server.publish(np.roll(noise, i, axis=1), {"faces": []})
            time.sleep(0.002)
        done.set()

    threading.Thread(target=publish_many, daemon=True).start()
    try:
        assert done.wait(60), "publishing stalled behind a client that does not read"
        t.join(30)
        assert len(got) == 20 and all(p.startswith(b"\xff\xd8") for p in got)
        assert server.clients == 2  # the stalled client is still connected, only it misses frames
    finally:
        stalled.close()
        reader.close()
        server.close()


def _chromium() -> str:
    exe = os.environ.get("EDGE_LMK_CHROMIUM") or next(
        (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if not exe:
        pytest.fail("the browser test needs Chromium: sudo apt-get install -y chromium (Debian; .ci/run does it), "
                    "or set EDGE_LMK_CHROMIUM to a Chrome or Chromium binary")
    return exe


@pytest.mark.slow
def test_demo_serves_the_annotated_stream_to_a_real_browser(tmp_path):
    from edge_landmarks.data.video import make_test_video

    chromium = _chromium()
    video = make_test_video(tmp_path / "faces.mp4", frames=60)
    cmd = [sys.executable, "-m", "edge_landmarks", "demo", "--video", str(video), "--serve", "127.0.0.1:0", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        url = None
        for line in proc.stderr:
            m = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
            if m:
                url = m.group(1)
                break
        assert url, "the demo printed no URL"
        state = {"faces": []}
        for _ in range(100):
            state = json.loads(_get(url + "landmarks.json"))
            if state.get("faces"):
                break
            time.sleep(0.1)
        face = state["faces"][0]
        pts, (x0, y0, x1, y1) = np.array(face["points"]), face["box"]
        assert pts.shape == (68, 2) and state["scheme"] == "ibug68"
        tol = 0.1 * (x1 - x0)  # the box is the tracker's face region; the jaw may touch its edge
        assert ((pts[:, 0] >= x0 - tol) & (pts[:, 0] <= x1 + tol) & (pts[:, 1] >= y0 - tol)
                & (pts[:, 1] <= y1 + tol)).all(), (pts, face["box"])
        assert np.ptp(pts[:, 0]) > 0.5 * (x1 - x0)  # and spread over it, not a collapsed shape

        shot = tmp_path / "shot.png"
        # The video cuts between photos and its faces drift: every face box served while the browser takes its shot
        # is kept, and the annotation must lie in one of them.
        boxes, shooting = [face["box"]], threading.Event()

        def sample() -> None:
            while not shooting.wait(0.05):
                boxes.extend(f["box"] for f in json.loads(_get(url + "landmarks.json")).get("faces", []))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # the flags of a closed network: no background connections that the machine would refuse
        try:
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--disable-quic", "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                            "--window-size=700,600", f"--screenshot={shot}", "--virtual-time-budget=2000", url],
                           check=True, capture_output=True, timeout=120)
        finally:
            shooting.set()
            sampler.join(10)
        import cv2

        img = cv2.imread(str(shot))
        assert img is not None and img.shape[:2] == (600, 700)
        # The page shows the 640x480 stream at the top left. The nose points are drawn pure green (BGR 0, 255, 0):
        # they must be in the shot, in a face's region.
        green = (img[:, :, 1] > 180) & (img[:, :, 0] < 110) & (img[:, :, 2] < 110)
        ys, xs = np.nonzero(green[:480, :640])
        near = np.zeros(len(xs), bool)
        for bx0, by0, bx1, by1 in boxes:
            pad = 0.3 * (bx1 - bx0)
            near |= (xs > bx0 - pad) & (xs < bx1 + pad) & (ys > by0 - pad) & (ys < by1 + pad)
        inside = int(near.sum())
        assert inside >= 8, f"no annotated face in the browser's screenshot ({inside} nose pixels in the boxes)"
        assert inside > 0.8 * len(xs), "green pixels outside the face: not the annotation"
        page_text = (img[480:, :, :] > 150).sum()  # the info line under the stream is drawn
        assert page_text > 100
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    stats = json.loads(out)
    assert stats["served"]["frames_sent"] >= 1 and stats["frames"] > 10
    _assert_released(int(re.search(r":(\d+)/", url).group(1)))

"""The camera demo in a real window: the ``gui`` extra's OpenCV (Qt) on a virtual X screen (Xvfb).

The suite's own install is headless (opencv-python-headless, the default), so this test installs exactly what
``pip install 'edge-landmarks[gui]'`` adds (the extra's requirement, read from pyproject.toml) into a folder put
first on the demo's ``PYTHONPATH``, starts Xvfb, runs ``edge-lmk demo --video`` as a user would, and takes two
screenshots of the window with python-xlib: the window must exist under the demo's name and show the annotated
frames (the demo's info box and green nose points), changing from one shot to the next. Needs Debian's ``xvfb``
(`.ci/run` installs it) and PyPI for the two wheels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

SHOOT = r'''
import sys, time
import numpy as np
from Xlib import X, display

d = display.Display()
root = d.screen().root


def find(win):
    for child in win.query_tree().children:
        name = child.get_wm_name()
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if name and "edge-lmk demo" in name:
            return child
        found = find(child)
        if found is not None:
            return found
    return None


win = None
for _ in range(600):
    win = find(root)
    if win is not None:
        break
    time.sleep(0.05)
if win is None:
    sys.exit("no window named 'edge-lmk demo' appeared")
for k in range(2):
    time.sleep(1.0)
    g = win.get_geometry()
    raw = win.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF)
    shot = np.frombuffer(raw.data, np.uint8).reshape(g.height, g.width, 4)[:, :, :3]
    np.save(sys.argv[1] + f"/shot{k}.npy", shot)
'''


def _gui_requirement() -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (req,) = extras["gui"]
    return req


def test_the_gui_extra_opens_a_window_that_shows_the_frames(tmp_path):
    from edge_landmarks.data.video import make_test_video

    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is missing: sudo apt-get install -y xvfb (.ci/run installs it)"
    site = tmp_path / "gui-site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                    _gui_requirement(), "python-xlib==0.33", "six"], check=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    probe = subprocess.run([sys.executable, "-c", "import cv2; print(cv2.getBuildInformation())"], env=env,
                           capture_output=True, text=True, check=True)
    gui = probe.stdout.split("GUI:")[1].splitlines()[0]
    assert "NONE" not in gui.upper(), f"the gui extra's OpenCV has no GUI backend: {gui}"

    video = make_test_video(tmp_path / "two.mp4", frames=900, together=True)
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        assert number, "Xvfb did not start: " + server.stderr.read().decode()[-500:]
        env["DISPLAY"] = f":{number}"
        demo = subprocess.Popen([sys.executable, "-m", "edge_landmarks", "demo", "--video", str(video), "--json"],
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            shooter = subprocess.run([sys.executable, "-c", SHOOT, str(tmp_path)], env=env, capture_output=True,
                                     text=True, timeout=120)
            assert shooter.returncode == 0, shooter.stderr[-2000:]
        finally:
            if demo.poll() is None:
                demo.terminate()
            out, err = demo.communicate(timeout=60)
        assert "no window support" not in err, err[-1000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
    shots = [np.load(tmp_path / f"shot{k}.npy") for k in range(2)]
    frames = []
    for shot in shots:  # the window: Qt's tool bar, the frame at its own size, a status line
        assert shot.shape[1] == 640 and shot.shape[0] >= 480, shot.shape
        dark = (shot[:, :200] < 10).all(axis=2).mean(axis=1) > 0.9
        assert dark.any(), "no info box of the demo in the window"
        top = int(np.argmax(dark))  # the demo's black info box with white text starts the frame
        frame = shot[top:top + 480]
        assert frame.shape[0] == 480 and (frame[:30, :200] > 200).any()
        green = (frame[:, :, 1] > 180) & (frame[:, :, 0] < 110) & (frame[:, :, 2] < 110)
        assert green[:, :320].sum() >= 4 and green[:, 320:].sum() >= 4, "no annotated face on each half"
        frames.append(frame)
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).mean() > 0.5, "the window did not change: no frames"

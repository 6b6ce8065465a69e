"""Faults at the OS boundary, for real: a file-size limit (RLIMIT_FSIZE, what a full disk looks like to the
process: writes fail with EFBIG) on the commands that write videos. They must fail with one clear line and leave
nothing that looks like a finished file."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest


def _limited(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _run(args, cwd, limit=300_000):
    return subprocess.run([sys.executable, "-m", "edge_landmarks", *args], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=_limited(limit), timeout=300)


@pytest.mark.parametrize("command", ["data video", "demo --save"])
def test_a_video_that_does_not_fit_is_an_error_not_a_broken_file(command, tmp_path):
    if command == "data video":
        res = _run(["data", "video", "--out", "v.mp4"], tmp_path)
        target = tmp_path / "v.mp4"
    else:
        from edge_landmarks.runtime.camera_demo import make_test_video

        make_test_video(tmp_path / "in.mp4", frames=100)
        res = _run(["demo", "--video", "in.mp4", "--headless", "--save", "out.mp4"], tmp_path)
        target = tmp_path / "out.mp4"
    assert res.returncode == 1, res.stdout + res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {target.name}: the video did not write correctly") and "disk full" in last
    assert "Traceback" not in res.stderr
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{target.name}")]  # no temporary left

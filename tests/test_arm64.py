"""The Raspberry Pi path on real aarch64 code: benchmarks/arm64/run.py under qemu's user-mode emulator.

An arm64 Debian root, the core install from the wheel by the emulated pip (aarch64 numpy, OpenCV, onnxruntime,
ai-edge-litert), then `edge-lmk predict --crop` with the shipped INT8 ONNX and TFLite files on demo68 crops and the
headless demo, compared with this machine's x86 run. Needs debootstrap and apt-get (.ci/run installs debootstrap);
about 3 minutes, most of it the emulated pip install.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(platform.machine() != "x86_64" or shutil.which("apt-get") is None,
                    reason="compares an x86_64 Debian host with emulated aarch64")
def test_core_install_and_shipped_model_agree_on_emulated_arm64(demo68, tmp_path):
    if shutil.which("debootstrap", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
        pytest.fail("debootstrap is missing: apt-get install debootstrap (the arm64 root is built with it)")
    out = tmp_path / "out"
    env = {**os.environ, "EDGE_LMK_ARM64_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "arm64" / "run.py"), "--cpu", "cortex-a72",
                           "--faces", "8", "--data", str(demo68), "--out", str(out)],
                          capture_output=True, text=True, timeout=1200, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((out / "arm64.json").read_text())
    (run,) = result["runs"]
    assert run["versions"]["machine"] == "aarch64"  # the code that ran was ARM's, not the host's
    assert "qemu-aarch64 version" in result["qemu"]
    files = {r["file"]: r for r in run["predict"]}
    assert set(files) == {"demo68_mobilenetv2_56_int8.onnx", "demo68_mobilenetv2_56_int8.tflite"}
    for r in files.values():
        assert r["faces"] == 8
        assert r["max_px"] <= 0.5, r  # of a 112 px crop
        assert abs(r["nme_arm64"] - r["nme_x86"]) < 2e-3, r
        assert 0.0 < r["nme_x86"] < 0.2, r  # real predictions of faces, not an empty or constant answer
    assert run["demo"]["arm64"]["frames"] == run["demo"]["x86"]["frames"] == 50
    assert run["demo"]["arm64"]["faces"] == run["demo"]["x86"]["faces"] > 40
    assert (out / "arm64.md").read_text().count("| cortex-a72 |") == 3

"""The wheel, as a user installs it: recipes, suites and the default model are package data, so `edge-lmk train`
and `edge-lmk bench --suite` work from any folder after a non-editable install, with no checkout in sight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_trains_and_benchmarks_from_another_folder(demo68, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(ROOT)], check=True, capture_output=True, timeout=600, env=env)
    (wheel,) = dist.glob("edge_landmarks-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "edge_landmarks/recipes/demo.yaml" in names and "edge_landmarks/recipes/kaggle_cnn1.yaml" in names
    assert {"edge_landmarks/bench/suites/quick.yaml", "edge_landmarks/bench/suites/full.yaml"} <= names
    assert "edge_landmarks/runtime/models/landmarks/demo68_mobilenetv2_56_int8.onnx" in names
    assert {"edge_landmarks/runtime/models/face_detection_short_range.tflite",  # the photo and the video detector
            "edge_landmarks/runtime/models/face_detection_full_range_sparse.tflite"} <= names

    # A fresh environment holding only the wheel; its dependencies are read from this environment's site-packages
    # as a plain path (so this environment's editable install of the checkout is not active there).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120, env=env)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=600, env=env)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    lmk = [str(venv / "bin" / "edge-lmk")]

    def run(*args):
        res = subprocess.run(lmk + list(args), cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, (args, res.stdout[-2000:], res.stderr[-3000:])
        return res

    where = subprocess.run([str(py), "-c", "import edge_landmarks; print(edge_landmarks.__file__)"], cwd=work,
                           env=env, check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(venv)), where  # the wheel's copy, not the checkout
    run("train", "demo", "--data", str(demo68), "--epochs", "1", "--threads", "2",
        "--out", "runs/quickstart/mobilenetv2_56")
    assert (work / "runs/quickstart/mobilenetv2_56/best.pt").is_file()
    run("bench", "--suite", "quick", "--data", str(demo68), "--sizes", "56", "--threads", "1", "--runs", "3",
              "--warmup", "1", "--no-dlib", "--no-mediapipe", "--clips", "0", "--out", "results")
    (found,) = (work / "results").rglob("bench.json")
    rows = json.loads(found.read_text())
    ok = {(r["format"], r["precision"]) for r in rows if r["status"] == "ok"}
    assert {("onnx", "int8"), ("openvino", "int8"), ("tflite", "int8"), ("pytorch", "fp32")} <= ok, rows
    bad = subprocess.run(lmk + ["train", "no_such_recipe"], cwd=work, env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "shipped recipes: demo" in bad.stderr

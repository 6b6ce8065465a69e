"""The default model shipped in the package: it runs with no training, finds and marks real colour faces through
the shipped detector, in both formats and both channel orders, against the teacher's labels; eval's two box
protocols on demo68's in-the-wild people."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edge_landmarks import LandmarkPredictor
from edge_landmarks.cli import main
from edge_landmarks.data import load_dataset
from edge_landmarks.data.transforms import face_box
from edge_landmarks.errors import EdgeLandmarksError
from edge_landmarks.metrics import nme
from edge_landmarks.runtime.detect import box_iou as _iou
from edge_landmarks.runtime.predictor import ACCURATE, DEFAULT_MODEL_DIR, SIZES, default_model

# demo68 builder 5 (26 faces). Measured when the files were made: 0.0786 (ONNX and TFLite) with the labels'
# boxes, 0.0860 / 0.0860 through the shipped detector (0.0929 before it dropped nested boxes). The mean shape:
# 0.235 / 0.258; the previous default model
# (builder 4, no face profiling): 0.095 / 0.112, which these limits would refuse.
NME_WILD_POINTS = 0.085
NME_WILD_DETECTOR = 0.10
# Through the predictor with the labels' boxes: 0.0787 / 0.0788 in the right channel order; 0.0847 / 0.0848 when a
# BGR frame is read as RGB, so a limit 3 % above the measured value catches a swapped colour order.
NME_WILD_PREDICTOR = 0.081


@pytest.fixture(scope="module")
def wild(demo68):
    """demo68's test_wild: colour photos of people in none of the model's training data, labelled by dlib."""
    return list(load_dataset(demo68).split("test_wild"))


def test_the_default_model_ships_with_its_sidecars_and_notice():
    for fmt in ("onnx", "tflite"):
        for size in SIZES:
            path = default_model(fmt, size=size)
            meta = json.loads(path.with_name(path.name + ".json").read_text())
            assert meta["precision"] == "int8" and meta["input_size"] == size and meta["scheme"] == "ibug68"
            assert meta["validation"]["delta_nme_rel"] < 0.02  # the INT8 file was checked against PyTorch FP32
            assert meta["source_checkpoint"] == f"tests/assets/demo68_mobilenetv2_{size}.pt"
    notice = (DEFAULT_MODEL_DIR / "NOTICE").read_text()
    assert "non-commercial" in notice.lower() and all(f"mobilenetv2_{size}_int8" in notice for size in SIZES)
    assert LandmarkPredictor().path == default_model("onnx") == default_model("onnx", size=56)  # the fast one
    with pytest.raises(EdgeLandmarksError, match="ships models at 56 and 112 px"):
        default_model("onnx", size=224)


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_the_accurate_model_meets_the_real_face_targets(demo68, tmp_path, fmt):
    """#31: the shipped 112 px model, INT8, with flip averaging (as ``edge-lmk predict`` runs it), through the shipped
    detector on demo68's in-the-wild people: NME at most 0.065, and at most 0.09 on the large-pose faces (measured
    when the files were made: ONNX 0.0610 / 0.0863, TFLite 0.0611 / 0.0869; the 56 px files: 0.0861 / 0.115)."""
    res = CliRunner().invoke(main, ["eval", str(default_model(fmt, size=ACCURATE)), "--data", str(demo68), "--split",
                                    "test_wild", "--boxes", "detector", "--flip", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    splits = json.loads(res.output)["splits"]
    wild, large = splits["test_wild"], splits["test_wild/large pose"]
    assert wild["detection_rate"] == 1.0 and wild["nme"] <= 0.065 and large["nme"] <= 0.09, (wild["nme"], large["nme"])


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_default_model_finds_and_marks_real_colour_faces(wild, fmt):
    """Whole photos through the shipped detector and the shipped model: each labelled face is found and its points
    are close to the teacher's; RGB frames with color="rgb" give exactly the BGR answer, and a frame passed in the
    wrong channel order moves the points (so the colour path is really taken)."""
    bgr_pred = LandmarkPredictor(default_model(fmt), color="bgr")
    rgb_pred = LandmarkPredictor(default_model(fmt), color="rgb")
    errors, moved = [], []
    for image_path in sorted({s.image_path for s in wild}):
        bgr = cv2.imread(image_path)
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        faces = bgr_pred.faces(bgr)
        for s in (s for s in wild if s.image_path == image_path):
            truth = face_box(s.landmarks)
            best = max(faces, key=lambda f: _iou(f.box, truth), default=None)
            assert best is not None and _iou(best.box, truth) >= 0.3, f"no face found at {truth} in {image_path}"
            errors.append(nme(best.points[None], s.landmarks[None], "ibug68")[0])
            assert np.abs(rgb_pred.predict(rgb, best.box) - best.points).max() < 1e-3
            moved.append(np.abs(rgb_pred.predict(bgr, best.box) - best.points).mean())
    assert np.mean(errors) < NME_WILD_DETECTOR
    assert np.mean(moved) > 0.3  # pixels: a swapped channel order is not invisible to the model


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_colour_frames_in_both_channel_orders_against_the_teachers_labels(wild, fmt):
    """LandmarkPredictor on the colour in-the-wild photos, as a webcam frame reaches it (BGR) and as RGB with
    color="rgb", each face cropped from its labelled box: NME against dlib's labels within 3 % of the release's
    measurement, which a swapped channel order, a shifted crop or a wrong mapping back to the frame would exceed."""
    gt = np.stack([s.landmarks for s in wild])
    for color in ("bgr", "rgb"):
        pred = LandmarkPredictor(default_model(fmt), color=color)
        pts = []
        for s in wild:
            bgr = s.load_image()
            assert bgr.ndim == 3 and not np.array_equal(bgr[..., 0], bgr[..., 2])  # a real colour photo
            frame = bgr if color == "bgr" else np.ascontiguousarray(bgr[:, :, ::-1])
            pts.append(pred.predict(frame, face_box(s.landmarks)))
        assert np.mean(nme(np.stack(pts), gt, "ibug68")) < NME_WILD_PREDICTOR, color


def test_eval_box_protocols_on_the_wild_split(demo68, tmp_path):
    out = {}
    for boxes in ("points", "detector"):
        res = CliRunner().invoke(main, ["eval", str(default_model("onnx")), "--data", str(demo68), "--split",
                                        "test_wild", "--boxes", boxes, "--json", "--out", str(tmp_path / boxes)])
        assert res.exit_code == 0, res.output
        out[boxes] = json.loads(res.output)
    assert out["points"]["boxes"] == "points" and out["points"]["nme"] < NME_WILD_POINTS
    det = out["detector"]["splits"]["test_wild"]
    assert det["detection_rate"] >= 0.8
    assert det["faces"] + det["missed"] == out["points"]["splits"]["test_wild"]["faces"]
    assert det["nme"] < NME_WILD_DETECTOR


def test_eval_reports_regions_yaw_and_the_large_pose_faces(demo68, tmp_path):
    """Where the shipped model fails: NME per region, per yaw bin, and test_wild's large-pose faces on their own."""
    res = CliRunner().invoke(main, ["eval", str(default_model("onnx")), "--data", str(demo68), "--split",
                                    "test_wild", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    wild, large = out["splits"]["test_wild"], out["splits"]["test_wild/large pose"]
    assert set(wild["regions"]) == {"jaw", "brows", "nose", "eyes", "mouth"}
    # the regions' errors, weighted by their points, make up the face's
    sizes = {"jaw": 17, "brows": 10, "nose": 9, "eyes": 12, "mouth": 20}
    assert sum(wild["regions"][r] * n for r, n in sizes.items()) / 68 == pytest.approx(wild["nme"], rel=1e-6)
    assert sum(b["faces"] for b in wild["by_yaw"]) == 26
    assert large["faces"] == wild["large_pose_faces"] >= 1 and large["nme"] > wild["nme"]  # turned faces are harder
    assert (tmp_path / "nme_vs_yaw.png").stat().st_size > 10_000


def test_eval_of_the_shipped_model_writes_into_the_working_folder(demo68, tmp_path, monkeypatch):
    """Never into the installed package: its eval output goes to ./eval-<stem>."""
    monkeypatch.chdir(tmp_path)
    model = default_model("onnx")
    res = CliRunner().invoke(main, ["eval", str(model), "--data", str(demo68), "--split", "test_wild"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / f"eval-{model.stem}" / "eval.json").is_file()
    assert not list(DEFAULT_MODEL_DIR.glob("eval-*"))


def test_predict_cli_marks_every_face_of_a_group_photo(wild, tmp_path):
    """`edge-lmk predict` with the shipped model on the in-the-wild photo with the most labelled people: a face
    for each of them, largest first, each near its labels, and one overlay with them all."""
    from collections import Counter

    folder, n = Counter(Path(s.image_path).parent for s in wild).most_common(1)[0]
    people = [s for s in wild if Path(s.image_path).parent == folder]  # one copy of the photo per labelled face
    path = people[0].image_path
    assert n >= 4 and len({Path(s.image_path).read_bytes() for s in people}) == 1
    res = CliRunner().invoke(main, ["predict", path, "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    result = json.loads(res.output[res.output.index("{"):])
    assert result["model"] == str(default_model("onnx", size=ACCURATE)) and result["flip"] is True  # no MODEL given
    faces = result["images"][0]["faces"]
    assert len(faces) >= n
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in (f["detection_box"] for f in faces)]  # the detector's order
    assert areas == sorted(areas, reverse=True)
    for s in people:
        best = max(faces, key=lambda f: _iou(f["box"], face_box(s.landmarks)))
        assert nme(np.array(best["points"])[None], s.landmarks[None], "ibug68")[0] < 0.2, s.source
    assert cv2.imread(str(tmp_path / f"{Path(path).stem}_landmarks.jpg")) is not None


RELEASE_ISA = {56: "avx2", 112: "avx512_vnni"}
"""The x86 instruction set of the machine each size's shipped files were last built on (train/release.sh: 56 px on
2026-12-02, AVX2; 112 px on 2026-12-03, an AMD EPYC with AVX-512 VNNI and no AMX): the FP32 reference's last float
digits, hence the sidecars' numbers and the ONNX file's calibration ranges, depend on it (AVX2 or AVX-512 kernels,
and AMX: an Intel Xeon with AVX-512 VNNI and AMX and this AMD EPYC made 112 px ONNX files that differ, 2026-12-03);
the TFLite file came out byte-identical on all of them."""


def _isa() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    return ("amx_int8" if "amx_int8" in flags else "avx512_vnni" if "avx512_vnni" in flags
            else "avx2" if " avx2" in flags else "other")


def _numbers_close(a, b, where: str = "", rel: float = 1e-3, abs_: float = 1e-9) -> None:
    """Two sidecars equal but for the last digits of their measured numbers (within ``rel`` or ``abs_``)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _numbers_close(a[k], b[k], f"{where}.{k}", rel, abs_)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _numbers_close(x, y, f"{where}[{i}]", rel, abs_)
    elif isinstance(a, float) and not isinstance(b, bool):
        assert b == pytest.approx(a, rel=rel, abs=abs_), where
    else:
        assert a == b, where


@pytest.mark.slow
def test_the_release_script_rebuilds_the_shipped_files_byte_for_byte(cache_env, demo68, tmp_path):
    """train/release.sh from the shipped checkpoint, as its header says, makes exactly the files the package ships
    on a machine of the release machine's instruction set; on another, the same files but for the last float
    digits (TFLite: byte for byte everywhere; ONNX: its calibration ranges differ in the last digits, and its
    landmarks stay within 0.3 px of the shipped file's with the same NME: on an AVX-512 VNNI machine, 2026-12-03,
    0.187 px at most on the 40 test faces, NME 0.04948 against 0.04950). Their
    sidecars name no machine path."""
    import hashlib
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "CHECKPOINT": "tests/assets/demo68_mobilenetv2_56.pt", "DEST": str(tmp_path / "dest"),
           "CHECKPOINT_112": "tests/assets/demo68_mobilenetv2_112.pt",
           "EDGE_LMK": str(Path(sys.executable).parent / "edge-lmk")}
    res = subprocess.run(["bash", "train/release.sh", str(tmp_path / "run")], cwd=root, env=env, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    shipped = sorted(p for p in DEFAULT_MODEL_DIR.iterdir() if p.name.startswith("demo68_mobilenetv2_"))
    assert len(shipped) == 8
    faces = list(load_dataset(demo68).split("test"))[:10]
    for p in shipped:
        size = int(p.name.split("_")[2])
        same_isa = _isa() == RELEASE_ISA[size]
        rebuilt = tmp_path / "dest" / p.name
        same = hashlib.sha256(rebuilt.read_bytes()).hexdigest() == hashlib.sha256(p.read_bytes()).hexdigest()
        if p.suffix == ".json":
            meta = json.loads(p.read_text())
            assert meta["source_checkpoint"] == f"tests/assets/demo68_mobilenetv2_{size}.pt"
            assert str(root) not in p.read_text() and "/tmp/" not in p.read_text()
            if not same:
                assert not same_isa, f"{p.name} differs on a {RELEASE_ISA[size]} machine"
                ours = json.loads(rebuilt.read_text())
                if ".onnx" in p.name:
                    # the ONNX file itself differs there (below: its points, the strict check), so what its own
                    # check measured on the validation faces moves with it (56 px, AVX2 -> AVX-512 VNNI: mean px
                    # error against FP32 0.1514 -> 0.1522, NME change 0.000150 -> 0.000146; 112 px stage 2, Intel
                    # with AMX -> AMD EPYC: 0.0874 -> 0.0882, 0.000281 -> 0.000284, points 0.136 px apart at most):
                    # those numbers within a quarter, or 0.001 (NME units) near zero; the rest as every sidecar
                    for key in ("validation", "budget"):
                        _numbers_close(meta.pop(key), ours.pop(key), f"{p.name}.{key}", rel=0.25, abs_=1e-3)
                _numbers_close(meta, ours, p.name, rel=2e-2, abs_=1e-4)
        elif not same:
            assert not same_isa and p.suffix == ".onnx", f"{p.name} differs ({_isa()} machine)"
            ours, theirs = LandmarkPredictor(rebuilt), LandmarkPredictor(p)
            a, b = (np.stack([m.predict(s.load_image(), face_box(s.landmarks)) for s in faces]) for m in (ours, theirs))
            assert np.abs(a - b).max() < 0.3
            truth = np.stack([s.landmarks for s in faces])
            assert nme(a, truth, "ibug68").mean() == pytest.approx(nme(b, truth, "ibug68").mean(), rel=5e-3)


def test_eval_through_the_detector_counts_a_face_it_cannot_find(demo68, tmp_path):
    """Three labelled faces, one of them painted over (the label stays, as for a face hidden from the camera): the
    detector protocol scores the two it finds and counts the third as missed, never silently dropping it."""
    from edge_landmarks.data.formats.pts import write_pts

    faces = list(load_dataset(demo68).split("test"))[:3]
    folder = tmp_path / "set" / "test"
    folder.mkdir(parents=True)
    for k, s in enumerate(faces):
        image = s.load_image().copy()
        if k == 2:
            x0, y0, x1, y1 = (int(round(v)) for v in face_box(s.landmarks))
            pad = (x1 - x0) // 2
            image[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = int(image.mean())
        assert cv2.imwrite(str(folder / f"face{k}.png"), image)
        write_pts(folder / f"face{k}.pts", s.landmarks)
    res = CliRunner().invoke(main, ["eval", str(default_model("onnx")), "--data", str(tmp_path / "set"), "--boxes",
                                    "detector", "--json", "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    m = json.loads(res.output)["splits"]["test"]
    assert (m["faces"], m["missed"]) == (2, 1) and m["detection_rate"] == pytest.approx(2 / 3)

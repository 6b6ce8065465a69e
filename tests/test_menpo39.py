"""The 39-point profile scheme (Menpo 2D): its definition, NME, the .pts path, and a 39-point model from training
through every format to the benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from menpo39_set import build

from edge_landmarks.data import load_dataset
from edge_landmarks.metrics import nme, summarize
from edge_landmarks.schemes import convert, convertible, get_scheme


@pytest.fixture(scope="module")
def menpo39(demo68, tmp_path_factory):
    return build(demo68, tmp_path_factory.mktemp("menpo39"), {"train": 24, "val": 6, "test": 8})


def test_scheme_definition():
    s = get_scheme("menpo39")
    assert s.num_points == 39 and len(set(s.names)) == 39
    assert s.flip_perm == tuple(range(39))  # one visible side: a flipped left profile is a right profile, same order
    assert s.names[:10] == tuple(f"contour_{i}" for i in range(10)) and s.names[19] == "nose_bridge_3"
    assert s.names[24] == "eye_outer_corner" and s.names[30] == "mouth_outer_3" and s.names[36] == "mouth_inner_2"
    assert s.nme_norm == "diagonal" and s.outer_eye_corners is None and s.pupils is None
    # no conversion invents points: none from 68 (or 98, through 68) to 39, none back
    for other in ("ibug68", "wflw98", "kaggle15", "eyes12"):
        assert not convertible(other, "menpo39") and not convertible("menpo39", other)
    with pytest.raises(ValueError, match="no conversion from ibug68 to menpo39"):
        convert(np.zeros((68, 2)), "ibug68", "menpo39")


def test_flip_keeps_the_order_and_mirrors_x():
    pts = np.random.default_rng(0).uniform(0, 99, size=(39, 2))
    flipped = get_scheme("menpo39").flip(pts, 100)
    assert np.allclose(flipped[:, 0], 99 - pts[:, 0]) and np.allclose(flipped[:, 1], pts[:, 1])


def test_diagonal_nme_by_hand():
    gt = np.zeros((1, 39, 2))
    gt[0, :, 0] = np.linspace(0, 30, 39)  # box 30 x 40: diagonal 50
    gt[0, :, 1] = np.linspace(0, 40, 39)
    pred = gt.copy()
    pred[0, :, 0] += 5.0  # every point 5 px off
    assert nme(pred, gt, "menpo39")[0] == pytest.approx(0.1)
    assert nme(pred, gt, "menpo39", "box")[0] == pytest.approx(5 / np.sqrt(30 * 40))
    m = summarize(pred, gt, "menpo39")
    assert m["nme"] == pytest.approx(0.1) and m["nme_norm"] == "diagonal" and np.isnan(m["nme_interpupil"])
    assert m["fr_08"] == 1.0 and m["fr_10"] == 0.0  # FR uses the scheme's NME (0.1 is not above 0.1)
    # the 68-point schemes keep inter-ocular as their headline
    assert summarize(np.zeros((1, 68, 2)) + 1, np.random.default_rng(1).uniform(0, 50, (1, 68, 2)),
                     "ibug68")["nme_norm"] == "interocular"


def test_pts_reader_and_mixed_folders(menpo39):
    data = load_dataset(menpo39)
    assert data.format == "pts"
    counts = {}
    for s in data:
        counts[s.scheme] = counts.get(s.scheme, 0) + 1
    assert counts == {"menpo39": 38, "ibug68": 4}
    kept, dropped = data.split("train").for_scheme("menpo39")
    assert len(kept) == 24 and dropped == {"ibug68": 4}
    kept68, dropped68 = data.split("train").for_scheme("ibug68")
    assert len(kept68) == 4 and dropped68 == {"menpo39": 24}
    kaggle, _ = data.split("train").for_scheme("kaggle15")  # 68 converts to 15; 39 does not
    assert len(kaggle) == 4


@pytest.mark.slow
def test_a_39_point_model_trains_exports_and_benchmarks(menpo39, tmp_path):
    from edge_landmarks.bench import collect_targets, run_bench
    from edge_landmarks.evaluation import run_eval
    from edge_landmarks.export import ExportJob
    from edge_landmarks.formats import export_formats
    from edge_landmarks.training import load_checkpoint, load_recipe, train

    cfg = load_recipe("mobilenetv2_menpo39_56", epochs=2, batch_size=8, threads=2, data=str(menpo39))
    lines: list[str] = []
    summary = train(cfg, out=tmp_path / "run", progress=False, log=lines.append)
    assert any("38 of 42 faces are menpo39" in line and "4 ibug68" in line for line in lines), lines
    assert summary["epochs"] == 2 and np.isfinite(summary["best_val_nme"])
    model, _ = load_checkpoint(tmp_path / "run" / "best.pt")
    assert model.config.scheme == "menpo39" and model.config.num_points == 39 and model.config.input_size == 56

    ev = run_eval(str(tmp_path / "run" / "best.pt"), str(menpo39), split="test", out=tmp_path / "eval", worst=0)
    assert ev["splits"]["test"]["faces"] == 8 and ev["splits"]["test"]["nme_norm"] == "diagonal"

    made = []
    job = ExportJob(tmp_path / "run" / "best.pt", out=tmp_path / "export", data=str(menpo39), check_faces=6)
    for fmt in sorted(export_formats()):
        for precision in ("fp32", "int8"):
            rec = job.write(fmt, precision, calib_size=16)
            assert rec["validation"]["faces"] == 6, rec
            sidecar = json.loads(Path(rec["path"] + ".json").read_text())
            assert sidecar["model_config"]["scheme"] == "menpo39"
            made.append(rec)
    assert {(r["format"], r["precision"]) for r in made} == {(f, p) for f in export_formats()
                                                            for p in ("fp32", "int8")}
    assert all(r["validation"]["max_px_error_vs_fp32"] < 0.01 for r in made if r["precision"] == "fp32")

    targets = collect_targets([tmp_path / "export"], references=True)
    result = run_bench(targets, data=str(menpo39), split="test", runs=3, warmup=1, dlib=True, progress=False)
    rows = result["rows"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert {(r["format"], r["precision"]) for r in ok} >= {(f, p) for f in export_formats() for p in ("fp32", "int8")}
    assert all(r["model"] == "mobilenetv2" and np.isfinite(r["nme"]) for r in ok)
    (dlib,) = [r for r in rows if r["format"] == "dlib"]
    assert dlib["status"] == "error" and "menpo39" in dlib["reason"]  # dlib's 68 points cannot score 39-point faces

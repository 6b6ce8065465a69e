"""The five seeds' journeys, end to end on their own dataset layouts (``replicas.py``), through the CLI as the docs
print it: train (one epoch), eval in the seed's protocol, export / quantize, bench on the seed's split.

One test per seed system. Each trains for one epoch only: what is checked is that every step runs on the layout as
published and reports the seed's way, not the accuracy (the replicas are tiny)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import replicas
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.data.holdout import HOLDOUT_FRACTION
from edge_landmarks.training import load_checkpoint

pytestmark = pytest.mark.slow


def cli(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def _eval(ckpt: Path, data: Path, out: Path, *more: str) -> dict:
    return json.loads(cli("eval", ckpt, "--data", data, "--out", out, "--json", *more).strip().splitlines()[-1])


def _held_out(run: Path, data_faces: int) -> list[str]:
    """The run's validation faces: listed, a seeded part of the training faces, recorded in the checkpoint."""
    listed = (run / "val_faces.txt").read_text().splitlines()
    _, ckpt = load_checkpoint(run / "best.pt")
    assert ckpt["validation"]["faces"] == listed and "held out" in ckpt["validation"]["rule"]
    assert 1 <= len(listed) <= max(1, round(2 * HOLDOUT_FRACTION * data_faces))
    return listed


def _bench_row(artefact: Path, data: Path, tmp: Path) -> dict:
    rows = tmp / f"{artefact.stem}.json"
    cli("bench", artefact, "--data", data, "--runs", 5, "--warmup", 1, "--no-dlib", "--json", rows)
    row = next(r for r in json.loads(rows.read_text()) if r["file"].endswith(artefact.name))
    assert row["status"] == "ok" and row["faces"] > 0 and math.isfinite(row["nme"]), row
    return row


def test_300w_table_seed_003(demo68, tmp_path, monkeypatch):
    """300-W as published (subset folders, .pts, the private test set, the XML list) and Menpo 2D's mixed
    trainset, with the 300W table's 56 px recipe and its 39-point configuration."""
    monkeypatch.chdir(tmp_path)
    root = replicas.build_300w(demo68, tmp_path / "300W")
    out = cli("train", "mobilenetv2_300w_56", "--data", root, "--epochs", 1, "--out", "runs/m56")
    assert "held out (seed 0, stratified by subset, whole photos)" in out
    held = _held_out(Path("runs/m56"), 18)
    assert all("/helen/testset/" not in f and "/ibug/" not in f for f in held)  # never a test face
    ev = _eval(Path("runs/m56/best.pt"), root, tmp_path / "ev", "--vs-seed")
    assert ev["protocol"] == "300w" and list(ev["splits"]) == ["common", "challenge", "full", "test300w"]
    assert [ev["splits"][n]["faces"] for n in ev["splits"]] == [8, 5, 13, 6]
    assert ev["seed_reference"]["published_nme_percent"]["full"] == 5.27
    table = cli("eval", "runs/m56/best.pt", "--data", root, "--out", tmp_path / "ev2", "--vs-seed")
    assert "NME %" in table and "FR@0.08 %" in table and "seed (mobilenetv2_300w_56)" in table
    cli("quantize", "runs/m56/best.pt", "--int8", "--format", "onnx", "--max-nme-increase", "off")
    row = _bench_row(Path("runs/m56/export/mobilenetv2_56_int8.onnx"), root, tmp_path)
    assert row["faces"] == 13  # 300-W's full set, the seed's headline split
    # the dlib XML form of the same training faces trains too (its ignore box left out)
    out = cli("train", "mobilenetv2_300w_56", "--data", root / "labels_ibug_300W_train.xml", "--epochs", 1,
              "--out", "runs/xml")
    assert "of 18 faces validate" in out
    # Menpo 2D: 39-point profiles and 68-point faces in one trainset/; the 39-point model takes its own
    menpo = replicas.build_menpo(demo68, tmp_path / "menpo")
    out = cli("train", "mobilenetv2_menpo39_56", "--data", menpo, "--epochs", 1, "--out", "runs/m39")
    assert "16 of 22 faces are menpo39" in out
    ev = _eval(Path("runs/m39/best.pt"), menpo, tmp_path / "ev39")
    assert ev["protocol"] == "menpo" and list(ev["splits"]) == ["val (held out)"]
    assert ev["splits"]["val (held out)"]["nme_norm"] == "diagonal"


def test_grey_resnet_300w_seed_001(demo68, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = replicas.build_300w(demo68, tmp_path / "300W", private=False, xml=False)
    cli("train", "resnet18_gray_300w", "--data", root, "--epochs", 1, "--out", "runs/gray")
    _held_out(Path("runs/gray"), 18)
    ev = _eval(Path("runs/gray/best.pt"), root, tmp_path / "ev")
    assert ev["protocol"] == "300w" and list(ev["splits"]) == ["common", "challenge", "full"]
    cli("train", "resnet18_gray_eyes_300w", "--data", root, "--epochs", 1, "--out", "runs/eyes")
    ev = _eval(Path("runs/eyes/best.pt"), root, tmp_path / "ev_eyes")
    assert ev["splits"]["full"]["faces"] == 13 and math.isfinite(ev["nme"])
    cli("export", "runs/gray/best.pt", "--format", "onnx")
    _bench_row(Path("runs/gray/export/resnet18_gray_224_fp32.onnx"), root, tmp_path)


def test_wflw_seed_002(demo68, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train_list = replicas.build_wflw(demo68, tmp_path / "WFLW")
    test_list = train_list.with_name("list_98pt_rect_attr_test.txt")
    out = cli("train", "resnet18_256_wflw", "--data", train_list, "--epochs", 1, "--out", "runs/wflw")
    assert "held out" in out
    held = _held_out(Path("runs/wflw"), 20)
    assert all(":" in f and "list_98pt_rect_attr_train.txt" in f for f in held)  # list lines, never the test list
    # faces of one photo stay on one side
    lines = train_list.read_text().splitlines()
    photos = {lines[int(f.rsplit(":", 1)[1]) - 1].split()[-1] for f in held}
    assert sum(line.split()[-1] in photos for line in lines) == len(held)
    ev = _eval(Path("runs/wflw/best.pt"), test_list, tmp_path / "ev", "--vs-seed")
    assert ev["protocol"] == "wflw"
    assert list(ev["splits"]) == ["test", "test/pose", "test/expression", "test/illumination", "test/makeup",
                                  "test/occlusion", "test/blur"]
    assert ev["seed_reference"]["baseline"]["nme_percent"] == 10.67
    assert all(m["faces"] >= 1 and "fr_10" in m and "auc_10" in m for m in ev["splits"].values())
    cli("quantize", "runs/wflw/best.pt", "--int8", "--format", "onnx", "--max-nme-increase", "off",
        "--calib-size", 8)
    _bench_row(next(Path("runs/wflw/export").glob("*_int8.onnx")), test_list, tmp_path)


def test_kaggle_seed_004(demo68, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    training = replicas.build_kaggle(demo68, tmp_path / "kaggle")
    out = cli("train", "kaggle_cnn1", "--data", training, "--epochs", 1, "--out", "runs/k1")
    assert "best validation RMSE px" in out  # the seed's score: two rows in three have no eye corners
    held = _held_out(Path("runs/k1"), 30)
    ev = _eval(Path("runs/k1/best.pt"), training, tmp_path / "ev", "--vs-seed")
    assert ev["protocol"] == "kaggle" and list(ev["splits"]) == ["val (held out)"]
    assert ev["splits"]["val (held out)"]["faces"] == len(held) and 0 < ev["splits"]["val (held out)"]["rmse_px"]
    assert ev["seed_reference"]["validation_rmse"] == pytest.approx(3.05729)
    # Kaggle's unlabelled test.csv becomes a submission in Kaggle's format, row for row of IdLookupTable.csv
    sub = _eval(Path("runs/k1/best.pt"), training.with_name("test.csv"), tmp_path / "sub")
    lookup = training.with_name("IdLookupTable.csv").read_text().splitlines()
    rows = Path(sub["submission"]).read_text().splitlines()
    assert rows[0] == "RowId,Location" and len(rows) == len(lookup)
    assert all(0.0 <= float(r.split(",")[1]) <= 96.0 for r in rows[1:])
    cli("quantize", "runs/k1/best.pt", "--int8", "--format", "tflite", "--max-nme-increase", "off")
    _bench_row(next(Path("runs/k1/export").glob("*_int8.tflite")), training, tmp_path)


def test_ffhq_xception_seed_000(demo68, tmp_path, monkeypatch):
    """The FFHQ project's journey: its images, labelled by the dlib teacher, train the Xception recipe."""
    monkeypatch.chdir(tmp_path)
    images = replicas.build_ffhq(demo68, tmp_path / "ffhq")
    cli("data", "label", images, "--out", "ffhq68")
    cli("train", "xception_ffhq", "--data", "ffhq68", "--epochs", 1, "--out", "runs/x")
    ev = _eval(Path("runs/x/best.pt"), Path("ffhq68"), tmp_path / "ev")
    assert ev["protocol"] == "default" and ev["splits"] and math.isfinite(ev["nme"])

"""The trainer: every recipe runs, losses are sane, resume reproduces, signals leave a resumable run, eval reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.data import load_dataset
from edge_landmarks.errors import EdgeLandmarksError
from edge_landmarks.training import LOSSES, landmark_loss, load_checkpoint, load_recipe, train

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted(p.stem for p in (ROOT / "train").glob("*.yaml"))


@pytest.fixture(scope="module")
def few(demo68):
    data = load_dataset(demo68)
    return list(data.split("train"))[:6], list(data.split("val"))[:3]


def test_every_documented_model_has_a_recipe():
    from edge_landmarks.models import list_models

    used = {load_recipe(r).model for r in RECIPES}
    assert set(list_models()) <= used


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_trains_an_epoch(recipe, few, tmp_path):
    cfg = load_recipe(recipe, epochs=1, batch_size=3, threads=2)
    if cfg.model in ("resnet18_256", "mobilenetv3_large"):  # WFLW models: 98 points; the demo set has 68
        cfg.model_args = {**cfg.model_args, "scheme": "ibug68"}
    summary = train(cfg, data="demo68", out=tmp_path / recipe, progress=False, samples=few[0], val_samples=few[1],
                    max_batches=1)
    assert summary["epochs"] == 1 and summary["best_val_nme"] == summary["best_val_nme"]  # finite, not NaN
    model, ckpt = load_checkpoint(tmp_path / recipe / "best.pt")
    assert ckpt["train_config"]["name"] == recipe and model.config.name == cfg.model
    assert ckpt["train_config"]["data"] == "demo68"  # the data it trained on, where quantize calibrates by default
    assert (tmp_path / recipe / "metrics.csv").read_text().startswith("epoch,train_loss,val_nme")


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_are_zero_at_the_target_and_ignore_masked_points(loss):
    y = torch.rand(4, 30)
    m = torch.ones(4, 15)
    assert landmark_loss(loss, y, y, m, 96, 1.0).item() == pytest.approx(0.0, abs=1e-4)
    pred = y.clone()
    pred[:, :2] += 5.0
    m[:, 0] = 0.0
    assert landmark_loss(loss, pred, y, m, 96, 1.0).item() == pytest.approx(0.0, abs=1e-4)
    assert landmark_loss(loss, y + 0.1, y, m, 96, 1.0).item() > 0


def test_resume_matches_an_uninterrupted_run(few, tmp_path):
    cfg = load_recipe("demo", epochs=4, batch_size=3, threads=1)
    kw = dict(progress=False, samples=few[0], val_samples=few[1])
    train(cfg, out=tmp_path / "straight", **kw)
    train(cfg, out=tmp_path / "split", stop_after=2, **kw)
    assert len((tmp_path / "split" / "metrics.csv").read_text().splitlines()) == 3
    train(cfg, out=tmp_path / "split", resume=True, **kw)
    a = (tmp_path / "straight" / "metrics.csv").read_text().splitlines()
    b = (tmp_path / "split" / "metrics.csv").read_text().splitlines()
    def strip(rows):  # drop the wall-time column
        return [",".join(r.split(",")[:-1]) for r in rows]

    assert strip(a) == strip(b) and len(a) == 5
    with pytest.raises(EdgeLandmarksError, match="--resume"):
        train(cfg, out=tmp_path / "straight", **kw)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_a_resumable_run(sig, cache_env, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "edge_landmarks.cli", "train", "demo", "--epochs", "40", "--out", str(out),
           "--threads", "1"]
    proc = subprocess.Popen(cmd, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "metrics.csv").exists():
        time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err
    _, ckpt = load_checkpoint(out / "last.pt")
    assert 1 <= ckpt["epoch"] < 40
    res = CliRunner().invoke(main, ["train", "demo", "--epochs", str(ckpt["epoch"] + 1), "--out", str(out),
                                    "--resume", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert len((out / "metrics.csv").read_text().splitlines()) == ckpt["epoch"] + 2


def test_bad_checkpoints_and_recipes(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(EdgeLandmarksError, match="not a readable checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(EdgeLandmarksError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    r = tmp_path / "r.yaml"
    r.write_text("model: mobilenetv2\nloss: huber\n")
    with pytest.raises(EdgeLandmarksError, match="loss 'huber'"):
        load_recipe(str(r))
    r.write_text("model: mobilenetv2\nlearning_rate: 1\n")
    with pytest.raises(EdgeLandmarksError, match="unknown recipe key"):
        load_recipe(str(r))
    r.write_text("model: [mobilenetv2\n")
    with pytest.raises(EdgeLandmarksError, match=r"r.yaml:\d+: not valid YAML"):
        load_recipe(str(r))
    with pytest.raises(EdgeLandmarksError, match="known names: .*demo"):
        load_recipe("no_such_recipe")


def test_eval_cli_json(few, tmp_path, cache_env):
    cfg = load_recipe("demo", epochs=1, batch_size=3, threads=1)
    train(cfg, out=tmp_path / "r", progress=False, samples=few[0], val_samples=few[1])
    res = CliRunner().invoke(main, ["eval", str(tmp_path / "r" / "best.pt"), "--data", "demo68", "--split", "test",
                                    "--json", "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["nme"] > 0 and out["splits"]["test"]["faces"] == 40 and "fr_08" in out["splits"]["test"]
    assert (tmp_path / "ev" / "ced.png").stat().st_size > 1000 and len(out["worst"]) == 8

"""The trainer: every recipe runs, losses are sane, resume reproduces, signals leave a resumable run, eval reports."""

from __future__ import annotations

import json
import math
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
from edge_landmarks.training import LOSSES, landmark_loss, load_checkpoint, load_recipe, recipe_names, train

ROOT = Path(__file__).resolve().parents[1]
RECIPES = recipe_names()


@pytest.fixture(scope="module")
def few(demo68):
    data = load_dataset(demo68)
    return list(data.split("train"))[:6], list(data.split("val"))[:3]


def test_every_documented_model_has_a_recipe():
    from edge_landmarks.models import list_models

    used = {load_recipe(r).model for r in RECIPES}
    assert set(list_models()) <= used


def _trained_in_journeys() -> set[str]:
    import test_seed_journeys

    return test_seed_journeys.TRAINED_HERE


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(set(RECIPES) - _trained_in_journeys()))  # the rest: on their replicas
def test_every_recipe_trains_an_epoch(recipe, few, demo68, tmp_path, monkeypatch):
    cfg = load_recipe(recipe, epochs=1, batch_size=3, threads=2)
    if cfg.model in ("resnet18_256", "mobilenetv3_large"):  # WFLW models: 98 points; the demo set has 68
        cfg.model_args = {**cfg.model_args, "scheme": "ibug68"}
    if cfg.pretrained == "imagenet":  # as the recipe says (kaggle_resnet50), from a torchvision cache file
        from torchvision.models import ResNet50_Weights, resnet50

        _fake_imagenet_file(ResNet50_Weights.IMAGENET1K_V1, resnet50, monkeypatch, tmp_path)
    train_faces, val_faces = few
    if cfg.model_args.get("scheme") == "menpo39":  # 39-point profiles: a Menpo-style set (see menpo39_set.py)
        from menpo39_set import build

        data = load_dataset(build(demo68, tmp_path / "menpo39", {"train": 6, "val": 3}, mixed_68=0))
        train_faces, val_faces = list(data.split("train")), list(data.split("val"))
    summary = train(cfg, data="demo68", out=tmp_path / recipe, progress=False, samples=train_faces,
                    val_samples=val_faces, max_batches=1)
    assert summary["epochs"] == 1 and math.isfinite(summary["best_val_nme"])  # not NaN, not inf
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


def _lrs(out) -> list[float]:
    rows = (out / "metrics.csv").read_text().splitlines()
    col = rows[0].split(",").index("lr")
    return [float(r.split(",")[col]) for r in rows[1:]]


def test_early_stopping_and_schedules(few, tmp_path):
    """With no optimiser step (max_batches=0) the weights, so the validation NME, never change: early stopping
    must end the run after its patience, and each schedule's learning rate follows its formula."""
    train_faces, val_faces = few
    common = {"batch_size": 3, "threads": 1, "augment": {"off": True}}
    cfg = load_recipe("demo", epochs=10, early_stopping=2, scheduler="cosine", **common)
    summary = train(cfg, out=tmp_path / "early", progress=False, samples=train_faces, val_samples=val_faces,
                    max_batches=0)
    assert summary["epochs"] == 3  # epoch 1 sets the best; 2 and 3 do not improve it: patience 2 spent
    lr0 = cfg.lr
    cases = {
        "step": ({"scheduler": "step", "step_size": 1, "gamma": 0.5, "milestones": []}, [1, 0.5, 0.25]),
        "milestones": ({"scheduler": "step", "milestones": [2], "gamma": 0.1}, [1, 1, 0.1]),
        "plateau": ({"scheduler": "plateau", "plateau_patience": 0, "plateau_factor": 0.5}, [1, 1, 0.5]),
    }
    for name, (kw, factors) in cases.items():
        cfg = load_recipe("demo", epochs=3, **common, **kw)
        train(cfg, out=tmp_path / name, progress=False, samples=train_faces, val_samples=val_faces, max_batches=0)
        assert _lrs(tmp_path / name) == pytest.approx([lr0 * f for f in factors]), name


def test_train_from_a_recipe_file(cache_env, tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("model: mobilenetv2\nmodel_args: {input_size: 56}\ndata: demo68\nepochs: 1\nbatch_size: 32\n"
                      "augment: false\n")
    res = CliRunner().invoke(main, ["train", str(recipe), "--out", str(tmp_path / "run"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    _, ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert ckpt["train_config"]["name"] == "mine" and ckpt["train_config"]["augment"] == {"off": True}
    assert ckpt["epoch"] == 1 and str(tmp_path / "run" / "best.pt") in res.output


# One face, two points, the second masked out: point 0 is off by (0.3, -0.4) of the crop, i.e. (3, -4) px of a
# 10 px crop (a 3-4-5 triangle), and with scale 2 by (0.6, -0.8) in the model's frame. Values worked out by hand.
LOSS_BY_HAND = {
    "mse": (0.3**2 + 0.4**2) / 2,  # mean over the visible coordinates of the squared normalised error: 0.125
    "rmse": math.sqrt((0.6**2 + 0.8**2) / 2),  # root of the mean squared error in the model's frame: 0.7071
    "l1": (0.3 + 0.4) / 2,  # 0.35
    "log_l2": math.log(1 + 5.0),  # log(1 + distance in px) per point: log 6 = 1.7918
    "wing": (10 * math.log(1 + 3 / 2) + 10 * math.log(1 + 4 / 2)) / 2,  # w ln(1 + |x|/eps), w=10, eps=2: 10.0745
}


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_match_values_worked_out_by_hand(loss):
    target = torch.tensor([[1.0, 1.0, 0.5, 0.5]])
    pred = torch.tensor([[1.6, 0.2, 9.0, -7.0]])  # point 1 is far off but masked
    mask = torch.tensor([[1.0, 0.0]])
    assert landmark_loss(loss, pred, target, mask, 10, 2.0).item() == pytest.approx(LOSS_BY_HAND[loss], rel=1e-5)
    assert set(LOSS_BY_HAND) == set(LOSSES)


def test_wing_is_linear_beyond_w_and_continuous_there():
    # |x| >= w: |x| - C with C = w - w ln(1 + w/eps), so both pieces meet at |x| = w
    c = 10 - 10 * math.log(1 + 10 / 2)
    for px, want in ((20.0, 20.0 - c), (10.0, 10 * math.log(6)), (9.999, 10 * math.log(1 + 9.999 / 2))):
        pred = torch.tensor([[px / 10, 0.0]])
        got = landmark_loss("wing", pred, torch.zeros(1, 2), torch.ones(1, 1), 10, 1.0).item()
        assert got == pytest.approx(want / 2, rel=1e-5)  # the y coordinate contributes w ln 1 = 0


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_matches_an_uninterrupted_run(few, demo68, tmp_path, workers):
    if workers:  # DataLoader worker processes: in a Python of their own, away from this process's native libraries
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_training as t; from pathlib import Path;"
                "from edge_landmarks.data import load_dataset; d = load_dataset(sys.argv[2]);"
                "few = (list(d.split('train'))[:6], list(d.split('val'))[:3]);"
                "t._resume_check(few, Path(sys.argv[3]), int(sys.argv[4]))")
        res = subprocess.run([sys.executable, "-c", code, str(ROOT / "tests"), str(demo68), str(tmp_path),
                              str(workers)], capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, res.stderr[-3000:]
        return
    _resume_check(few, tmp_path, workers)


def _resume_check(few, tmp_path, workers):
    cfg = load_recipe("demo", epochs=4, batch_size=3, threads=1, workers=workers)
    kw = dict(progress=False, samples=few[0], val_samples=few[1])
    summary = train(cfg, out=tmp_path / "straight", **kw)
    assert summary["workers"] == workers and summary["device"] == "cpu" and summary["amp"] == "off"
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
    if workers:  # workers decode and augment exactly what the main process would: the same metrics
        cfg0 = load_recipe("demo", epochs=4, batch_size=3, threads=1, workers=0)
        train(cfg0, out=tmp_path / "main_process", **kw)
        assert strip((tmp_path / "main_process" / "metrics.csv").read_text().splitlines()) == strip(a)


def test_the_weights_average_by_hand():
    """WeightAverage on a one-weight model: the warmed-up decay (1 + n) / (10 + n) until it reaches ``decay``, the
    integer buffer copied."""
    from edge_landmarks.training.loop import WeightAverage

    model = torch.nn.BatchNorm1d(1)
    model.weight.data.fill_(0.0)
    avg = WeightAverage(model, decay=0.5)
    want = 0.0
    for n, w in enumerate([1.0, 2.0, 4.0]):
        model.weight.data.fill_(w)
        model.num_batches_tracked.fill_(n + 7)
        avg.update(model)
        keep = min(0.5, (1 + n) / (10 + n))
        want = keep * want + (1 - keep) * w
        assert avg.model.weight.item() == pytest.approx(want, rel=1e-6)
        assert avg.model.num_batches_tracked.item() == n + 7
    assert [round(min(0.5, (1 + n) / (10 + n)), 3) for n in range(3)] == [0.1, 0.182, 0.25]
    assert not avg.model.weight.requires_grad and avg.steps == 3


def test_a_run_with_a_weights_average_keeps_it_and_resumes_it(few, tmp_path):
    """``ema``: best.pt and last.pt hold the average as the model, last.pt the raw weights beside it; a run stopped
    after an epoch and resumed ends with the same average and raw weights as one that was not stopped."""
    cfg = load_recipe("demo", epochs=3, batch_size=3, threads=1, workers=0, ema=0.9)
    kw = dict(progress=False, samples=few[0], val_samples=few[1])
    train(cfg, out=tmp_path / "straight", **kw)
    train(cfg, out=tmp_path / "split", stop_after=1, **kw)
    train(cfg, out=tmp_path / "split", resume=True, **kw)
    a, b = (torch.load(tmp_path / run / "last.pt", weights_only=False) for run in ("straight", "split"))
    for key in ("state_dict", "raw_state_dict"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    assert a["ema_steps"] == b["ema_steps"] == 3 * 2  # three epochs of two batches
    moved = [k for k in a["state_dict"] if a["state_dict"][k].dtype.is_floating_point
             and not torch.equal(a["state_dict"][k], a["raw_state_dict"][k])]
    assert len(moved) > 100  # the average is not the last step's weights
    best = torch.load(tmp_path / "straight" / "best.pt", weights_only=False)
    assert "raw_state_dict" not in best and best["train_config"]["ema"] == 0.9
    with pytest.raises(EdgeLandmarksError, match="ema must be a number from 0"):
        load_recipe("demo", ema=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_a_resumable_run(sig, cache_env, tmp_path):
    """Started as train --help shows a 112 px run (another input size than the recipe's), stopped by a signal; the
    resume command the trainer prints, run as printed, continues that run (its epochs, model args and batches)."""
    import shlex

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "edge_landmarks.cli", "train", "demo", "--epochs", "6", "--out", str(out),
           "--threads", "1", "--model-arg", "input_size=112", "--max-batches", "3"]
    proc = subprocess.Popen(cmd, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600  # a loaded 2-core machine; the event, not the clock, releases the signal
    while not (out / "metrics.csv").exists():  # the first epoch has ended and been recorded
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.time() < deadline, "no epoch ended within 600 s"
        time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    printed = shlex.split(err.split("resume with:", 1)[1].strip().splitlines()[0])
    assert printed[:2] == ["edge-lmk", "train"] and "--resume" in printed
    _, ckpt = load_checkpoint(out / "last.pt")
    assert 1 <= ckpt["epoch"] < 6
    res = CliRunner().invoke(main, printed[1:])
    assert res.exit_code == 0, res.output
    assert len((out / "metrics.csv").read_text().splitlines()) == 6 + 1  # to the 6 epochs it was started with
    model, ckpt = load_checkpoint(out / "last.pt")
    assert model.config.input_size == 112 and ckpt["train_config"]["max_batches"] == 3


def test_resume_refuses_options_that_contradict_the_run_and_takes_more_epochs(few, cache_env, tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", "demo", "--epochs", "1", "--max-batches", "1", "--out", str(out),
                                    "--threads", "1", "--model-arg", "input_size=64"])
    assert res.exit_code == 0, res.output
    for args, what in ((["--model-arg", "input_size=56"], "--model-arg input_size=56 contradicts"),
                       (["--batch-size", "7"], "--batch-size 7 contradicts"),
                       (["--val-split", "0.3"], "--val-split 0.3 contradicts")):
        res = CliRunner().invoke(main, ["train", "demo", "--out", str(out), "--resume", *args])
        assert res.exit_code == 1 and what in res.output and "Traceback" not in res.output, res.output
    res = CliRunner().invoke(main, ["train", "mobilenetv2_300w_56", "--out", str(out), "--resume"])
    assert res.exit_code == 1 and "holds a run of recipe 'demo'" in res.output
    res = CliRunner().invoke(main, ["train", "demo", "--out", str(out), "--resume", "--epochs", "2",
                                    "--model-arg", "input_size=64", "--threads", "2"])  # the same value is fine
    assert res.exit_code == 0, res.output
    assert len((out / "metrics.csv").read_text().splitlines()) == 3


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
    with pytest.raises(EdgeLandmarksError, match="shipped recipes: .*demo"):
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


def _fake_imagenet_file(weights, builder, monkeypatch, tmp_path) -> dict:
    """A state dict of the torchvision architecture (seeded random values, not ImageNet's) at the cache path that
    torchvision's weights API reads: the real loading code runs, with no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(123)
    state = builder(weights=None).state_dict()
    path = Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return state


def test_pretrained_imagenet_loads_exactly_torchvisions_cached_weights(few, tmp_path, monkeypatch):
    from torchvision.models import MobileNet_V2_Weights, ResNet18_Weights, mobilenet_v2, resnet18

    from edge_landmarks.models import create_model
    from edge_landmarks.training.pretrained import load_imagenet

    ref = _fake_imagenet_file(ResNet18_Weights.IMAGENET1K_V1, resnet18, monkeypatch, tmp_path)
    grey = create_model("resnet18_gray")
    fc_before = grey.fc.weight.detach().clone()
    report = load_imagenet(grey)
    got = grey.state_dict()
    assert torch.equal(got["trunk.0.weight"], ref["conv1.weight"].sum(1, keepdim=True))  # grey conv1: RGB summed
    assert torch.equal(got["trunk.7.1.conv2.weight"], ref["layer4.1.conv2.weight"])
    assert torch.equal(got["trunk.1.running_var"], ref["bn1.running_var"])
    assert torch.equal(grey.fc.weight, fc_before)  # the ImageNet classifier is never used
    assert len(report["loaded"]) == len(ref) - 2  # every tensor but fc.weight / fc.bias

    ref = _fake_imagenet_file(MobileNet_V2_Weights.IMAGENET1K_V1, mobilenet_v2, monkeypatch, tmp_path / "b")
    cfg = load_recipe("demo", epochs=1, batch_size=3, threads=1, pretrained="imagenet", lr=1e-12)
    train(cfg, out=tmp_path / "run", progress=False, samples=few[0], val_samples=few[1], max_batches=0)
    model, _ = load_checkpoint(tmp_path / "run" / "last.pt")
    assert torch.equal(model.state_dict()["features.3.conv.1.0.weight"], ref["features.3.conv.1.0.weight"])


def test_pretrained_without_a_cached_file_says_where_to_put_it(tmp_path, monkeypatch):
    from edge_landmarks.models import create_model
    from edge_landmarks.training.pretrained import load_imagenet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(EdgeLandmarksError, match=r"Put the file at .*empty/hub/checkpoints/mobilenet_v2-b0353104\.pth"):
        load_imagenet(create_model("mobilenetv2", input_size=56))
    with pytest.raises(EdgeLandmarksError, match="no ImageNet weights for xception"):
        load_imagenet(create_model("xception"))


def test_init_loads_every_tensor_that_fits_and_lists_the_rest(few, tmp_path):
    from edge_landmarks.models import create_model
    from edge_landmarks.training import init_from

    cfg = load_recipe("demo", epochs=1, batch_size=3, threads=1)
    train(cfg, out=tmp_path / "r56", progress=False, samples=few[0], val_samples=few[1], max_batches=1)
    src, _ = load_checkpoint(tmp_path / "r56" / "best.pt")
    big = create_model("mobilenetv2", input_size=224, scheme="wflw98")  # 56 -> 224 px and 68 -> 98 points
    report = init_from(big, tmp_path / "r56" / "best.pt")
    assert report["resized"] == ["gdconv.0.weight"]  # 2x2 -> 7x7, sum kept
    k_src, k_big = src.state_dict()["gdconv.0.weight"], big.state_dict()["gdconv.0.weight"]
    assert torch.allclose(k_src.sum((2, 3)), k_big.sum((2, 3)), rtol=1e-4, atol=1e-5)
    assert {s.split(" ")[0] for s in report["skipped"]} == {"head.0.weight", "head.1.weight", "head.1.bias",
                                                           "head.1.running_mean", "head.1.running_var"}
    assert torch.equal(big.state_dict()["features.5.conv.0.0.weight"], src.state_dict()["features.5.conv.0.0.weight"])


def test_amp_and_device_settings(few, tmp_path):
    cfg = load_recipe("demo", epochs=1, batch_size=3, threads=1, amp="bf16")
    summary = train(cfg, out=tmp_path / "bf16", progress=False, samples=few[0], val_samples=few[1])
    assert summary["amp"] == "bf16" and 0 < summary["best_val_nme"] < 10
    _, ckpt = load_checkpoint(tmp_path / "bf16" / "best.pt")
    assert all(v.dtype != torch.bfloat16 for v in ckpt["state_dict"].values())  # weights stay float32
    with pytest.raises(EdgeLandmarksError, match="fp16 needs a CUDA or MPS"):
        train(load_recipe("demo", amp="fp16", device="cpu"), out=tmp_path / "fp16", progress=False,
              samples=few[0], val_samples=few[1])
    if not torch.cuda.is_available():
        with pytest.raises(EdgeLandmarksError, match="no CUDA device"):
            train(load_recipe("demo", device="cuda"), out=tmp_path / "cuda", progress=False, samples=few[0],
                  val_samples=few[1])
    with pytest.raises(EdgeLandmarksError, match="device 'tpu'"):
        load_recipe("demo", device="tpu")
    with pytest.raises(EdgeLandmarksError, match="workers -1"):
        load_recipe("demo", workers=-1)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI and this project's machines have "
                    "none; run on a GPU machine)")
@pytest.mark.parametrize("amp", ["bf16", "fp16", "off"])
def test_cuda_run_leaves_a_checkpoint_that_runs_on_the_cpu(few, tmp_path, amp):
    cfg = load_recipe("demo", epochs=2, batch_size=3, device="cuda", amp=amp, workers=2)
    summary = train(cfg, out=tmp_path / amp, progress=False, samples=few[0], val_samples=few[1])
    assert summary["device"].startswith("cuda") and summary["amp"] == amp
    model, ckpt = load_checkpoint(tmp_path / amp / "best.pt")
    assert all(v.device.type == "cpu" for v in ckpt["state_dict"].values())
    assert model(torch.zeros(1, 3, 56, 56)).shape == (1, 136)
    resumed = train(load_recipe("demo", epochs=3, batch_size=3, device="cuda", amp=amp), out=tmp_path / amp,
                    resume=True, progress=False, samples=few[0], val_samples=few[1])
    assert resumed["epochs"] == 3


def test_unknown_augment_key_is_one_clear_line(demo68, tmp_path):
    r = tmp_path / "r.yaml"
    r.write_text("model: mobilenetv2\naugment: {profile_q: 1}\n")
    with pytest.raises(EdgeLandmarksError, match="unknown augment key.*profile_q.*known: .*profile_p"):
        load_recipe(str(r))
    res = CliRunner().invoke(main, ["data", "show", str(demo68), "--augment", str(r), "--out",
                                    str(tmp_path / "a.png")])
    assert res.exit_code == 1 and "unknown augment key(s) profile_q" in res.output and not (tmp_path / "a.png").exists()

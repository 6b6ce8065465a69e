"""Every registered model, at every documented input size: shape, finiteness, gradients, params, ONNX parity."""

from __future__ import annotations

import pytest
import torch

from edge_landmarks.models import count_params, create_model, get_model_config, list_models
from edge_landmarks.schemes import get_scheme

CASES = [(name, size) for name in list_models() for size in get_model_config(name).sizes]

EXPECTED = {"resnet18_gray": 11_240_008, "resnet18": 11_246_280, "mobilenetv2": 2_463_504,
            "mobilenetv2_se": 2_873_104, "xception": 8_580_776}


def test_zoo_lists_every_documented_model():
    expected = {"xception", "resnet18_gray", "resnet18_gray_eyes", "resnet18_256", "mobilenetv3_large", "resnet18",
                "mobilenetv2", "mobilenetv2_se", "kaggle_cnn1", "kaggle_cnn2", "kaggle_resnet50"}
    assert expected <= set(list_models())


@pytest.mark.parametrize("name,size", CASES)
def test_forward_and_gradients(name, size):
    torch.manual_seed(0)
    model = create_model(name, input_size=size)
    cfg = model.config
    assert cfg.num_points == get_scheme(cfg.scheme).num_points
    x = torch.randn(2, cfg.in_chans, size, size)
    out = model(x)
    assert out.shape == (2, 2 * cfg.num_points)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no gradient for {missing[:5]}"
    assert sum(int(p.grad.abs().sum() > 0) for p in model.parameters()) >= 0.9 * len(list(model.parameters()))


@pytest.mark.parametrize("name", sorted({n for n, _ in CASES}))
def test_param_counts_match_seeds(name):
    model = create_model(name)
    cfg = model.config
    n = count_params(model)
    if name in EXPECTED:
        assert n == EXPECTED[name]
    if cfg.seed_params:
        # Seeds that kept an unused ImageNet head registered publish it in their count; the config says how much.
        with_unused = n + cfg.extra.get("seed_unused_params", 0)
        assert abs(with_unused - cfg.seed_params) / cfg.seed_params < 0.005


def test_unknown_model_suggests_names():
    with pytest.raises(ValueError, match="mobilenetv2"):
        create_model("mobilenet_v2")


def test_bad_override_is_rejected():
    with pytest.raises(ValueError, match="multiple of 8"):
        create_model("mobilenetv2", input_size=50)
    with pytest.raises(ValueError, match="unknown setting"):
        create_model("mobilenetv2", colour="blue")


@pytest.mark.slow
@pytest.mark.parametrize("name,size", CASES)
def test_onnx_export_matches_torch(name, size, tmp_path):
    from edge_landmarks.export.onnx import export, run_onnx

    torch.manual_seed(0)
    model = create_model(name, input_size=size).eval()
    path = tmp_path / f"{name}_{size}.onnx"
    check = export(model, path)
    assert path.exists() and check["nodes"] <= check["nodes_before"]
    x = torch.rand(3, model.config.in_chans, size, size)
    with torch.no_grad():
        ref = model(x).numpy()
    got = run_onnx(path, x.numpy())
    # Compared in the documented [0, 1] crop frame (Kaggle models emit pixels of the 96 px crop).
    assert abs(ref - got).max() / model.config.output_scale < 1e-4

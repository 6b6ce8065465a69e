"""The model zoo: every documented landmark model behind one registry.

``create_model(name, **overrides)`` builds one; ``list_models()`` and ``get_model_config()`` give their configs. All
three need torch: the families register themselves when their modules (which define the torch modules) are first
imported. ``ModelConfig`` itself is plain data, read by the torch-free runtime from each artefact's sidecar.
"""

from __future__ import annotations

from ._config import ModelConfig
from ._registry import create_model as _create_model
from ._registry import get_model_config as _get_model_config
from ._registry import list_models as _list_models

__all__ = ["ModelConfig", "create_model", "list_models", "get_model_config", "count_params", "count_macs", "zoo_rows",
           "seed_check"]

_loaded = False


def _load_families() -> None:
    global _loaded
    if _loaded:
        return
    from ..errors import require

    require("torch", "train")
    require("torchvision", "train")
    from . import kaggle, mobilenet, resnet, xception  # noqa: F401  (registration side effect)

    _loaded = True


def list_models(pattern: str = "*") -> list[str]:
    _load_families()
    return _list_models(pattern)


def get_model_config(name: str, **overrides) -> ModelConfig:
    _load_families()
    return _get_model_config(name, **overrides)


def create_model(name: str, **overrides):
    _load_families()
    return _create_model(name, **overrides)


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model, input_size: int | None = None, in_chans: int | None = None) -> int:
    """Multiply-accumulates of one forward pass at batch 1 (conv and linear layers)."""
    import torch
    from torch import nn

    cfg = model.config
    size = input_size or cfg.input_size
    total = 0

    def conv_hook(m: nn.Conv2d, _inp, out):
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m: nn.Linear, _inp, out):
        nonlocal total
        total += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device  # "meta" for zoo_rows: shapes without the arithmetic
            model(torch.zeros(1, in_chans or cfg.in_chans, size, size, device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return total


def seed_check(params: int, published: int | None, unused: int = 0) -> str:
    """How our count compares with the seed's: ``exact``, ``= with the unused head`` (within the seed's rounding),
    ``differs``, or ``-`` when the seed publishes none."""
    if not published:
        return "-"
    if params == published:
        return "exact"
    if unused and abs(params + unused - published) / published < 0.005:
        return f"= with unused head ({unused:,})"
    return "differs"


def zoo_rows(pattern: str = "*", macs: bool = True) -> list[dict]:
    """One row per (model, documented input size): name, scheme, points, input, params, the seed's published
    count for that size and how ours compares (:func:`seed_check`), MACs."""
    import torch

    rows = []
    for name in list_models(pattern):
        base = get_model_config(name)
        for size in base.sizes or (base.input_size,):
            with torch.device("meta"):  # no weights are made or run: counting takes seconds, not half a minute
                model = create_model(name, input_size=size)
            cfg = model.config
            params = count_params(model)
            published = cfg.seed_params if size == base.input_size else cfg.extra.get(f"seed_params_{size}")
            rows.append({
                "name": name if size == base.input_size else f"{name} @{size}",
                "model": name, "scheme": cfg.scheme, "points": cfg.num_points,
                "input": f"{cfg.in_chans}x{size}x{size}", "size": size, "params": params,
                "seed_params": published,
                "seed_check": seed_check(params, published, cfg.extra.get("seed_unused_params", 0)),
                "seed_note": cfg.extra.get(f"seed_params_{size}_note", "") if size != base.input_size else "",
                "schemes": list(cfg.extra.get("schemes", [cfg.scheme])),
                "macs": count_macs(model) if macs else None, "source": cfg.source,
            })
    return rows

"""Landmark losses over visible points: MSE, L1, RMSE, Wing and the WFLW project's log(1 + L2)."""

from __future__ import annotations

import math

__all__ = ["landmark_loss"]


def landmark_loss(name: str, pred, target, mask, size: int, scale: float, w: float = 10.0, eps: float = 2.0):
    """Loss over visible points. pred/target (B, 2K) in the model's frame; wing works in crop pixels.

    Computed in float32 whatever precision the forward pass ran in (mixed precision casts only the model).
    """
    import torch

    pred, target = pred.float(), target.float()
    b = pred.shape[0]
    diff = (pred - target).view(b, -1, 2) / scale  # normalised crop units
    m = mask.view(b, -1, 1)
    n = m.sum().clamp(min=1.0)
    if name == "mse":
        return (diff.square() * m).sum() / (2 * n)
    if name == "rmse":
        return torch.sqrt((diff.square() * m * scale * scale).sum() / (2 * n) + 1e-12)
    if name == "l1":
        return (diff.abs() * m).sum() / (2 * n)
    if name == "log_l2":  # the WFLW project's log(1 + L2), per point, in crop pixels
        dist = torch.sqrt((diff * size).square().sum(-1) + 1e-12)
        return (torch.log1p(dist) * m[..., 0]).sum() / n
    if name == "wing":
        x = (diff * size).abs()
        c = w - w * math.log(1 + w / eps)
        loss = torch.where(x < w, w * torch.log1p(x / eps), x - c)
        return (loss * m).sum() / (2 * n)
    raise ValueError(f"unknown loss {name!r}")

"""Optimisers and learning-rate schedules named by a recipe: one builder each, shared by training and QAT."""

from __future__ import annotations

__all__ = ["build_optimizer", "build_scheduler"]


def build_optimizer(cfg, params):
    """The recipe's optimiser over ``params`` (adam, adamw, nadam, or sgd with Nesterov momentum)."""
    import torch

    params = list(params)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "nadam":
        return torch.optim.NAdam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay)


def build_scheduler(cfg, opt):
    """The recipe's schedule, stepped once an epoch (``plateau`` with the validation NME), or None."""
    import torch

    if cfg.scheduler == "step" and cfg.milestones:
        return torch.optim.lr_scheduler.MultiStepLR(opt, sorted(cfg.milestones), cfg.gamma)
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(opt, cfg.step_size, cfg.gamma)
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=cfg.plateau_factor,
                                                          patience=cfg.plateau_patience)
    return None

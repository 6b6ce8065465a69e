"""One training step on a fixed global batch, run by ``tests/test_distributed.py`` under torchrun (2 processes, gloo)
and in a single process; writes the resulting state dict. Usage: ddp_step.py OUT.pt DEMO68 [--sync-bn]."""

from __future__ import annotations

import sys

import torch


def main(out: str, data: str, sync_bn: bool) -> None:
    from edge_landmarks.data import load_dataset
    from edge_landmarks.data.dataset import LandmarkCrops
    from edge_landmarks.models import create_model
    from edge_landmarks.training import TrainConfig, build_optimizer, train_one_epoch
    from edge_landmarks.training.device import convert_sync_bn, init_distributed
    from edge_landmarks.training.loader import EpochBatches, make_loader

    dist = init_distributed("cpu")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = TrainConfig(name="step", model="mobilenetv2", model_args={"input_size": 56}, optimizer="sgd", lr=1e-4,
                      loss="l1", batch_size=8, augment={"off": True})
    model = create_model(cfg.model, **cfg.model_args)
    mcfg = model.config
    samples = list(load_dataset(data, split="train"))[:8]
    ds = LandmarkCrops(samples, mcfg, augment=None)
    sampler = EpochBatches(dist.rank, dist.world)
    sampler.set(0, [list(range(8))])
    ddp = model
    if dist.enabled:
        if sync_bn:
            model = convert_sync_bn(model, dist.device)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = build_optimizer(cfg, model.parameters())
    ddp.train()
    train_one_epoch(ddp, make_loader(ds, sampler, 0, dist.device), opt, cfg, mcfg, dist.device, dist=dist)
    if dist.is_main:
        torch.save(model.state_dict(), out)
    if dist.enabled:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--sync-bn" in sys.argv)

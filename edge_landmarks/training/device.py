"""Where training runs: the device, mixed precision, DataLoader workers and torch.distributed (DDP).

The distributed set-up follows timm's ``init_distributed_device``: ``torchrun`` (or ``edge-lmk train --nproc N``,
which starts torchrun) sets ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK``; each process takes ``cuda:LOCAL_RANK`` on a
GPU machine (backend nccl) or the CPU (backend gloo). Only rank 0 validates, writes and draws the progress bar.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import EdgeLandmarksError

__all__ = ["Dist", "resolve_device", "resolve_amp", "resolve_workers", "init_distributed", "convert_sync_bn",
           "autocast"]


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: rank, world size and device (world 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: object = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def resolve_device(name: str = "auto"):
    """``auto`` picks CUDA, then MPS, then the CPU; an explicit device that is not there is an error."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise EdgeLandmarksError(f"--device {name}: no CUDA device here (torch {torch.__version__}); use "
                                     "--device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise EdgeLandmarksError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not has_mps:
        raise EdgeLandmarksError(f"--device {name}: MPS is not available here; use --device cpu or auto")
    return dev


def resolve_amp(amp: str, device) -> str:
    """``auto``: bf16 on a CUDA device that supports it, else off. fp16 needs a GPU (CUDA or MPS)."""
    import torch

    if amp == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "off"
    if amp == "fp16" and device.type == "cpu":
        raise EdgeLandmarksError("--amp fp16 needs a CUDA or MPS device; on the CPU use --amp bf16 or off")
    return amp


def resolve_workers(workers, device) -> int:
    """``auto``: on a GPU, up to 8 processes (one core left for the main one); on the CPU none, since the main
    process's math already takes every core (on this project's 2-core machines workers only slowed the demo
    recipe: see train/README.md)."""
    if workers != "auto":
        return int(workers)
    if device.type == "cpu":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cores - 1))


def autocast(amp: str, device):
    """The autocast context for ``amp`` (a no-op context when off)."""
    import contextlib

    import torch

    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def init_distributed(device_name: str = "auto") -> Dist:
    """Join the process group torchrun describes in the environment; a single process when there is none."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(device=resolve_device(device_name))
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name != "cpu" and not device_name.startswith("mps") and torch.cuda.is_available()
    if use_cuda:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device_name.startswith("cuda"):
        raise EdgeLandmarksError(f"--device {device_name}: no CUDA device here")
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(rank=rank, world=world, local_rank=local_rank, device=device)


def _global_batch_norm(x, bn):
    """Training-mode batch norm of ``x`` with statistics over every rank's batch, gathered with
    torch's functional all-reduce (it carries gradients back to each rank's inputs)."""
    import warnings

    import torch
    from torch.distributed.nn.functional import all_reduce as _all_reduce  # differentiable

    def all_reduce(t):
        with warnings.catch_warnings():  # deprecated for a private module's twin; this one is public and exact
            warnings.simplefilter("ignore", FutureWarning)
            return _all_reduce(t)

    c, dims = x.shape[1], [0] + list(range(2, x.dim()))
    shape = [1, c] + [1] * (x.dim() - 2)
    n = all_reduce(x.new_tensor([x.numel() // c]))
    mean = all_reduce(x.sum(dims)) / n
    var = all_reduce(((x - mean.view(shape)) ** 2).sum(dims)) / n
    if bn.track_running_stats:
        with torch.no_grad():
            bn.num_batches_tracked.add_(1)
            m = bn.momentum if bn.momentum is not None else 1.0 / bn.num_batches_tracked.item()
            bn.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
            bn.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1).clamp(min=1), alpha=m)
    y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + bn.eps)
    return y * bn.weight.view(shape) + bn.bias.view(shape) if bn.affine else y


_CPU_SYNC: dict = {}


def _cpu_sync_class(base):
    """``base`` (BatchNorm1d/2d/3d) whose training forward uses the global batch: torch's own SyncBatchNorm runs
    only on GPUs, and DDP refuses it on CPU modules, so on gloo the layer keeps its class's shape and state."""
    if base not in _CPU_SYNC:
        def forward(self, x):
            import torch.distributed as dist

            if self.training and dist.is_initialized() and dist.get_world_size() > 1:
                return _global_batch_norm(x, self)
            return base.forward(self, x)

        _CPU_SYNC[base] = type(f"CPUSync{base.__name__}", (base,), {"forward": forward, "__module__": __name__})
    return _CPU_SYNC[base]


def convert_sync_bn(model, device):
    """BatchNorm -> statistics over the global batch: torch's SyncBatchNorm on GPUs; on the CPU (gloo) the same
    statistics through all-reduce. The state dict keeps its keys, so checkpoints load into the plain model."""
    from torch import nn

    if device.type != "cpu":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for m in model.modules():
        if type(m) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
            m.__class__ = _cpu_sync_class(type(m))
    return model

"""The seeded order of every epoch and the DataLoader that follows it (shared by training, QAT and the throughput
benchmark)."""

from __future__ import annotations

__all__ = ["epoch_batches", "EpochBatches", "make_loader"]


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, world: int = 1) -> list[list[int]]:
    """The global batches of one epoch: a permutation seeded with (seed, epoch), cut into ``batch_size`` pieces; a
    last piece too small for BatchNorm (under 2 faces per process) joins the one before it."""
    import torch

    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=gen).tolist()
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < 2 * world:
        batches[-2] += batches.pop()
    return batches


class EpochBatches:
    """A batch sampler for the DataLoader: this rank's shard of each global batch, as ``(epoch, index)`` keys."""

    def __init__(self, rank: int = 0, world: int = 1):
        self.rank, self.world = rank, world
        self.epoch, self.batches = 0, []

    def set(self, epoch: int, batches: list[list[int]]) -> None:
        self.epoch, self.batches = epoch, batches

    def __iter__(self):
        for b in self.batches:
            yield [(self.epoch, i) for i in b[self.rank::self.world]]

    def __len__(self) -> int:
        return len(self.batches)


def _worker_init(_worker_id: int) -> None:
    import cv2
    import torch

    torch.set_num_threads(1)  # a worker decodes and warps one face at a time; the main process owns the cores
    cv2.setNumThreads(1)


def make_loader(ds, sampler: EpochBatches, workers: int, device):
    """A DataLoader over ``ds`` in ``sampler``'s order: decode, crop and augmentation in ``workers`` processes
    (kept alive across epochs; started with spawn, as a forked child can hang in OpenCV's thread pool), pinned
    memory on CUDA. It gets its own generator, so it draws nothing from the
    global torch RNG that dropout uses: the same seed gives the same run with any worker count."""
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(ds, batch_sampler=sampler, num_workers=workers, pin_memory=device.type == "cuda",
                      persistent_workers=workers > 0, worker_init_fn=_worker_init if workers else None,
                      multiprocessing_context="spawn" if workers else None, generator=torch.Generator())

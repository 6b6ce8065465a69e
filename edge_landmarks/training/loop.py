"""The one trainer for every model: recipe -> checkpoints, metrics.csv, and the best model on validation NME.

Reproducible and resumable: augmentation depends only on (seed, epoch, index), the epoch order comes from a
generator seeded with (seed, epoch), and each checkpoint stores the torch RNG state, so a run resumed from ``last.pt``
ends with the same metrics as one that never stopped, with or without DataLoader workers. SIGINT / SIGTERM stop at
once and keep ``last.pt`` (the last finished epoch) as the resume point; the unfinished epoch is simply run again.

Runs on the CPU, a CUDA or MPS device, with mixed precision (bf16, or fp16 with a gradient scaler), and on several
processes with torch.distributed (DDP, started by torchrun): ``batch_size`` is the global batch, each rank takes its
shard of every batch, rank 0 alone validates and writes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import signal
import time
from dataclasses import asdict
from pathlib import Path

from ..data import load_dataset
from ..data.transforms import Augment
from ..errors import EdgeLandmarksError, require
from ..files import atomic_write_text
from .checkpoint import FORMAT, init_from, save_checkpoint
from .config import TrainConfig
from .device import Dist, autocast, convert_sync_bn, init_distributed, resolve_amp, resolve_workers
from .evaluate import evaluate, torch_predictor
from .losses import landmark_loss
from .optim import build_optimizer, build_scheduler

__all__ = ["train", "train_one_epoch", "EpochBatches", "epoch_batches", "make_loader"]


@contextlib.contextmanager
def _stop_on_signals(flag: dict):
    def handler(signum, _frame):
        flag["stop"] = signal.Signals(signum).name

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not in the main thread
            pass
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _write_metrics_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


# --- the seeded order and the loader ----------------------------------------------------------------------------

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


# --- one epoch --------------------------------------------------------------------------------------------------

def _any_rank(dist: Dist, device, *flags: bool) -> list[bool]:
    """Each flag true on any rank (one all-reduce for all of them); the flags themselves when not distributed."""
    if not dist.enabled:
        return list(flags)
    import torch
    import torch.distributed as tdist

    t = torch.tensor([float(f) for f in flags], device=device)
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def train_one_epoch(model, loader, opt, cfg: TrainConfig, mcfg, device, amp: str = "off", scaler=None,
                    stop: dict | None = None, dist: Dist | None = None, max_batches: int | None = None) -> dict:
    """One pass over ``loader`` (the model already in train mode): returns the summed loss, faces and skipped steps.

    The loss is computed in float32. Under DDP each rank's loss is weighted by its share of the global batch, so the
    averaged gradient is the single-process gradient of the whole batch. An fp16 step whose gradients overflow is
    skipped by the scaler and counted, not an error; any other non-finite loss is.
    """
    import torch

    dist = dist or Dist(device=device)
    stop = stop if stop is not None else {}
    total = torch.zeros((), dtype=torch.float64, device=device)
    count, skipped = 0, 0
    sizes = [len(b) for b in getattr(loader.batch_sampler, "batches", [])]
    for bi, (x, y, m) in enumerate(loader):
        if max_batches is not None and bi >= max_batches:
            break
        x, y, m = (t.to(device, non_blocking=True) for t in (x, y, m))
        with autocast(amp, device):
            out = model(x)
        loss = landmark_loss(cfg.loss, out, y, m, mcfg.input_size, mcfg.output_scale, cfg.wing_w, cfg.wing_eps)
        bad = scaler is None and not bool(torch.isfinite(loss))
        stopped, bad = _any_rank(dist, device, bool(stop), bad)
        if stopped:
            break
        if bad:
            raise EdgeLandmarksError(f"the loss became {loss.item()}; lower lr (or try --amp off)")
        share = len(x) * dist.world / sizes[bi] if dist.enabled and sizes else 1.0
        opt.zero_grad()
        if scaler is not None:
            before = scaler.get_scale()
            scaler.scale(loss * share).backward()
            scaler.step(opt)
            scaler.update()
            skipped += int(scaler.get_scale() < before)
        else:
            (loss * share if share != 1.0 else loss).backward()
            opt.step()
        if torch.isfinite(loss.detach()):
            total += loss.detach().double() * len(x)
        count += len(x)
    if dist.enabled:
        import torch.distributed as tdist

        t = torch.tensor([total.item(), count, skipped], dtype=torch.float64, device=device)
        tdist.all_reduce(t)
        return {"loss_sum": t[0].item(), "count": int(t[1].item()), "skipped": int(t[2].item())}
    return {"loss_sum": total.item(), "count": count, "skipped": skipped}


# --- the run ----------------------------------------------------------------------------------------------------

def _prepare_model(cfg: TrainConfig, log, warm: bool = True):
    """The recipe's model, with its ImageNet trunk (``pretrained``) and warm start (``init``) when ``warm``."""
    from ..models import create_model

    model = create_model(cfg.model, **cfg.model_args)
    if not warm:  # a resumed run: the weights come from last.pt
        return model
    if cfg.pretrained == "imagenet":
        from .pretrained import load_imagenet

        report = load_imagenet(model)
        log(f"ImageNet weights: {len(report['loaded'])} tensors from {report['file']}")
    if cfg.init:
        report = init_from(model, cfg.init)
        log(f"started from {cfg.init}: {len(report['loaded'])} tensors loaded, {len(report['resized'])} resized"
            + (f", not loaded: {', '.join(report['skipped'])}" if report["skipped"] else ""))
    return model


def train(cfg: TrainConfig, data: str | None = None, out: str | Path | None = None, resume: bool = False,
          progress: bool = True, samples=None, val_samples=None, max_batches: int | None = None,
          stop_after: int | None = None, log=None) -> dict:
    """Train ``cfg``; returns the summary (best validation NME, epochs run, checkpoint paths, wall time, device).

    ``samples``/``val_samples`` may be given directly (tests); otherwise they come from ``data`` (or the recipe's).
    ``stop_after`` ends this call after that epoch, as an interruption would (the schedule stays the recipe's).
    Under torchrun (``WORLD_SIZE`` > 1) every rank calls this; rank 0 alone writes.
    """
    torch = require("torch", "train")

    out = Path(out or Path("runs") / cfg.name)
    last_path, best_path = out / "last.pt", out / "best.pt"
    if not resume and last_path.exists():
        raise EdgeLandmarksError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if resume and not last_path.exists():
        raise EdgeLandmarksError(f"{last_path}: nothing to resume")
    dist = init_distributed(cfg.device)
    device = dist.device
    amp = resolve_amp(cfg.amp, device)
    workers = resolve_workers(cfg.workers, device)
    main = dist.is_main
    log = log or (print if progress else (lambda *_: None))
    if not main:
        log = lambda *_: None  # noqa: E731
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if data is not None:  # recorded in the checkpoint: quantize and eval calibrate / check on the same data
        cfg.data = str(Path(data).resolve()) if Path(data).exists() else str(data)

    if samples is None:
        samples = load_dataset(cfg.data, split=cfg.train_split)
        val_samples = load_dataset(cfg.data, split=cfg.val_split)
    if not len(samples):
        raise EdgeLandmarksError("no training samples")
    val_samples = val_samples if val_samples is not None and len(val_samples) else samples
    if len(samples) < 2 * dist.world:
        raise EdgeLandmarksError(f"{len(samples)} training faces cannot feed {dist.world} processes (2 each at least)")

    raw = model = _prepare_model(cfg, log, warm=not resume).to(device)
    mcfg = raw.config
    from ..data.dataset import LandmarkCrops

    aug = None if cfg.augment.get("off") else Augment(**cfg.augment)
    train_ds = LandmarkCrops(samples, mcfg, augment=aug, seed=cfg.seed)
    opt = build_optimizer(cfg, (p for p in raw.parameters() if p.requires_grad))
    sched = build_scheduler(cfg, opt)
    scaler = torch.amp.GradScaler(device.type) if amp == "fp16" else None

    history: list[dict] = []
    start_epoch, best, stale = 0, float("inf"), 0
    if resume:
        ckpt = torch.load(last_path, map_location="cpu", weights_only=True)
        raw.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])  # moves the state to the parameters' device
        if sched is not None and ckpt.get("scheduler"):
            sched.load_state_dict(ckpt["scheduler"])
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"])
        start_epoch, best, stale, history = ckpt["epoch"], ckpt["best_nme"], ckpt["stale"], ckpt["history"]

    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        if cfg.sync_bn:
            raw = convert_sync_bn(raw, device)
            raw.config = mcfg
        model = DistributedDataParallel(raw, device_ids=[device.index] if device.type == "cuda" else None)

    def state(epoch: int) -> dict:
        return {
            "format": FORMAT, "model_config": mcfg.to_dict(), "state_dict": raw.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched is not None else {},
            "scaler": scaler.state_dict() if scaler is not None else {},
            "rng": torch.get_rng_state(), "epoch": epoch, "best_nme": best, "stale": stale, "history": history,
            "train_config": asdict(cfg), "crop_margin": mcfg.crop_margin,
            "trained_on": {"device": str(device), "amp": amp, "world_size": dist.world, "workers": workers},
        }

    if main and not resume:
        out.mkdir(parents=True, exist_ok=True)
        save_checkpoint(last_path, state(0))
    _barrier(dist)

    sampler = EpochBatches(dist.rank, dist.world)
    loader = make_loader(train_ds, sampler, workers, device)
    stop: dict = {}
    t0 = time.time()
    epochs_run, skipped_steps = 0, 0
    prog = None
    if progress and main:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[info]}"), TimeElapsedColumn())
    with _stop_on_signals(stop), (prog or contextlib.nullcontext()):
        task = prog.add_task(cfg.name, total=cfg.epochs, completed=start_epoch, info="") if prog else None
        for epoch in range(start_epoch, cfg.epochs):
            if (cfg.early_stopping and stale >= cfg.early_stopping) or (stop_after is not None and epoch >= stop_after):
                break
            te = time.time()
            model.train()
            train_ds.set_epoch(epoch)
            sampler.set(epoch, epoch_batches(len(train_ds), cfg.batch_size, cfg.seed, epoch, dist.world))
            res = train_one_epoch(model, loader, opt, cfg, mcfg, device, amp, scaler, stop, dist, max_batches)
            skipped_steps += res["skipped"]
            if _any_rank(dist, device, bool(stop))[0]:
                stop.setdefault("stop", "a signal on another rank")
                break
            val = float("nan")
            if main:
                metrics, _, _ = evaluate(torch_predictor(raw, device), val_samples, mcfg)
                val = metrics["nme"]
            val = _broadcast(dist, device, val)
            lr = opt.param_groups[0]["lr"]
            if sched is not None:
                sched.step(val) if cfg.scheduler == "plateau" else sched.step()
            improved = val < best
            best, stale = (val, 0) if improved else (best, stale + 1)
            loss = res["loss_sum"] / max(res["count"], 1)
            if main:
                history.append({"epoch": epoch + 1, "train_loss": round(loss, 6),
                                "val_nme": round(val, 6), "val_fr_08": round(metrics["fr_08"], 4),
                                "val_auc_08": round(metrics["auc_08"], 4), "lr": lr,
                                "seconds": round(time.time() - te, 2)})
                if improved:
                    save_checkpoint(best_path, {**state(epoch + 1), "optimizer": {}, "scheduler": {}, "scaler": {},
                                                "metrics": {"val": metrics}})
                save_checkpoint(last_path, state(epoch + 1))
                _write_metrics_csv(out / "metrics.csv", history)
            epochs_run += 1
            if prog:
                prog.update(task, completed=epoch + 1, info=f"loss {loss:.4f}  val NME {val:.4f}  best {best:.4f}")
    _barrier(dist)
    summary = {"run": str(out), "best": str(best_path), "last": str(last_path), "best_val_nme": best,
               "epochs": epoch_count(history, start_epoch, epochs_run), "epochs_this_call": epochs_run,
               "seconds": round(time.time() - t0, 1), "stopped_by": stop.get("stop"), "model": cfg.model,
               "input_size": mcfg.input_size, "device": str(device), "amp": amp, "workers": workers,
               "world_size": dist.world, "rank": dist.rank, "skipped_steps": skipped_steps}
    if stop:
        summary["message"] = (f"stopped by {stop['stop']}; resume with: edge-lmk train {cfg.name} --resume "
                              f"--out {out}")
    if dist.enabled:
        import torch.distributed as tdist

        tdist.destroy_process_group()
    return summary


def epoch_count(history: list, start_epoch: int, epochs_run: int) -> int:
    """Epochs finished in the run so far (rank 0 keeps the history; the others count)."""
    return len(history) if history else start_epoch + epochs_run


def _barrier(dist: Dist) -> None:
    if dist.enabled:
        import torch.distributed as tdist

        tdist.barrier()


def _broadcast(dist: Dist, device, value: float) -> float:
    if not dist.enabled:
        return value
    import torch
    import torch.distributed as tdist

    t = torch.tensor([value], dtype=torch.float64, device=device)
    tdist.broadcast(t, src=0)
    return t.item()

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
import shlex
import signal
import time
from dataclasses import asdict
from pathlib import Path

from ..data import load_dataset
from ..errors import EdgeLandmarksError, require
from ..files import atomic_write_text
from .checkpoint import FORMAT, init_from, read_checkpoint, save_checkpoint
from .config import TrainConfig, resume_point
from .device import Dist, autocast, convert_sync_bn, init_distributed, resolve_amp, resolve_workers
from .evaluate import evaluate, torch_predictor
from .loader import EpochBatches, epoch_batches, make_loader
from .losses import landmark_loss
from .optim import build_optimizer, build_scheduler

__all__ = ["train", "train_one_epoch", "VAL_FACES"]

VAL_LABELS = {"nme": "NME", "rmse_px": "RMSE px"}
"""How the progress bar and the summary name each validation score (``TrainConfig.val_metric``)."""
VAL_FACES = "val_faces.txt"
RUN_FILES = ("last.pt", "best.pt", "metrics.csv", VAL_FACES)
"""What a run writes into its folder."""
"""In the run folder, where validation faces were held out of the training split: one face's source per line."""


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
                    stop: dict | None = None, dist: Dist | None = None, max_batches: int | None = None,
                    after_step=None) -> dict:
    """One pass over ``loader`` (the model already in train mode): returns the summed loss, faces and skipped steps.

    The loss is computed in float32. Under DDP each rank's loss is weighted by its share of the global batch, so the
    averaged gradient is the single-process gradient of the whole batch. An fp16 step whose gradients overflow is
    skipped by the scaler and counted, not an error; any other non-finite loss is. ``after_step()`` runs after
    each optimiser step (the weights' moving average).
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
        if after_step is not None:
            after_step()
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
    from ..models import get_model_config

    try:  # an unknown model or a bad --model-arg is one error, before any folder is made
        get_model_config(cfg.model, **cfg.model_args)
    except (ValueError, TypeError) as exc:
        raise EdgeLandmarksError(f"recipe {cfg.name}: {exc}") from None

    out = Path(out or Path("runs") / cfg.name)
    last_path = out / "last.pt"
    if not resume and last_path.exists():
        raise EdgeLandmarksError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    taken = [out / n for n in RUN_FILES if (out / n).exists()] if not resume else []
    if taken:  # a user's own best.pt or metrics.csv: a new run writes none of them over
        raise EdgeLandmarksError(f"{taken[0]} exists and is not part of a run to resume: choose another --out")
    if resume:
        resume_point(out)
    dist, amp, workers, log = _set_up(cfg, data, progress, log)
    device, main = dist.device, dist.is_main
    samples, val_samples, validation = _training_faces(cfg, samples, val_samples, dist.world, log)

    raw = model = _prepare_model(cfg, log, warm=not resume).to(device)
    mcfg = raw.config
    from ..data.dataset import LandmarkCrops

    train_ds = LandmarkCrops(samples, mcfg, augment=cfg.augmentation(), seed=cfg.seed)
    opt = build_optimizer(cfg, (p for p in raw.parameters() if p.requires_grad))
    run = _Run(cfg, out, raw, opt, build_scheduler(cfg, opt),
               torch.amp.GradScaler(device.type) if amp == "fp16" else None,
               {"device": str(device), "amp": amp, "world_size": dist.world, "workers": workers},
               validation.to_dict())
    run.ema = WeightAverage(raw, cfg.ema) if cfg.ema else None
    if resume:
        run.resume(last_path)
    start_epoch = run.epoch
    if dist.enabled:
        run.raw, model = _wrap_ddp(raw, cfg, device)  # SyncBatchNorm on GPUs is a new module: checkpoint that one
        raw = run.raw
    if main and not resume:
        out.mkdir(parents=True, exist_ok=True)
        save_checkpoint(last_path, run.state(0))
    if main and validation.faces:  # which faces validate, one per line (a resumed run holds out the same ones)
        atomic_write_text(out / VAL_FACES, "".join(f"{f}\n" for f in validation.faces))
    _barrier(dist)

    sampler = EpochBatches(dist.rank, dist.world)
    loader = make_loader(train_ds, sampler, workers, device)
    stop: dict = {}
    t0 = time.time()
    epochs_run, skipped_steps = 0, 0
    prog = _progress_bar() if progress and main else None
    label = VAL_LABELS[cfg.val_metric]
    with _stop_on_signals(stop), (prog or contextlib.nullcontext()):
        task = prog.add_task(cfg.name, total=cfg.epochs, completed=start_epoch, info="") if prog else None
        for epoch in range(start_epoch, cfg.epochs):
            if (cfg.early_stopping and run.stale >= cfg.early_stopping) or (stop_after is not None
                                                                            and epoch >= stop_after):
                break
            te = time.time()
            model.train()
            train_ds.set_epoch(epoch)
            sampler.set(epoch, epoch_batches(len(train_ds), cfg.batch_size, cfg.seed, epoch, dist.world))
            res = train_one_epoch(model, loader, opt, cfg, mcfg, device, amp, run.scaler, stop, dist,
                                  max_batches if max_batches is not None else cfg.max_batches or None,
                                  after_step=(lambda: run.ema.update(raw)) if run.ema else None)
            skipped_steps += res["skipped"]
            if _any_rank(dist, device, bool(stop))[0]:
                stop.setdefault("stop", "a signal on another rank")
                break
            judged = run.ema.model if run.ema else raw  # the model that best.pt will hold
            metrics = evaluate(torch_predictor(judged, device), val_samples, mcfg)[0] if main else {"nme": float("nan")}
            loss, val = res["loss_sum"] / max(res["count"], 1), _broadcast(dist, device, metrics[cfg.val_metric])
            run.end_epoch(epoch + 1, loss, val, metrics, time.time() - te, write=main)
            epochs_run += 1
            if prog:
                prog.update(task, completed=epoch + 1,
                            info=f"loss {loss:.4f}  val {label} {val:.4f}  best {run.best:.4f}")
    _barrier(dist)
    summary = {"run": str(out), "best": str(out / "best.pt"), "last": str(last_path), "best_val_nme": run.best,
               "epochs": epoch_count(run.history, start_epoch, epochs_run), "epochs_this_call": epochs_run,
               "seconds": round(time.time() - t0, 1), "stopped_by": stop.get("stop"), "model": cfg.model,
               "input_size": mcfg.input_size, "device": str(device), "amp": amp, "workers": workers,
               "world_size": dist.world, "rank": dist.rank, "skipped_steps": skipped_steps, "val_metric": label}
    if stop:
        summary["message"] = (f"stopped by {stop['stop']}; resume with: edge-lmk train {cfg.name} --resume "
                              f"--out {shlex.quote(str(out))}")
    _close_loader(loader)
    _finish(dist)
    return summary


def _close_loader(loader) -> None:
    """Stop a DataLoader's persistent workers now, in this thread, rather than whenever the garbage collector reaches
    the loader (a later, unrelated point of the program, possibly in another thread)."""
    it = getattr(loader, "_iterator", None)
    if it is not None and hasattr(it, "_shutdown_workers"):
        it._shutdown_workers()
        loader._iterator = None


class _Run:
    """A run's state between epochs (optimiser, schedule, scaler, best NME, stale epochs, history) and its
    checkpoints: ``last.pt`` after every epoch, ``best.pt`` when validation NME improves, metrics.csv beside them."""

    def __init__(self, cfg: TrainConfig, out: Path, raw, opt, sched, scaler, trained_on: dict, validation: dict):
        self.cfg, self.out, self.raw, self.opt, self.sched, self.scaler = cfg, out, raw, opt, sched, scaler
        self.trained_on, self.validation = trained_on, validation
        self.epoch, self.best, self.stale, self.history = 0, float("inf"), 0, []
        self.ema: WeightAverage | None = None

    def state(self, epoch: int) -> dict:
        """last.pt's contents: the model (the weights' average when the recipe keeps one, with the raw weights and
        the average's step count beside it), the optimiser, schedule, scaler, RNG and the run's progress."""
        import torch

        mcfg = self.raw.config
        average = {} if self.ema is None else {"raw_state_dict": self.raw.state_dict(), "ema_steps": self.ema.steps}
        return {
            "format": FORMAT, "model_config": mcfg.to_dict(), **average,
            "state_dict": (self.ema.model if self.ema else self.raw).state_dict(),
            "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict() if self.sched is not None else {},
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            "rng": torch.get_rng_state(), "epoch": epoch, "best_nme": self.best, "stale": self.stale,
            "history": self.history, "train_config": asdict(self.cfg), "crop_margin": mcfg.crop_margin,
            "trained_on": self.trained_on, "validation": self.validation,
        }

    def resume(self, last_path: Path) -> None:
        """Weights, optimiser, schedule, scaler and RNG back from last.pt, with the run's progress."""
        import torch

        ckpt = read_checkpoint(last_path)
        self.raw.load_state_dict(ckpt.get("raw_state_dict") or ckpt["state_dict"])
        if self.ema is not None:
            self.ema.model.load_state_dict(ckpt["state_dict"])
            self.ema.steps = int(ckpt.get("ema_steps", 0))
        self.opt.load_state_dict(ckpt["optimizer"])  # moves the state to the parameters' device
        if self.sched is not None and ckpt.get("scheduler"):
            self.sched.load_state_dict(ckpt["scheduler"])
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"])
        self.epoch, self.best, self.stale, self.history = ckpt["epoch"], ckpt["best_nme"], ckpt["stale"], \
            ckpt["history"]

    def end_epoch(self, epoch: int, loss: float, val: float, metrics: dict, seconds: float, write: bool) -> None:
        """Step the schedule on ``val``, keep the best, and (``write``: rank 0) record the epoch and checkpoint."""
        lr = self.opt.param_groups[0]["lr"]
        if self.sched is not None:
            self.sched.step(val) if self.cfg.scheduler == "plateau" else self.sched.step()
        improved = val < self.best
        self.best, self.stale = (val, 0) if improved else (self.best, self.stale + 1)
        if not write:
            return
        self.history.append({"epoch": epoch, "train_loss": round(loss, 6), "val_nme": round(metrics["nme"], 6),
                             "val_fr_08": round(metrics["fr_08"], 4), "val_auc_08": round(metrics["auc_08"], 4),
                             "val_rmse_px": round(metrics["rmse_px"], 4), "lr": lr, "seconds": round(seconds, 2)})
        if improved:
            best = {**self.state(epoch), "optimizer": {}, "scheduler": {}, "scaler": {}, "metrics": {"val": metrics}}
            best.pop("raw_state_dict", None)  # best.pt is the model alone
            save_checkpoint(self.out / "best.pt", best)
        save_checkpoint(self.out / "last.pt", self.state(epoch))
        _write_metrics_csv(self.out / "metrics.csv", self.history)

class WeightAverage:
    """An exponential moving average of a model's weights and buffers: after optimiser step n, each floating tensor
    moves towards the model's by ``1 - min(decay, (1 + n) / (10 + n))`` (the warm-up keeps the first steps from being
    held back by the starting weights); integer buffers (BatchNorm's step count) are copied."""

    def __init__(self, model, decay: float):
        import copy

        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay, self.steps = float(decay), 0

    def update(self, model) -> None:
        import torch

        keep = min(self.decay, (1 + self.steps) / (10 + self.steps))
        self.steps += 1
        with torch.no_grad():
            for mine, theirs in zip(self.model.state_dict().values(), model.state_dict().values(), strict=True):
                if mine.dtype.is_floating_point:
                    mine.lerp_(theirs.detach(), 1.0 - keep)
                else:
                    mine.copy_(theirs)


def _set_up(cfg: TrainConfig, data, progress: bool, log):
    """The process group and device, AMP and workers resolved, the log (rank 0 only), threads, seed and data."""
    import torch

    dist = init_distributed(cfg.device)
    amp = resolve_amp(cfg.amp, dist.device)
    workers = resolve_workers(cfg.workers, dist.device)
    log = log or (print if progress else (lambda *_: None))
    if not dist.is_main:
        log = lambda *_: None  # noqa: E731
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if data is not None:  # recorded in the checkpoint: quantize and eval calibrate / check on the same data
        cfg.data = str(Path(data).resolve()) if Path(data).exists() else str(data)
    return dist, amp, workers, log


def _wrap_ddp(raw, cfg: TrainConfig, device):
    from torch.nn.parallel import DistributedDataParallel

    mcfg = raw.config
    if cfg.sync_bn:
        raw = convert_sync_bn(raw, device)
        raw.config = mcfg
    return raw, DistributedDataParallel(raw, device_ids=[device.index] if device.type == "cuda" else None)


def _training_faces(cfg: TrainConfig, samples, val_samples, world: int, log=print):
    """The training and validation faces, and how validation was chosen: given (tests), or read from the recipe's
    data by the one validation rule (:mod:`edge_landmarks.data.holdout`: the data's ``val`` split, else a seeded,
    stated part of the training split). Faces whose points do not convert to the model's scheme (Menpo's 39-point
    profiles for a 68-point model, and the other way round) are left out, and the log says how many."""
    from ..data.holdout import Validation, training_and_validation
    from ..data.samples import LandmarkSet
    from ..models import get_model_config

    scheme = get_model_config(cfg.model, **cfg.model_args).scheme
    given = samples is not None
    data = LandmarkSet(samples) if given else load_dataset(cfg.data)
    total = len(data)
    data, dropped = data.for_scheme(scheme)
    if dropped:
        others = ", ".join(f"{n} {name}" for name, n in sorted(dropped.items()))
        log(f"{len(data)} of {total} faces are {scheme} or convert to it; left out: {others}")
    if not len(data):
        raise EdgeLandmarksError(f"no training samples in {scheme} or a scheme that converts to it" if total
                                 else "no training samples")
    if given:
        samples = data
        validation = Validation("faces given by the caller" if val_samples is not None else "the training faces")
    else:
        samples, val_samples, validation = training_and_validation(data, cfg.train_split, cfg.val_split, cfg.seed)
        log(f"validation: {validation.rule}")
    if val_samples is not None:
        val_samples = LandmarkSet(val_samples).for_scheme(scheme)[0]
    val_samples = val_samples if val_samples is not None and len(val_samples) else samples
    if len(samples) < 2 * world:
        raise EdgeLandmarksError(f"{len(samples)} training faces cannot feed {world} processes (2 each at least)")
    if cfg.batch_size < 2 * world:
        raise EdgeLandmarksError(f"batch_size {cfg.batch_size} is the global batch: {world} processes need "
                                 f"{2 * world} or more (2 faces each); pass --batch-size or start fewer processes")
    return samples, val_samples, validation


def _progress_bar():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn())


def _finish(dist: Dist) -> None:
    if dist.enabled:
        import torch.distributed as tdist

        tdist.destroy_process_group()


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

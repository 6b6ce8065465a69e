"""The one trainer for every model: recipe -> checkpoints, metrics.csv, and the best model on validation NME.

Reproducible and resumable: augmentation depends only on (seed, epoch, index), batches are shuffled by a generator
seeded with (seed, epoch), and each checkpoint stores the torch RNG state, so a run resumed from ``last.pt`` ends with
the same metrics as one that never stopped. SIGINT / SIGTERM stop at once and keep ``last.pt`` (the last finished
epoch) as the resume point; the unfinished epoch is simply run again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import math
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .data import load_dataset
from .data.transforms import Augment
from .errors import EdgeLandmarksError, require
from .io import atomic_write, atomic_write_text

__all__ = ["TrainConfig", "load_recipe", "find_recipe", "train", "load_checkpoint", "predict_crops", "evaluate",
           "LOSSES", "OPTIMIZERS", "SCHEDULERS"]

LOSSES = ("mse", "l1", "log_l2", "rmse", "wing")
OPTIMIZERS = ("adam", "adamw", "nadam", "sgd")
SCHEDULERS = ("none", "step", "cosine", "plateau")


@dataclass
class TrainConfig:
    """A recipe: the model, its settings, and how to train it."""

    name: str
    model: str
    model_args: dict = field(default_factory=dict)
    """Overrides of the model's config, e.g. {input_size: 56} or {scheme: eyes12}."""
    data: str = "demo68"
    train_split: str = "train"
    val_split: str = "val"
    loss: str = "mse"
    wing_w: float = 10.0
    wing_eps: float = 2.0
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    batch_size: int = 32
    epochs: int = 30
    scheduler: str = "cosine"
    step_size: int = 30
    gamma: float = 0.1
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    early_stopping: int = 0
    """Stop after this many epochs without a better validation NME (0: never)."""
    augment: dict = field(default_factory=dict)
    """Overrides of :class:`Augment`; ``augment: false`` in YAML turns augmentation off."""
    seed: int = 0
    threads: int = 0
    """torch intra-op threads (0: torch's default)."""
    seed_reference: dict = field(default_factory=dict)
    """What the source project reports for this model (for the README table), not used in training."""

    def __post_init__(self) -> None:
        checks = (("loss", self.loss, LOSSES), ("optimizer", self.optimizer, OPTIMIZERS),
                  ("scheduler", self.scheduler, SCHEDULERS))
        for key, value, allowed in checks:
            if value not in allowed:
                raise EdgeLandmarksError(f"recipe {self.name}: {key} {value!r} is not one of {', '.join(allowed)}")
        if self.batch_size < 1 or self.epochs < 1 or not self.lr > 0:
            raise EdgeLandmarksError(f"recipe {self.name}: batch_size, epochs and lr must be positive")


def find_recipe(recipe: str) -> Path:
    """A YAML path, or a recipe name looked up in ./train/ and the source checkout's train/."""
    p = Path(recipe)
    if p.is_file():
        return p
    here = Path(__file__).resolve().parents[1] / "train"
    for folder in (Path.cwd() / "train", here):
        cand = folder / f"{recipe}.yaml"
        if cand.is_file():
            return cand
    known = sorted({f.stem for folder in (Path.cwd() / "train", here) if folder.is_dir()
                    for f in folder.glob("*.yaml")})
    raise EdgeLandmarksError(f"no recipe {recipe!r} (not a file; known names: {', '.join(known) or 'none'})")


def load_recipe(recipe: str, **overrides) -> TrainConfig:
    import yaml

    path = find_recipe(recipe)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise EdgeLandmarksError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise EdgeLandmarksError(f"{path}: a recipe is a YAML mapping")
    raw.setdefault("name", path.stem)
    if raw.get("augment") is False:
        raw["augment"] = {"off": True}
    unknown = set(raw) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise EdgeLandmarksError(f"{path}: unknown recipe key(s): {', '.join(sorted(unknown))}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    if "model" not in raw:
        raise EdgeLandmarksError(f"{path}: a recipe needs 'model'")
    return TrainConfig(**raw)


# --- losses -----------------------------------------------------------------------------------------------------

def landmark_loss(name: str, pred, target, mask, size: int, scale: float, w: float = 10.0, eps: float = 2.0):
    """Loss over visible points. pred/target (B, 2K) in the model's frame; wing works in crop pixels."""
    import torch

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


# --- prediction and evaluation ----------------------------------------------------------------------------------

def predict_crops(predict_batch, samples, config, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Run ``predict_batch(x: float32 (B, C, S, S)) -> (B, 2K)`` over samples; returns (pred, gt) in image pixels.

    Shared by training-time validation, ``edge-lmk eval`` and the benchmark: every backend is judged the same way.
    """
    from .data.dataset import LandmarkCrops
    from .data.transforms import to_image, to_input
    from .schemes import convert

    ds = LandmarkCrops(samples, config, augment=None)
    preds, gts = [], []
    for start in range(0, len(ds), batch_size):
        crops = [ds.crop(i, augment=False) for i in range(start, min(start + batch_size, len(ds)))]
        x = np.stack([to_input(c["image"], config.mean, config.std) for c in crops])
        out = np.asarray(predict_batch(x), dtype=np.float64).reshape(len(crops), -1, 2) / config.output_scale
        for k, c in enumerate(crops):
            preds.append(to_image(out[k], c["matrix"], config.input_size))
            s = ds.samples[start + k]
            gts.append(convert(s.landmarks, s.scheme, config.scheme))
    return np.stack(preds), np.stack(gts)


def torch_predictor(model):
    import torch

    model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    return run


def evaluate(predict_batch, samples, config) -> tuple[dict, np.ndarray, np.ndarray]:
    from .metrics import summarize

    pred, gt = predict_crops(predict_batch, samples, config)
    return summarize(pred, gt, config.scheme), pred, gt


# --- checkpoints ------------------------------------------------------------------------------------------------

def save_checkpoint(path: Path, state: dict) -> None:
    torch = require("torch", "train")
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))


def load_checkpoint(path: str | Path) -> tuple:
    """(model in eval mode, checkpoint dict); ``weights_only=True``, with clear errors for missing/corrupt files."""
    torch = require("torch", "train")
    from .models import ModelConfig, create_model

    p = Path(path)
    if not p.is_file():
        raise EdgeLandmarksError(f"{p}: checkpoint not found")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise EdgeLandmarksError(f"{p}: not a readable checkpoint ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(ckpt, dict) or "model_config" not in ckpt or "state_dict" not in ckpt:
        raise EdgeLandmarksError(f"{p}: not an edge-landmarks checkpoint (no model_config/state_dict)")
    cfg = ModelConfig.from_dict(ckpt["model_config"])
    overrides = {k: v for k, v in cfg.to_dict().items() if k not in ("name", "extra")}
    model = create_model(cfg.name, **{k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items()})
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- the loop ---------------------------------------------------------------------------------------------------

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


def train(cfg: TrainConfig, data: str | None = None, out: str | Path | None = None, resume: bool = False,
          progress: bool = True, samples=None, val_samples=None, max_batches: int | None = None,
          stop_after: int | None = None) -> dict:
    """Train ``cfg``; returns the summary (best validation NME, epochs run, checkpoint paths, wall time).

    ``samples``/``val_samples`` may be given directly (tests); otherwise they come from ``data`` (or the recipe's).
    ``stop_after`` ends this call after that epoch, as an interruption would (the schedule stays the recipe's).
    """
    torch = require("torch", "train")
    from .models import create_model

    out = Path(out or Path("runs") / cfg.name)
    last_path, best_path = out / "last.pt", out / "best.pt"
    if not resume and last_path.exists():
        raise EdgeLandmarksError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if data is not None:  # recorded in the checkpoint: quantize and eval calibrate / check on the same data
        cfg.data = str(Path(data).resolve()) if Path(data).exists() else str(data)

    if samples is None:
        data = cfg.data
        samples = load_dataset(data, split=cfg.train_split)
        val_samples = load_dataset(data, split=cfg.val_split)
    if not len(samples):
        raise EdgeLandmarksError("no training samples")
    val_samples = val_samples if val_samples is not None and len(val_samples) else samples

    model = create_model(cfg.model, **cfg.model_args)
    mcfg = model.config
    aug = None if cfg.augment.get("off") else Augment(**cfg.augment)
    from .data.dataset import LandmarkCrops

    train_ds = LandmarkCrops(samples, mcfg, augment=aug, seed=cfg.seed)

    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "nadam":
        opt = torch.optim.NAdam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay)
    if cfg.scheduler == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, cfg.step_size, cfg.gamma)
    elif cfg.scheduler == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    elif cfg.scheduler == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=cfg.plateau_factor,
                                                           patience=cfg.plateau_patience)
    else:
        sched = None

    history: list[dict] = []
    start_epoch, best, stale = 0, float("inf"), 0
    if resume:
        if not last_path.exists():
            raise EdgeLandmarksError(f"{last_path}: nothing to resume")
        ckpt = torch.load(last_path, map_location="cpu", weights_only=True)
        model.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        if sched is not None and ckpt.get("scheduler"):
            sched.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"])
        start_epoch, best, stale, history = ckpt["epoch"], ckpt["best_nme"], ckpt["stale"], ckpt["history"]

    def state(epoch: int) -> dict:
        return {
            "format": "edge-landmarks-checkpoint/1", "model_config": mcfg.to_dict(), "state_dict": model.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched is not None else {},
            "rng": torch.get_rng_state(), "epoch": epoch, "best_nme": best, "stale": stale, "history": history,
            "train_config": asdict(cfg), "crop_margin": mcfg.crop_margin,
        }

    if not resume:
        save_checkpoint(last_path, state(0))

    stop: dict = {}
    t0 = time.time()
    epochs_run = 0
    prog = None
    if progress:
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
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(len(train_ds), generator=gen).tolist()
            total, count = 0.0, 0
            batches = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
            if len(batches) > 1 and len(batches[-1]) < 2:  # BatchNorm needs 2+ samples
                batches[-2] += batches.pop()
            for bi, idx in enumerate(batches):
                if max_batches is not None and bi >= max_batches:
                    break
                if stop:
                    break
                items = [train_ds[i] for i in idx]
                x = torch.stack([it[0] for it in items])
                y = torch.stack([it[1] for it in items])
                m = torch.stack([it[2] for it in items])
                loss = landmark_loss(cfg.loss, model(x), y, m, mcfg.input_size, mcfg.output_scale,
                                     cfg.wing_w, cfg.wing_eps)
                if not torch.isfinite(loss):
                    raise EdgeLandmarksError(f"epoch {epoch + 1}: the loss became {loss.item()}; lower lr")
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                count += len(idx)
            if stop:
                break
            metrics, _, _ = evaluate(torch_predictor(model), val_samples, mcfg)
            val = metrics["nme"]
            lr = opt.param_groups[0]["lr"]
            if sched is not None:
                sched.step(val) if cfg.scheduler == "plateau" else sched.step()
            improved = val < best
            best, stale = (val, 0) if improved else (best, stale + 1)
            history.append({"epoch": epoch + 1, "train_loss": round(total / max(count, 1), 6),
                            "val_nme": round(val, 6), "val_fr_08": round(metrics["fr_08"], 4),
                            "val_auc_08": round(metrics["auc_08"], 4), "lr": lr,
                            "seconds": round(time.time() - te, 2)})
            if improved:
                save_checkpoint(best_path, {**state(epoch + 1), "optimizer": {}, "scheduler": {},
                                            "metrics": {"val": metrics}})
            save_checkpoint(last_path, state(epoch + 1))
            _write_metrics_csv(out / "metrics.csv", history)
            epochs_run += 1
            if prog:
                prog.update(task, completed=epoch + 1,
                            info=f"loss {total / max(count, 1):.4f}  val NME {val:.4f}  best {best:.4f}")
    summary = {"run": str(out), "best": str(best_path), "last": str(last_path), "best_val_nme": best,
               "epochs": len(history), "epochs_this_call": epochs_run, "seconds": round(time.time() - t0, 1),
               "stopped_by": stop.get("stop"), "model": cfg.model, "input_size": mcfg.input_size}
    if stop:
        summary["message"] = (f"stopped by {stop['stop']}; resume with: edge-lmk train {cfg.name} --resume "
                              f"--out {out}")
    return summary

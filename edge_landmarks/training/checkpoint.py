"""Checkpoints: written atomically, always with CPU tensors, loaded with ``weights_only=True``; warm starts."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from ..errors import EdgeLandmarksError, require
from ..files import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "read_checkpoint", "check_checkpoint", "file_sha256", "to_cpu",
           "init_from", "MAX_CHECKPOINT_BYTES", "data_for", "DEFAULT_DATA"]

FORMAT = "edge-landmarks-checkpoint/1"
MAX_CHECKPOINT_BYTES = 2 << 30
"""The largest checkpoint read: the biggest documented model (xception, 8.6 M parameters) with its optimiser
state is about 100 MB."""


def to_cpu(obj):
    """A copy of a (nested) state with every tensor on the CPU, so a GPU run's checkpoint loads anywhere."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def save_checkpoint(path: Path, state: dict) -> None:
    torch = require("torch", "train")
    buf = io.BytesIO()
    torch.save(to_cpu(state), buf)
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))


DEFAULT_DATA = "demo68"


def data_for(model_path: str | Path, data: str | None = None, train_config: dict | None = None) -> str:
    """The faces a command uses when it is given none: ``data``, else what the model was trained on (a checkpoint's
    recipe, ``train_config`` when the caller has read it already, or an exported file's sidecar), else demo68.
    ``eval``, ``export`` and ``quantize`` share this rule."""
    if data:
        return str(data)
    path = Path(model_path)
    if train_config is None and path.suffix.lower() == ".pt":
        train_config = read_checkpoint(path).get("train_config") or {}
    trained = (train_config or {}).get("data")
    if trained is None and path.suffix.lower() != ".pt":
        from ..files import read_json
        from ..runtime.backends import sidecar_path

        try:
            trained = read_json(sidecar_path(path)).get("training_data")
        except (OSError, AttributeError, EdgeLandmarksError):  # no sidecar, or not ours: the demo set
            trained = None
    return str(trained or DEFAULT_DATA)


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict (CPU tensors), checked (:func:`check_checkpoint`): one clear error for a missing,
    oversized, corrupt or foreign file."""
    torch = require("torch", "train")
    p = Path(path)
    if not p.is_file():
        raise EdgeLandmarksError(f"{p}: checkpoint not found")
    if p.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise EdgeLandmarksError(f"{p}: {p.stat().st_size:,} bytes, more than a checkpoint of ours may have "
                                 f"({MAX_CHECKPOINT_BYTES:,})")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise EdgeLandmarksError(f"{p}: not a readable checkpoint ({type(exc).__name__}: {str(exc)[:120]})") from None
    check_checkpoint(ckpt, p)
    return ckpt


def check_checkpoint(ckpt, path: str | Path) -> None:
    """THE check of a checkpoint before use: a dict whose ``model_config`` is a valid config of a registered model
    (:meth:`ModelConfig.check`: types and ranges) and whose ``state_dict`` is a non-empty mapping of names to
    tensors. Raises one :class:`EdgeLandmarksError` naming the file. (Tensor shapes are checked against the model
    when :func:`load_checkpoint` builds it.)"""
    import torch

    from ..models import ModelConfig, list_models

    if not isinstance(ckpt, dict) or "model_config" not in ckpt or "state_dict" not in ckpt:
        raise EdgeLandmarksError(f"{path}: not an edge-landmarks checkpoint (no model_config/state_dict)")
    try:
        cfg = ModelConfig.from_dict(ckpt["model_config"])
    except (TypeError, ValueError) as exc:
        raise EdgeLandmarksError(f"{path}: its model_config is not usable ({exc})") from None
    if cfg.name not in list_models():
        import difflib

        close = difflib.get_close_matches(cfg.name, list_models(), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise EdgeLandmarksError(f"{path}: a checkpoint of an unknown model {cfg.name[:60]!r}{hint}")
    state = ckpt["state_dict"]
    if not isinstance(state, dict) or not state:
        raise EdgeLandmarksError(f"{path}: its state_dict holds no weights")
    bad = [str(k)[:60] for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise EdgeLandmarksError(f"{path}: its state_dict holds entries that are not named tensors "
                                 f"({', '.join(bad[:3])})")


def load_checkpoint(path: str | Path) -> tuple:
    """(model in eval mode, checkpoint dict); a state_dict that does not fit the model its config names is one
    error naming the file."""
    from ..models import ModelConfig, create_model

    ckpt = read_checkpoint(path)
    cfg = ModelConfig.from_dict(ckpt["model_config"])  # checked by read_checkpoint
    overrides = {k: v for k, v in cfg.to_dict().items() if k not in ("name", "extra")}
    try:
        model = create_model(cfg.name, **{k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items()})
    except ValueError as exc:
        raise EdgeLandmarksError(f"{path}: its model_config does not build a model ({exc})") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:200]
        raise EdgeLandmarksError(f"{path}: its weights do not fit {cfg.name} ({first})") from None
    return model.eval(), ckpt


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def init_from(model, path: str | Path) -> dict:
    """Load every tensor of another edge-landmarks checkpoint whose shape fits ``model`` (a warm start: 56 -> 224
    px, 68 -> 98 points, another model of the same family). Returns ``{"loaded": [...], "resized": [...],
    "skipped": [...]}`` by parameter name.

    A 4-D kernel whose spatial size differs (the GDConv kernel follows the final feature map: 2x2 at 56 px, 7x7 at
    224 px) is resized bilinearly and rescaled to keep its sum, so it averages the same face regions over the larger
    map.
    """
    import torch

    src = read_checkpoint(path)["state_dict"]
    dst = model.state_dict()
    report: dict[str, list[str]] = {"loaded": [], "resized": [], "skipped": []}
    for key, target in dst.items():
        value = src.get(key)
        if value is None:
            report["skipped"].append(f"{key} (not in {Path(path).name})")
        elif value.shape == target.shape:
            dst[key] = value
            report["loaded"].append(key)
        elif value.ndim == 4 and target.ndim == 4 and target.shape[:2] == value.shape[:2]:
            resized = torch.nn.functional.interpolate(value.float(), size=tuple(target.shape[2:]), mode="bilinear",
                                                      align_corners=False)
            dst[key] = resized * (value.shape[2] * value.shape[3]) / (target.shape[2] * target.shape[3])
            report["resized"].append(key)
        else:
            report["skipped"].append(f"{key} ({tuple(value.shape)} -> {tuple(target.shape)})")
    if not report["loaded"]:
        raise EdgeLandmarksError(f"{path}: no tensor fits {model.config.name}; is it a checkpoint of another family?")
    model.load_state_dict(dst)
    return report

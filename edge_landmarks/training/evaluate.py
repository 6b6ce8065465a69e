"""Prediction over held-out faces: training-time validation, ``edge-lmk eval``, export checks and the bench."""

from __future__ import annotations

import numpy as np

__all__ = ["predict_crops", "torch_predictor", "evaluate", "load_torch"]


def predict_crops(predict_batch, samples, config, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Run ``predict_batch(x: float32 (B, C, S, S)) -> (B, 2K)`` over samples; returns (pred, gt) in image pixels.

    Every backend is judged the same way.
    """
    from ..data.dataset import LandmarkCrops
    from ..data.transforms import to_image, to_input
    from ..schemes import convert

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


def torch_predictor(model, device=None):
    """``predict_batch`` for a torch model (eval mode, no gradients, float32 on ``device``; results on the CPU)."""
    import torch

    model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.from_numpy(x)
            if device is not None and device.type != "cpu":
                t = t.to(device)
            return model(t).float().cpu().numpy()

    return run


def load_torch(path, threads: int = 1):
    """The format table's loader for checkpoints: (predict_batch, ModelConfig, metadata) on the CPU."""
    import torch

    from .checkpoint import load_checkpoint

    torch.set_num_threads(threads)
    model, _ = load_checkpoint(path)
    return torch_predictor(model), model.config, {"format": "torch", "precision": "fp32"}


def evaluate(predict_batch, samples, config) -> tuple[dict, np.ndarray, np.ndarray]:
    from ..metrics import summarize

    pred, gt = predict_crops(predict_batch, samples, config)
    return summarize(pred, gt, config.scheme), pred, gt

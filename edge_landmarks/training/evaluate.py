"""Prediction over held-out faces: training-time validation, ``edge-lmk eval``, export checks and the bench."""

from __future__ import annotations

import numpy as np

__all__ = ["predict_crops", "run_batches", "torch_predictor", "evaluate", "load_torch"]


def predict_crops(predict_batch, samples, config, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Run ``predict_batch(x: float32 (B, C, S, S)) -> (B, 2K)`` over samples; returns (pred, gt) in image pixels.

    Every backend is judged the same way: :func:`~edge_landmarks.data.dataset.make_inputs`, the model, then
    :func:`~edge_landmarks.data.dataset.decode`, ``batch_size`` faces at a time.
    """
    from ..data.dataset import decode, make_inputs, targets

    samples = list(samples)
    preds = []
    for start in range(0, len(samples), batch_size):
        x, mats = make_inputs(samples[start:start + batch_size], config)
        preds.append(decode(predict_batch(x), mats, config))
    pred = np.concatenate(preds) if preds else np.zeros((0, config.num_points, 2))
    return pred, targets(samples, config.scheme)


def run_batches(predict_batch, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """``predict_batch`` over made inputs, ``batch_size`` at a time."""
    return np.concatenate([np.asarray(predict_batch(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])


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

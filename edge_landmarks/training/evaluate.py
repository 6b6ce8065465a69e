"""Prediction over held-out faces: training-time validation, ``edge-lmk eval``, export checks and the bench."""

from __future__ import annotations

import numpy as np

from ..runtime.backends import Backend

__all__ = ["predict_crops", "run_batches", "torch_predictor", "evaluate", "TorchBackend"]


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


class TorchBackend(Backend):
    """The format table's backend for checkpoints: the model in eval mode on the CPU, float32, no gradients.
    ``backend(x)`` runs a whole batch in one call; ``invoke()`` runs the model on ``input_buffer``."""

    format = "pytorch"

    def __init__(self, path, threads: int):
        import torch

        from .checkpoint import load_checkpoint

        super().__init__(path, threads)
        model, _ = load_checkpoint(path)
        run = torch_predictor(model)

        def with_threads(x: np.ndarray) -> np.ndarray:  # torch's thread count is the process's: set per call
            before = torch.get_num_threads()
            if before != threads:
                torch.set_num_threads(threads)
            try:
                return run(x)
            finally:
                if before != threads:
                    torch.set_num_threads(before)

        self._runtime = with_threads
        self._device = str(next(model.parameters()).device)
        self.config = model.config
        self.metadata = {"format": "pytorch", "precision": "fp32"}
        cfg = model.config
        self.input_buffer = np.zeros((1, cfg.in_chans, cfg.input_size, cfg.input_size), np.float32)

    @classmethod
    def open(cls, path, threads: int = 1) -> TorchBackend:
        return cls(path, threads)  # the checkpoint is its own metadata (validated by load_checkpoint)

    def invoke(self) -> np.ndarray:
        return self._runtime(self.input_buffer)[0]

    @property
    def device(self) -> str:
        return self._device

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._runtime(np.ascontiguousarray(x, dtype=np.float32))


def evaluate(predict_batch, samples, config) -> tuple[dict, np.ndarray, np.ndarray]:
    from ..metrics import summarize

    pred, gt = predict_crops(predict_batch, samples, config)
    return summarize(pred, gt, config.scheme), pred, gt

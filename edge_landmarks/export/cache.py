"""The last FP32 conversion per format, kept for the process: an INT8 export converts the same weights to FP32
first, so ``export --format all`` then ``quantize --int8`` in one process (the quickstart, the suite) convert each
checkpoint once per format, not twice. Keyed by the model's config and every tensor of its state (weights and
BatchNorm statistics), so other weights are converted afresh."""

from __future__ import annotations

import hashlib
import json

__all__ = ["cached", "model_key"]

_LAST: dict[str, tuple[str, object]] = {}


def model_key(model) -> str:
    h = hashlib.sha256(type(model).__qualname__.encode())
    config = getattr(model, "config", None)
    if config is not None:
        h.update(json.dumps(config.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(tensor.shape)).encode() + str(tensor.dtype).encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def cached(kind: str, model, make):
    """``make()``, or what it returned for the same model last time (one entry per ``kind``)."""
    key = model_key(model)
    hit = _LAST.get(kind)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = make()
    _LAST[kind] = (key, value)
    return value

"""The frozen configuration that travels with every model: what it eats and what it returns."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

__all__ = ["ModelConfig", "centre_head", "LIMITS", "IMAGENET_MEAN", "IMAGENET_STD", "GRAY_MEAN", "GRAY_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_MEAN = (0.5,)
GRAY_STD = (0.5,)

LIMITS = {"input_size": (8, 1024), "num_points": (1, 1000), "in_chans": (1, 3), "mean": (-1e3, 1e3),
          "std": (1e-6, 1e3), "output_scale": (1e-6, 1e6), "crop_margin": (-0.5, 4.0)}
"""The ranges a config may take, wherever it comes from (a registry override, a recipe's ``model_args``, a sidecar,
a checkpoint): a model of 1024 px already needs gigabytes to train; a std of 0 or a crop margin of -1 divide by
zero; ``in_chans`` is grey or colour. A crop margin over -0.5 keeps the crop larger than half the face box."""


def _real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class ModelConfig:
    """Preprocessing and output contract of a landmark model.

    Input: (B, in_chans, input_size, input_size) float, pixel values scaled to [0, 1] then normalised with
    ``mean``/``std``. Output: (B, 2K) as x0, y0, x1, y1, ...; dividing by ``output_scale`` gives coordinates in
    [0, 1] of the crop (0 = left/top edge of the first pixel, 1 = right/bottom edge of the last).
    """

    name: str
    family: str
    scheme: str
    num_points: int
    input_size: int
    in_chans: int = 3
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    output_scale: float = 1.0
    crop_margin: float = 0.25
    sizes: tuple[int, ...] = ()
    """Input sizes the seed documents (the first is the default)."""
    source: str = ""
    seed_params: int | None = None
    """Parameter count the seed publishes, where it gives one."""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Each field's type and range (:data:`LIMITS`), and the scheme's point count: one ``ValueError`` naming the
        field. Every config is checked when it is made, so a bad one never reaches a model, a crop or a file."""
        from ..schemes import SCHEMES

        def bad(key, want):
            raise ValueError(f"{key} must be {want}, not {getattr(self, key)!r}"[:300])

        for key in ("name", "family", "scheme", "source"):
            v = getattr(self, key)
            if not isinstance(v, str) or len(v) > 300 or (key != "source" and not v):
                bad(key, "text")
        if self.scheme not in SCHEMES:
            bad("scheme", f"a known landmark scheme ({', '.join(sorted(SCHEMES))})")
        for key in ("num_points", "input_size", "in_chans"):
            lo, hi = LIMITS[key]
            if not _whole(getattr(self, key)) or not lo <= getattr(self, key) <= hi:
                bad(key, f"a whole number from {lo} to {hi}")
        if self.in_chans not in (1, 3):
            bad("in_chans", "1 (grey) or 3 (colour)")
        if SCHEMES[self.scheme].num_points != self.num_points:
            raise ValueError(f"{self.name}: scheme {self.scheme} has {SCHEMES[self.scheme].num_points} points, "
                             f"not {self.num_points}")
        for key in ("mean", "std"):
            lo, hi = LIMITS[key]
            v = getattr(self, key)
            if not (isinstance(v, (tuple, list)) and len(v) == self.in_chans
                    and all(_real(x) and lo <= x <= hi for x in v)):
                bad(key, f"{self.in_chans} finite numbers from {lo:g} to {hi:g}, one a channel (mean/std need "
                         f"{self.in_chans} values)")
        for key in ("output_scale", "crop_margin"):
            lo, hi = LIMITS[key]
            v = getattr(self, key)
            if not (_real(v) and v <= hi and (v > lo if key == "crop_margin" else v >= lo)):
                bad(key, f"a finite number from {lo:g} to {hi:g}")
        lo, hi = LIMITS["input_size"]
        if not (isinstance(self.sizes, (tuple, list)) and len(self.sizes) <= 16
                and all(_whole(x) and lo <= x <= hi for x in self.sizes)):
            bad("sizes", f"at most 16 whole numbers from {lo} to {hi}")
        if self.seed_params is not None and not (_whole(self.seed_params) and self.seed_params >= 0):
            bad("seed_params", "a whole number >= 0 or null")
        if not isinstance(self.extra, dict):
            bad("extra", "a mapping")

    def replace(self, **changes) -> ModelConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"], d["sizes"] = list(self.mean), list(self.std), list(self.sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """The config of a sidecar's or checkpoint's ``model_config``, checked (:meth:`check`): a ``ValueError``
        for anything but a mapping with the right types and ranges; keys this version does not know are ignored."""
        if not isinstance(d, dict):
            raise ValueError(f"model_config must be a mapping, not {type(d).__name__}")
        d = dict(d)
        for key in ("mean", "std", "sizes"):
            if key in d and isinstance(d[key], list):
                d[key] = tuple(d[key])
        known = {f for f in cls.__dataclass_fields__}
        missing = [f for f in ("name", "family", "scheme", "num_points", "input_size") if f not in d]
        if missing:
            raise ValueError(f"model_config has no {', '.join(missing)}")
        return cls(**{k: v for k, v in d.items() if k in known})


def centre_head(layer, weight: float | None = None) -> None:
    """Start a regression head at the crop centre (0.5 in the [0, 1] frame) instead of 0: training converges
    in far fewer epochs. ``weight`` also scales a BatchNorm head's output spread."""
    import torch

    with torch.no_grad():
        if getattr(layer, "bias", None) is not None:
            layer.bias.fill_(0.5)
        if weight is not None:
            layer.weight.fill_(weight)

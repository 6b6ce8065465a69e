"""Model registry: ``@register_model``, ``create_model(name, **overrides)``, ``list_models(pattern)``.

A registered builder takes the model's :class:`ModelConfig` (after overrides) and returns an ``nn.Module``; the
module gets the config as its ``.config`` attribute.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable

from ..schemes import get_scheme
from ._config import ModelConfig

__all__ = ["register_model", "create_model", "list_models", "get_model_config"]

_BUILDERS: dict[str, Callable] = {}
_CONFIGS: dict[str, ModelConfig] = {}


def register_model(config: ModelConfig) -> Callable:
    """Register ``builder(config) -> nn.Module`` under ``config.name``; a duplicate name raises."""

    def decorator(builder: Callable) -> Callable:
        if config.name in _BUILDERS:
            raise ValueError(f"model {config.name!r} is registered twice")
        _BUILDERS[config.name] = builder
        _CONFIGS[config.name] = config
        return builder

    return decorator


def _unknown(name: str) -> ValueError:
    close = difflib.get_close_matches(name, _BUILDERS, n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ValueError(f"unknown model {name!r}.{hint} Known models: {', '.join(list_models())}")


def list_models(pattern: str = "*") -> list[str]:
    return sorted(n for n in _BUILDERS if fnmatch.fnmatch(n, pattern))


def get_model_config(name: str, **overrides) -> ModelConfig:
    """The registered config of ``name`` with ``overrides`` applied and checked."""
    if name not in _CONFIGS:
        raise _unknown(name)
    cfg = _CONFIGS[name]
    if "scheme" in overrides and "num_points" not in overrides:
        overrides["num_points"] = get_scheme(overrides["scheme"]).num_points
    bad = set(overrides) - set(ModelConfig.__dataclass_fields__)
    if bad:
        raise ValueError(f"unknown setting(s) for {name}: {', '.join(sorted(bad))}")
    for key, value in overrides.items():
        base = getattr(cfg, key)
        want = (int if isinstance(base, int) and not isinstance(base, bool) else float if isinstance(base, float)
                else str if isinstance(base, str) else (list, tuple) if isinstance(base, tuple) else None)
        ok = want is None or (isinstance(value, want) and not isinstance(value, bool))
        if want is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            kind = {int: "a whole number", float: "a number", str: "text"}.get(want, "a list")
            raise ValueError(f"{name}: {key} must be {kind}, got {value!r}")
    cfg = cfg.replace(**overrides)
    scheme_points = get_scheme(cfg.scheme).num_points
    if scheme_points != cfg.num_points:
        raise ValueError(f"{name}: scheme {cfg.scheme} has {scheme_points} points, not {cfg.num_points}")
    if cfg.input_size < 32 or cfg.input_size % 8:
        raise ValueError(f"{name}: input_size must be a multiple of 8 and at least 32, got {cfg.input_size}")
    if len(cfg.mean) != cfg.in_chans or len(cfg.std) != cfg.in_chans:
        raise ValueError(f"{name}: mean/std need {cfg.in_chans} values")
    return cfg


def create_model(name: str, **overrides):
    """Build a registered model; ``overrides`` change its :class:`ModelConfig` (e.g. ``input_size=56``)."""
    cfg = get_model_config(name, **overrides)
    model = _BUILDERS[name](cfg)
    model.config = cfg
    return model

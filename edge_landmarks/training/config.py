"""Recipes: a :class:`TrainConfig` read from YAML, every key checked before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EdgeLandmarksError

__all__ = ["TrainConfig", "load_recipe", "find_recipe", "recipe_names", "resume_config", "read_yaml", "parse_model_arg",
           "LOSSES", "OPTIMIZERS", "SCHEDULERS", "AMP_MODES", "PRETRAINED", "RUN_OPTIONS"]

LOSSES = ("mse", "l1", "log_l2", "rmse", "wing")
OPTIMIZERS = ("adam", "adamw", "nadam", "sgd")
SCHEDULERS = ("none", "step", "cosine", "plateau")
VAL_METRICS = ("nme", "rmse_px")
AMP_MODES = ("auto", "off", "bf16", "fp16")
PRETRAINED = ("none", "imagenet")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
MAX_RECIPE_BYTES = 1 << 20
"""The largest recipe read: the shipped ones are under 2 kB."""
MAX_ALIASES = 50
"""YAML aliases (``*name``) a recipe may use: none of the shipped ones uses any; a billion laughs uses millions of
expansions of a few, and ``dataclasses.asdict`` expanded them when the run state was saved, until memory ran out."""


@dataclass
class TrainConfig:
    """A recipe: the model, its settings, and how to train it."""

    name: str
    model: str
    model_args: dict = field(default_factory=dict)
    """Overrides of the model's config, e.g. {input_size: 56} or {scheme: eyes12}."""
    data: str = "demo68"
    train_split: str = "train"
    val_split: str | float = "auto"
    """auto: the data's ``val`` split, else a seeded 10 % of the training split held out (stratified by subset);
    a split name; or the fraction to hold out (see :mod:`edge_landmarks.data.holdout`)."""
    loss: str = "mse"
    wing_w: float = 10.0
    wing_eps: float = 2.0
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    batch_size: int = 32
    """The global batch: under DDP each of the N processes takes 1/N of every batch."""
    epochs: int = 30
    scheduler: str = "cosine"
    step_size: int = 30
    gamma: float = 0.1
    milestones: list = field(default_factory=list)
    """For ``scheduler: step``: the epochs at which the learning rate is multiplied by ``gamma`` (MultiStepLR); when
    empty, every ``step_size`` epochs."""
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    early_stopping: int = 0
    """Stop after this many epochs without a better validation score (0: never)."""
    val_metric: str = "nme"
    """The validation score that picks best.pt and drives early stopping and the plateau schedule: ``nme`` (the
    scheme's normalisation) or ``rmse_px`` (the Kaggle project's: most Kaggle rows lack the eye corners that
    inter-ocular NME needs)."""
    augment: dict = field(default_factory=dict)
    """Overrides of :class:`Augment`; ``augment: false`` in YAML turns augmentation off."""
    seed: int = 0
    threads: int = 0
    """torch intra-op threads (0: torch's default)."""
    device: str = "auto"
    """auto (CUDA if present, else MPS, else CPU), cpu, cuda, cuda:N or mps."""
    amp: str = "auto"
    """Mixed precision: auto (bf16 on CUDA devices that support it, else off), off, bf16 or fp16."""
    workers: int | str = "auto"
    """DataLoader worker processes (auto: see :func:`edge_landmarks.training.device.resolve_workers`)."""
    pretrained: str = "none"
    """none, or imagenet: torchvision's ImageNet weights for the trunk (ResNet, MobileNetV2/V3 families)."""
    init: str = ""
    """Start from this edge-landmarks checkpoint: every tensor whose shape fits is loaded."""
    sync_bn: bool = False
    """Under DDP, BatchNorm statistics over the global batch (SyncBatchNorm)."""
    seed_reference: dict = field(default_factory=dict)
    """What the source project reports for this model (for the README table), not used in training."""
    max_batches: int = 0
    """Stop each epoch after this many batches (0: every batch); ``--max-batches`` for a quick check of a recipe."""
    ema: float = 0.0
    """Validate and keep an exponential moving average of the weights, ``ema`` its decay per optimiser step (0.999:
    about the last thousand steps; 0: off). The optimiser steps the raw weights; best.pt and last.pt hold the
    average as the model (``state_dict``), last.pt the raw weights too, so ``--resume`` continues both."""

    def augmentation(self):
        """The recipe's :class:`~edge_landmarks.data.transforms.Augment`, or None when ``augment: false``."""
        from ..data.transforms import Augment

        return None if self.augment.get("off") else Augment(**self.augment)

    def _check_types(self) -> None:
        """Each key's type and range, before anything is written: one error naming the recipe and the key."""
        def bad(key, want):
            raise EdgeLandmarksError(f"recipe {self.name}: {key} must be {want}, not {getattr(self, key)!r}")

        for key in ("lr", "weight_decay", "momentum", "gamma", "plateau_factor", "wing_w", "wing_eps"):
            v = getattr(self, key)
            if not _number(v) or v < 0:
                bad(key, "a number >= 0 (write 0.001, not 1e-3: YAML reads 1e-3 as text)")
        for key in ("batch_size", "epochs", "step_size", "plateau_patience", "early_stopping", "seed", "threads",
                    "max_batches"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                bad(key, "a whole number >= 0")
        for key in ("model", "data", "train_split", "init", "val_metric"):
            if not isinstance(getattr(self, key), str):
                bad(key, "text")
        for key in ("model_args", "augment", "seed_reference"):
            if not isinstance(getattr(self, key), dict):
                bad(key, "a mapping")
        if not _number(self.ema) or not 0 <= self.ema < 1:
            bad("ema", "a number from 0 (off) to below 1, e.g. 0.999")
        if not isinstance(self.sync_bn, bool):
            bad("sync_bn", "true or false")
        from ..data.holdout import parse_val_split

        try:
            self.val_split = parse_val_split(self.val_split)
        except EdgeLandmarksError as exc:
            raise EdgeLandmarksError(f"recipe {self.name}: {exc}") from None

    def _check_augment(self, augment_cls) -> None:
        """Each augment value of the right kind, so a bad one stops here, not in the first batch of an epoch."""
        for key, v in self.augment.items():
            if key == "off":
                continue
            default = augment_cls.__dataclass_fields__[key].default
            where = f"recipe {self.name}: augment {key}"
            if isinstance(default, tuple):
                if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(_number(x) for x in v) and v[0] <= v[1]):
                    raise EdgeLandmarksError(f"{where} must be two numbers [low, high] with low <= high, not {v!r} "
                                             f"(default {list(default)})")
            elif key.endswith("_p"):
                if not (_number(v) and 0 <= v <= 1):
                    raise EdgeLandmarksError(f"{where} is a probability from 0 to 1, not {v!r}")
            elif not (_number(v) and v >= 0):
                raise EdgeLandmarksError(f"{where} must be a number >= 0, not {v!r} (default {default})")

    def __post_init__(self) -> None:
        self._check_types()
        checks = (("loss", self.loss, LOSSES), ("optimizer", self.optimizer, OPTIMIZERS),
                  ("scheduler", self.scheduler, SCHEDULERS), ("amp", self.amp, AMP_MODES),
                  ("pretrained", self.pretrained, PRETRAINED), ("val_metric", self.val_metric, VAL_METRICS))
        for key, value, allowed in checks:
            if value not in allowed:
                raise EdgeLandmarksError(f"recipe {self.name}: {key} {value!r} is not one of {', '.join(allowed)}")
        if self.batch_size < 1 or self.epochs < 1 or not self.lr > 0:
            raise EdgeLandmarksError(f"recipe {self.name}: batch_size, epochs and lr must be positive")
        if not (isinstance(self.milestones, list) and all(isinstance(m, int) and m > 0 for m in self.milestones)):
            raise EdgeLandmarksError(f"recipe {self.name}: milestones must be a list of positive epoch numbers")
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise EdgeLandmarksError(f"recipe {self.name}: device {self.device!r} is not auto, cpu, cuda, cuda:N "
                                     "or mps")
        from ..data.transforms import Augment

        unknown = set(self.augment) - set(Augment.__dataclass_fields__) - {"off"}
        if unknown:
            raise EdgeLandmarksError(f"recipe {self.name}: unknown augment key(s) {', '.join(sorted(unknown))}; "
                                     f"known: {', '.join(Augment.__dataclass_fields__)}")
        self._check_augment(Augment)
        if self.workers != "auto" and not (isinstance(self.workers, int) and self.workers >= 0):
            raise EdgeLandmarksError(f"recipe {self.name}: workers {self.workers!r} is not 'auto' or a count >= 0")


def _number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and v == v


def recipe_names() -> list[str]:
    """The recipes that ship in the package (``edge_landmarks/recipes/*.yaml``)."""
    from importlib.resources import files

    return sorted(p.name[:-5] for p in files("edge_landmarks").joinpath("recipes").iterdir()
                  if p.name.endswith(".yaml"))


def find_recipe(recipe: str) -> Path:
    """A YAML path, or the name of a recipe shipped in the package (read with importlib.resources, so a wheel
    install has them too)."""
    from importlib.resources import as_file, files

    p = Path(recipe)
    if p.is_file():
        return p
    if p.suffix in (".yaml", ".yml") or "/" in str(recipe):
        raise EdgeLandmarksError(f"{recipe}: recipe file not found")
    res = files("edge_landmarks").joinpath("recipes", f"{recipe}.yaml")
    if res.is_file():
        with as_file(res) as path:  # a real file for a normal install; zip imports get a temporary copy
            return Path(path)
    raise EdgeLandmarksError(f"no recipe {recipe!r} (not a file; shipped recipes: {', '.join(recipe_names())})")


def read_yaml(text: str, where: str):
    """YAML text of a recipe or an option, bounded before use (:data:`MAX_RECIPE_BYTES`, :data:`MAX_ALIASES`,
    then :func:`~edge_landmarks.files.check_nesting`: 20 levels, 100,000 values with every alias counted where it
    is used), and read with the safe loader (``!!python/...`` tags are refused). One
    :class:`EdgeLandmarksError` naming ``where`` (and the line) for anything else."""
    import yaml

    from ..files import check_nesting

    if len(text) > MAX_RECIPE_BYTES:
        raise EdgeLandmarksError(f"{where}: {len(text):,} characters, more than a recipe may have "
                                 f"({MAX_RECIPE_BYTES:,})")
    try:
        aliases = depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):  # events only: nothing is built or expanded yet
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise EdgeLandmarksError(f"{where}: more than {MAX_ALIASES} YAML aliases (*name); write the "
                                             "values out")
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > 20:
                    raise EdgeLandmarksError(f"{where}: nested more than 20 levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())[:160]
        raise EdgeLandmarksError(f"{where}{line}: not valid YAML ({problem})") from None
    check_nesting(value, where)
    return value


def parse_model_arg(item: str) -> tuple[str, object]:
    """``KEY=VALUE`` of ``train --model-arg``: VALUE read as YAML (``input_size=224``, ``scheme=ibug68``,
    ``mean=[0.5]``) through :func:`read_yaml`'s bounds. One :class:`EdgeLandmarksError` naming the option."""
    if not isinstance(item, str) or "=" not in item or not item.partition("=")[0]:
        raise EdgeLandmarksError(f"--model-arg {str(item)[:80]!r} is not KEY=VALUE")
    key, _, value = item.partition("=")
    return key, read_yaml(value, f"--model-arg {key}")


def load_recipe(recipe: str, **overrides) -> TrainConfig:
    path = find_recipe(recipe)
    if path.stat().st_size > MAX_RECIPE_BYTES:
        raise EdgeLandmarksError(f"{path}: {path.stat().st_size:,} bytes, more than a recipe may have "
                                 f"({MAX_RECIPE_BYTES:,})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EdgeLandmarksError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    raw = read_yaml(text, str(path)) or {}
    if not isinstance(raw, dict):
        raise EdgeLandmarksError(f"{path}: a recipe is a YAML mapping")
    raw.setdefault("name", path.stem)
    if raw.get("augment") is False:
        raw["augment"] = {"off": True}
    unknown = set(raw) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise EdgeLandmarksError(f"{path}: unknown recipe key(s): {', '.join(sorted(map(str, unknown)))[:300]}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    if "model" not in raw:
        raise EdgeLandmarksError(f"{path}: a recipe needs 'model'")
    return TrainConfig(**raw)


RUN_OPTIONS = ("epochs", "threads", "device", "amp", "workers")
"""Settings a resumed run may take anew: where and how fast it runs, and how many epochs it runs to. Every other key
given again must match the run's (the model, its data, the schedule, the validation faces: what the results are)."""


def resume_point(out: str | Path) -> Path:
    """The run folder's ``last.pt``, or one error saying there is nothing to resume."""
    last = Path(out) / "last.pt"
    if not last.is_file():
        raise EdgeLandmarksError(f"{last}: nothing to resume")
    return last


def resume_config(where: str | Path, recipe: str, given: dict) -> TrainConfig:
    """The configuration of the run in ``where`` (its ``last.pt``'s ``train_config``), with the options ``given``
    on the command line: those of :data:`RUN_OPTIONS` replace the run's, any other that differs from the run's is
    one error. ``recipe`` must name the run's recipe (its name, or a file of that name)."""
    from .checkpoint import read_checkpoint

    saved = read_checkpoint(resume_point(where)).get("train_config")
    if not isinstance(saved, dict) or "name" not in saved or "model" not in saved:
        raise EdgeLandmarksError(f"{where}: the checkpoint holds no training configuration to resume from")
    if recipe not in (saved["name"], f"{saved['name']}.yaml", f"{saved['name']}.yml") and \
            Path(recipe).stem != saved["name"]:
        raise EdgeLandmarksError(f"{where} holds a run of recipe {saved['name']!r}, not {recipe!r}: pass "
                                 f"'edge-lmk train {saved['name']} --resume --out {where}'")
    known = {k: v for k, v in saved.items() if k in TrainConfig.__dataclass_fields__}
    for key, value in given.items():
        if value is None or key in RUN_OPTIONS:
            continue
        before = known.get(key)
        if key == "val_split":
            from ..data.holdout import parse_val_split

            value = parse_val_split(value)
        if key == "data":
            same = Path(str(value)).expanduser().resolve() == Path(str(before)).expanduser().resolve() \
                if Path(str(value)).expanduser().exists() else str(value) == str(before)
        elif key == "model_args":
            same = all(known.get("model_args", {}).get(k) == v for k, v in value.items())
        else:
            same = value == before
        if not same:
            shown = value if key != "model_args" else ", ".join(f"{k}={v}" for k, v in value.items())
            flag = "model-arg" if key == "model_args" else key.replace("_", "-")
            raise EdgeLandmarksError(f"--{flag} {shown} contradicts the run in {where} ({key}: "
                                     f"{before!r}); drop the option to resume the run as it was, or start a new run "
                                     "with another --out")
    known.update({k: v for k, v in given.items() if k in RUN_OPTIONS and v is not None})
    return TrainConfig(**known)

"""Training: recipes, losses, optimisers and schedules, checkpoints, the device / AMP / DDP set-up and the loop.

``load_recipe(name)`` reads a recipe, ``train(cfg)`` runs it (CPU, CUDA, MPS, or torchrun's DDP), and
``load_checkpoint(path)`` gives the model back on the CPU wherever it was trained.
"""

from .checkpoint import file_sha256, init_from, load_checkpoint, read_checkpoint, save_checkpoint
from .config import (
                     AMP_MODES,
                     LOSSES,
                     OPTIMIZERS,
                     PRETRAINED,
                     SCHEDULERS,
                     TrainConfig,
                     find_recipe,
                     load_recipe,
                     recipe_names,
                     resume_config,
)
from .evaluate import evaluate, predict_crops, torch_predictor
from .loop import train, train_one_epoch
from .losses import landmark_loss
from .optim import build_optimizer, build_scheduler

__all__ = ["TrainConfig", "load_recipe", "find_recipe", "recipe_names", "train", "train_one_epoch", "load_checkpoint",
           "read_checkpoint", "save_checkpoint", "init_from", "file_sha256", "predict_crops", "evaluate",
           "torch_predictor", "landmark_loss", "build_optimizer", "build_scheduler", "LOSSES", "OPTIMIZERS",
           "SCHEDULERS", "AMP_MODES", "PRETRAINED", "resume_config"]

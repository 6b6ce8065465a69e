"""Kaggle facial-keypoints CNNs: 15 points on 96x96 grey faces, ScaledSigmoid output in [0, 96] pixels.

Source: the Kaggle facial-keypoints project (seed 004), which publishes a layer table per model. Its setup: pixels
divided by 255 (inputs in [0, 1], no mean or std), no augmentation, RMSE loss, NAdam at 1e-3, 50 epochs with early
stopping, ReduceLROnPlateau for the ResNet-50. The tables, as built here:

    kaggle_cnn1  conv7x7 1->64 (unpadded), ReLU, pool | conv3x3 128, 128, ReLU, pool | 256, 256, ReLU, pool |
                 512, 512, ReLU, pool (96 -> 90 -> 45 -> 22 -> 11 -> 5) | flatten 512x5x5, fc 512, ReLU, dropout 0.5,
                 fc 256, ReLU, dropout 0.5, fc 128, ReLU, dropout 0.5, fc 30, ScaledSigmoid: 11,372,062 parameters
    kaggle_cnn2  twelve conv3x3 (32, 32, 64, 64, 96, 96, 128, 128, 256, 256, 512, 512), each with bias, BatchNorm and
                 LeakyReLU(0.1), a max-pool after each of the first five pairs (96 -> 3) | flatten 512x3x3 and the
                 same head as kaggle_cnn1: 7,419,198 parameters
    kaggle_resnet50  conv1x1 1->3, LeakyReLU(0.1), torchvision ResNet-50 trunk and average pool (2048), dropout 0.1,
                 fc 512, ReLU, dropout 0.5, fc 30, ScaledSigmoid

Choices where the tables leave one open, and why:
- The table marks the first conv of kaggle_cnn1 "same", but its own flatten size, 512x5x5, comes out of 96 px only
  with that conv unpadded (a "same" conv gives 512x6x6 and 14,255,646 parameters); the published 11,372,062 fits the
  unpadded conv, so that is what is built.
- kaggle_cnn2's table has no bias column; the conv biases are kept (Keras' and torch's default), which gives the
  published 7,419,198 exactly.
- Max-pools are 2x2, stride 2, floor, as in the tables ("valid").
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import ModelConfig
from ._registry import register_model

__all__ = ["ScaledSigmoid", "KaggleCNN1", "KaggleCNN2", "KaggleResNet50"]

# The seed feeds pixels / 255: inputs in [0, 1], no centring.
KAGGLE_MEAN = (0.0,)
KAGGLE_STD = (1.0,)


class ScaledSigmoid(nn.Module):
    """``scale * sigmoid(x)``: outputs in (0, scale), the pixel range of the 96 px crop."""

    def __init__(self, scale: float = 96.0):
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.sigmoid(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


def _head(features: int, num_outputs: int, scale: float) -> nn.Sequential:
    """The tables' shared head: fc 512, 256, 128 with ReLU and dropout 0.5, then fc to 2K and ScaledSigmoid."""
    layers: list[nn.Module] = [nn.Flatten()]
    for cin, cout in ((features, 512), (512, 256), (256, 128)):
        layers += [nn.Linear(cin, cout), nn.ReLU(), nn.Dropout(0.5)]
    return nn.Sequential(*layers, nn.Linear(128, num_outputs), ScaledSigmoid(scale))


class KaggleCNN1(nn.Module):
    def __init__(self, num_outputs: int = 30, in_chans: int = 1, input_size: int = 96, scale: float = 96.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_chans, 64, 7), nn.ReLU(), nn.MaxPool2d(2)]
        cin = 64
        for c in (128, 256, 512):
            layers += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            cin = c
        self.features = nn.Sequential(*layers)
        side = (input_size - 6) // 2 // 2 // 2 // 2
        self.head = _head(512 * side * side, num_outputs, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class KaggleCNN2(nn.Module):
    def __init__(self, num_outputs: int = 30, in_chans: int = 1, input_size: int = 96, scale: float = 96.0):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_chans
        widths = (32, 64, 96, 128, 256, 512)
        for i, c in enumerate(widths):
            for _ in range(2):
                layers += [nn.Conv2d(cin, c, 3, padding=1), nn.BatchNorm2d(c), nn.LeakyReLU(0.1)]
                cin = c
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        side = input_size // 32
        self.head = _head(512 * side * side, num_outputs, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class KaggleResNet50(nn.Module):
    def __init__(self, num_outputs: int = 30, in_chans: int = 1, scale: float = 96.0):
        super().__init__()
        from .resnet import _resnet_trunk

        self.stem = nn.Sequential(nn.Conv2d(in_chans, 3, 1), nn.LeakyReLU(0.1))
        self.trunk = _resnet_trunk(50, 3)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(2048, 512), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(512, num_outputs), ScaledSigmoid(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(self.stem(x)))


_KAGGLE = dict(family="kaggle", scheme="kaggle15", num_points=15, input_size=96, sizes=(96,), in_chans=1,
               mean=KAGGLE_MEAN, std=KAGGLE_STD, output_scale=96.0, source="Kaggle facial-keypoints project")


@register_model(ModelConfig(name="kaggle_cnn1", seed_params=11_372_062, **_KAGGLE))
def _kaggle_cnn1(cfg: ModelConfig) -> nn.Module:
    return KaggleCNN1(2 * cfg.num_points, cfg.in_chans, cfg.input_size, cfg.output_scale)


@register_model(ModelConfig(name="kaggle_cnn2", seed_params=7_419_198, **_KAGGLE))
def _kaggle_cnn2(cfg: ModelConfig) -> nn.Module:
    return KaggleCNN2(2 * cfg.num_points, cfg.in_chans, cfg.input_size, cfg.output_scale)


@register_model(ModelConfig(name="kaggle_resnet50", **_KAGGLE))
def _kaggle_resnet50(cfg: ModelConfig) -> nn.Module:
    return KaggleResNet50(2 * cfg.num_points, cfg.in_chans, cfg.output_scale)

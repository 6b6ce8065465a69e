"""Kaggle facial-keypoints CNNs: 15 points on 96x96 grey faces, ScaledSigmoid output in [0, 96] pixels.

Source: the Kaggle facial-keypoints project (RMSE loss, NAdam, early stopping, ReduceLROnPlateau). The seed's
exact layer tables are not published with it; ``kaggle_cnn1`` is the competition's classic three-conv net and
``kaggle_cnn2`` its deeper batch-normalised variant, written down here as tables:

    kaggle_cnn1: conv3x3 32, ReLU, pool | conv2x2 64, ReLU, pool | conv2x2 128, ReLU, pool     (96 -> 11)
                 flatten 128*11*11, fc 500, ReLU, dropout 0.5, fc 500, ReLU, dropout 0.5, fc 30, ScaledSigmoid
    kaggle_cnn2: 4 x [conv3x3 c, BN, ReLU, conv3x3 c, BN, ReLU, pool] with c = 32, 64, 128, 256  (96 -> 6)
                 flatten 256*6*6, dropout 0.3, fc 512, ReLU, dropout 0.3, fc 30, ScaledSigmoid
    kaggle_resnet50: conv1x1 1->3, torchvision resnet50 trunk, average pool, dropout 0.3, fc 2048->512, ReLU,
                 fc 512->30, ScaledSigmoid
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import GRAY_MEAN, GRAY_STD, ModelConfig
from ._registry import register_model

__all__ = ["ScaledSigmoid", "KaggleCNN1", "KaggleCNN2", "KaggleResNet50"]


class ScaledSigmoid(nn.Module):
    """``scale * sigmoid(x)``: outputs in (0, scale), the pixel range of the 96 px crop."""

    def __init__(self, scale: float = 96.0):
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.sigmoid(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


def _conv_relu_pool(cin: int, cout: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k), nn.ReLU(), nn.MaxPool2d(2)]


class KaggleCNN1(nn.Module):
    def __init__(self, num_outputs: int = 30, in_chans: int = 1, input_size: int = 96, scale: float = 96.0):
        super().__init__()
        self.features = nn.Sequential(
            *_conv_relu_pool(in_chans, 32, 3), *_conv_relu_pool(32, 64, 2), *_conv_relu_pool(64, 128, 2)
        )
        side = ((((input_size - 2) // 2) - 1) // 2 - 1) // 2
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(128 * side * side, 500), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(500, 500), nn.ReLU(), nn.Dropout(0.5), nn.Linear(500, num_outputs), ScaledSigmoid(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class KaggleCNN2(nn.Module):
    def __init__(self, num_outputs: int = 30, in_chans: int = 1, input_size: int = 96, scale: float = 96.0):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_chans
        for c in (32, 64, 128, 256):
            layers += [
                nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2),
            ]
            cin = c
        self.features = nn.Sequential(*layers)
        side = input_size // 16
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(256 * side * side, 512), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(512, num_outputs), ScaledSigmoid(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class KaggleResNet50(nn.Module):
    def __init__(self, num_outputs: int = 30, in_chans: int = 1, scale: float = 96.0):
        super().__init__()
        from .resnet import _resnet_trunk

        self.stem = nn.Conv2d(in_chans, 3, 1)
        self.trunk = _resnet_trunk(50, 3)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(2048, 512), nn.ReLU(),
            nn.Linear(512, num_outputs), ScaledSigmoid(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(self.stem(x)))


_KAGGLE = dict(family="kaggle", scheme="kaggle15", num_points=15, input_size=96, sizes=(96,), in_chans=1,
               mean=GRAY_MEAN, std=GRAY_STD, output_scale=96.0, source="Kaggle facial-keypoints project")


@register_model(ModelConfig(name="kaggle_cnn1", **_KAGGLE))
def _kaggle_cnn1(cfg: ModelConfig) -> nn.Module:
    return KaggleCNN1(2 * cfg.num_points, cfg.in_chans, cfg.input_size, cfg.output_scale)


@register_model(ModelConfig(name="kaggle_cnn2", **_KAGGLE))
def _kaggle_cnn2(cfg: ModelConfig) -> nn.Module:
    return KaggleCNN2(2 * cfg.num_points, cfg.in_chans, cfg.input_size, cfg.output_scale)


@register_model(ModelConfig(name="kaggle_resnet50", **_KAGGLE))
def _kaggle_resnet50(cfg: ModelConfig) -> nn.Module:
    return KaggleResNet50(2 * cfg.num_points, cfg.in_chans, cfg.output_scale)

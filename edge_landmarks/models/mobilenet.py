"""MobileNet landmark regressors: the 300W table's MobileNetV2 / MobileNetV2_SE and the WFLW MobileNetV3.

Sources:
- ``mobilenetv2`` / ``mobilenetv2_se``: the 300W benchmark table (cunjian), at 224 and 56 px. torchvision
  MobileNetV2 features, then a global depthwise conv (GDConv, kernel = final map size: 7 at 224, 2 at 56) + BN and a
  1x1 conv + BN to 2K outputs; the SE variant puts a squeeze-excitation (1280, reduction 8, no bias) before GDConv.
  The seed's published 3.74 M / 4.15 M count the unused ImageNet classifier (1,281,000) its wrapper kept
  registered; ours drops it: 2,463,504 / 2,873,104 at 224.
- ``mobilenetv3_large``: the WFLW project; torchvision MobileNetV3-Large features, no average pooling, fc over the
  flattened 960x8x8 map at 256 px.
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import ModelConfig, centre_head
from ._registry import register_model

__all__ = ["MobileNetGDConv", "MobileNetV3Flat"]


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * w


class MobileNetGDConv(nn.Module):
    def __init__(self, num_outputs: int, input_size: int = 224, se: bool = False):
        super().__init__()
        from torchvision.models import mobilenet_v2

        self.features = mobilenet_v2(weights=None).features
        self.attention = SqueezeExcite(1280, 8) if se else nn.Identity()
        k = -(-input_size // 32)
        self.gdconv = nn.Sequential(nn.Conv2d(1280, 1280, k, groups=1280, bias=False), nn.BatchNorm2d(1280))
        self.head = nn.Sequential(nn.Conv2d(1280, num_outputs, 1, bias=False), nn.BatchNorm2d(num_outputs))
        centre_head(self.head[1], weight=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.head(self.gdconv(self.attention(self.features(x)))), 1)


class MobileNetV3Flat(nn.Module):
    def __init__(self, num_outputs: int, input_size: int = 256):
        super().__init__()
        from torchvision.models import mobilenet_v3_large

        self.features = mobilenet_v3_large(weights=None).features
        side = -(-input_size // 32)
        self.fc = nn.Linear(960 * side * side, num_outputs)
        centre_head(self.fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.features(x), 1))


_TABLE = dict(family="mobilenet", scheme="ibug68", num_points=68, input_size=224, sizes=(224, 56))


@register_model(ModelConfig(
    name="mobilenetv2", source="300W benchmark table (cunjian), MobileNetV2 + GDConv", seed_params=3_740_000,
    extra={"schemes": ["ibug68", "menpo39"],
           "seed_params_note": "seed counts an unused ImageNet classifier (1,281,000 params)",
           "seed_unused_params": 1_281_000, "seed_params_56": 3_740_000,
           "seed_params_56_note": "the table repeats the 224 px count (3.74 M) for 56 px, but the seed's own 56 px "
                                  "code (MobileNet_GDConv_56) has a 2x2 GDConv, 1280 x 45 = 57,600 fewer weights: "
                                  "3,686,904 with the unused head, as ours"},
    **_TABLE,
))
def _mobilenetv2(cfg: ModelConfig) -> nn.Module:
    return MobileNetGDConv(2 * cfg.num_points, cfg.input_size)


@register_model(ModelConfig(
    name="mobilenetv2_se", source="300W benchmark table (cunjian), MobileNetV2_SE + GDConv", seed_params=4_150_000,
    extra={"schemes": ["ibug68", "menpo39"],
           "seed_params_note": "seed counts an unused ImageNet classifier (1,281,000 params)",
           "seed_unused_params": 1_281_000, "seed_params_56": 4_100_000,
           "seed_params_56_note": "from the table's MobileNetV2_SE_ExternalData (56x56) row, the same network"},
    **_TABLE,
))
def _mobilenetv2_se(cfg: ModelConfig) -> nn.Module:
    return MobileNetGDConv(2 * cfg.num_points, cfg.input_size, se=True)


@register_model(ModelConfig(
    name="mobilenetv3_large", family="mobilenet", scheme="wflw98", num_points=98, input_size=256, sizes=(256,),
    source="WFLW project (MobileNetV3-Large, no average pooling)",
))
def _mobilenetv3_large(cfg: ModelConfig) -> nn.Module:
    return MobileNetV3Flat(2 * cfg.num_points, cfg.input_size)

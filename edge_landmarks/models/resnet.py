"""ResNet landmark regressors: the 300W grey ResNet-18, the WFLW ResNet-18-256 and the 300W table's ResNet18.

Sources:
- ``resnet18_gray`` / ``resnet18_gray_eyes``: the iBUG 300-W project; torchvision resnet18 with a 1-channel conv1
  and fc 512 -> 2K (68 face points, or the 12 eye points).
- ``resnet18_256``: the WFLW project; no average pooling, the fc reads the flattened 512x8x8 map at 256 px.
- ``resnet18``: the 300W benchmark table (cunjian), at 224 and 56 px. The seed's published 11.76 M counts the
  unused 1000-class ImageNet fc (513,000) that its wrapper kept registered; ours drops it: 11,246,280.
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import GRAY_MEAN, GRAY_STD, ModelConfig, centre_head
from ._registry import register_model

__all__ = ["ResNetRegressor"]


def _resnet_trunk(depth: int, in_chans: int) -> nn.Sequential:
    from torchvision.models import resnet18, resnet50

    net = {18: resnet18, 50: resnet50}[depth](weights=None)
    if in_chans != 3:
        net.conv1 = nn.Conv2d(in_chans, 64, 7, stride=2, padding=3, bias=False)
    return nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)


class ResNetRegressor(nn.Module):
    """ResNet trunk, then either global average pooling or the flattened final map, then fc -> 2K."""

    def __init__(self, num_outputs: int, in_chans: int = 3, input_size: int = 224, pool: bool = True):
        super().__init__()
        self.trunk = _resnet_trunk(18, in_chans)
        self.pool = nn.AdaptiveAvgPool2d(1) if pool else nn.Identity()
        side = 1 if pool else -(-input_size // 32)
        self.fc = nn.Linear(512 * side * side, num_outputs)
        centre_head(self.fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.trunk(x)), 1))


_GRAY = dict(family="resnet", in_chans=1, mean=GRAY_MEAN, std=GRAY_STD, input_size=224, sizes=(224,),
             source="iBUG 300-W grey ResNet-18 project")


@register_model(ModelConfig(name="resnet18_gray", scheme="ibug68", num_points=68, **_GRAY))
def _resnet18_gray(cfg: ModelConfig) -> nn.Module:
    return ResNetRegressor(2 * cfg.num_points, cfg.in_chans, cfg.input_size)


@register_model(ModelConfig(name="resnet18_gray_eyes", scheme="eyes12", num_points=12, **_GRAY))
def _resnet18_gray_eyes(cfg: ModelConfig) -> nn.Module:
    return ResNetRegressor(2 * cfg.num_points, cfg.in_chans, cfg.input_size)


@register_model(ModelConfig(
    name="resnet18_256", family="resnet", scheme="wflw98", num_points=98, input_size=256, sizes=(256,),
    source="WFLW project (ResNet-18, no average pooling, log(1+L2) loss)",
))
def _resnet18_256(cfg: ModelConfig) -> nn.Module:
    return ResNetRegressor(2 * cfg.num_points, cfg.in_chans, cfg.input_size, pool=False)


@register_model(ModelConfig(
    name="resnet18", family="resnet", scheme="ibug68", num_points=68, input_size=224, sizes=(224, 56),
    source="300W benchmark table (cunjian), ResNet18", seed_params=11_760_000,
    extra={"schemes": ["ibug68", "menpo39"],
           "seed_params_note": "seed counts an unused ImageNet fc (513,000 params)",
           "seed_unused_params": 513_000},
))
def _resnet18(cfg: ModelConfig) -> nn.Module:
    return ResNetRegressor(2 * cfg.num_points, cfg.in_chans, cfg.input_size)

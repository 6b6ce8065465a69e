"""Xception for 68 landmarks, as in the FFHQ project (FFHQ faces labelled by dlib).

Source: the FFHQ facial-landmark project's torch summary (seed 000): 8,580,776 parameters, a 3x512x512 input (its
"Input size (MB): 3.00" is 3x512x512 float32) and a first conv that gives 32x256x256, so stride 2. Separable
convolutions are pointwise then depthwise, without bias (the summary's 8,192 then 1,152 for 64->128). Layout:

    stem     conv3x3/2 3->32, BN, ReLU; conv3x3 32->64, BN, ReLU          (512 -> 256, as in the summary)
    entry    3 residual blocks 64->128->256->512: [sep, BN, ReLU, sep, BN, maxpool/2] + conv1x1/2 shortcut
    middle   4 residual blocks at 512: 3 x [ReLU, sep, BN] + identity
    exit     residual block 512->1024: [ReLU, sep 512, BN, ReLU, sep 1024, BN, maxpool/2] + conv1x1/2 shortcut
             sep 1024, BN, ReLU, sep 1024, BN, ReLU, global average pool
    head     Linear 1024->1024, ReLU, Linear 1024->2K

The summary gives output shapes but not the max-pool's kernel: 3x3, stride 2, padding 1 (Xception's own) halves
each map as the summary shows.
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import ModelConfig, centre_head
from ._registry import register_model

__all__ = ["Xception"]


class SeparableConv2d(nn.Module):
    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.depthwise = nn.Conv2d(out_ch, out_ch, 3, padding=1, groups=out_ch, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.depthwise(self.pointwise(x))


class DownBlock(nn.Module):
    """Residual block that changes width and halves the resolution."""

    def __init__(self, in_ch: int, out_ch: int, mid_ch: int | None = None, pre_relu: bool = False):
        super().__init__()
        mid_ch = mid_ch or out_ch
        self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=2, bias=False), nn.BatchNorm2d(out_ch))
        layers: list[nn.Module] = [nn.ReLU()] if pre_relu else []
        layers += [
            SeparableConv2d(in_ch, mid_ch), nn.BatchNorm2d(mid_ch), nn.ReLU(),
            SeparableConv2d(mid_ch, out_ch), nn.BatchNorm2d(out_ch),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class MiddleBlock(nn.Module):
    def __init__(self, ch: int, reps: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(reps):
            layers += [nn.ReLU(), SeparableConv2d(ch, ch), nn.BatchNorm2d(ch)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class Xception(nn.Module):
    def __init__(self, num_outputs: int = 136, in_chans: int = 3, middle_blocks: int = 4):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_chans, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        )
        self.entry = nn.Sequential(DownBlock(64, 128), DownBlock(128, 256), DownBlock(256, 512))
        self.middle = nn.Sequential(*[MiddleBlock(512) for _ in range(middle_blocks)])
        self.exit = nn.Sequential(
            DownBlock(512, 1024, mid_ch=512, pre_relu=True),
            SeparableConv2d(1024, 1024), nn.BatchNorm2d(1024), nn.ReLU(),
            SeparableConv2d(1024, 1024), nn.BatchNorm2d(1024), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, num_outputs))
        centre_head(self.head[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.exit(self.middle(self.entry(self.stem(x)))))


@register_model(ModelConfig(
    name="xception", family="xception", scheme="ibug68", num_points=68, input_size=512, sizes=(512,),
    source="FFHQ project (Xception, dlib-labelled FFHQ)", seed_params=8_580_776,
))
def _xception(cfg: ModelConfig) -> nn.Module:
    return Xception(2 * cfg.num_points, cfg.in_chans)

"""DepthPose's super-resolution branch for low-resolution depth (ORPose-Depth).

After Srivastav et al., "Human Pose Estimation on Privacy-Preserving Low-Resolution Depth
Images" (MICCAI 2019) and its released code's behaviour (shared notes, models.md): a
1-channel depth image as small as 80x60 or 64x48 is upsampled x8 by three blocks of
conv3x3-ReLU-conv3x3-ReLU-conv3x3 (to 4 x 64 channels) -> PixelShuffle(2), giving 64-channel
maps at x2, x4 and x8; a 3x3 conv reconstructs the x8 depth, trained jointly with an L2 loss
against the full-resolution depth. Skip features for the pose branch are pooled back to the
input resolution: the x2 map max-pooled + conv to 32 channels, and the x4 map pool-conv-pool-
conv to 32 channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn


def _up_block(in_channels: int, channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2))


@MODELS.register_module()
class DepthSuperResolution(nn.Module):
    """x8 super-resolution of 1-channel depth with skip features at the input resolution.

    ``forward(x)`` returns ``(sr, x8, skips)``: the reconstructed depth (B x 1 x 8H x 8W),
    the 64-channel x8 map the pose trunk reads, and the two 32-channel skip maps (B x 32 x H
    x W).
    """

    def __init__(self, in_channels: int = 1, channels: int = 64, skip_channels: int = 32
                 ) -> None:
        super().__init__()
        self.up2 = _up_block(in_channels, channels)
        self.up4 = _up_block(channels, channels)
        self.up8 = _up_block(channels, channels)
        self.reconstruct = nn.Conv2d(channels, in_channels, 3, padding=1)
        self.skip2 = nn.Conv2d(channels, skip_channels, 3, padding=1)
        self.skip4a = nn.Conv2d(channels, skip_channels, 3, padding=1)
        self.skip4b = nn.Conv2d(skip_channels, skip_channels, 3, padding=1)

    def forward(self, x: torch.Tensor):
        x2 = self.up2(x)
        x4 = self.up4(x2)
        x8 = self.up8(x4)
        sr = self.reconstruct(x8)
        s2 = F.relu(self.skip2(F.max_pool2d(x2, 2)))
        s4 = F.relu(self.skip4b(F.max_pool2d(F.relu(self.skip4a(F.max_pool2d(x4, 2))), 2)))
        return sr, x8, [s2, s4]


def reconstruction_loss(sr: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L2 (mean squared error) between the reconstruction and the full-resolution depth,
    the latter resized to the reconstruction's size when the two differ (64x48 x8 = 512x384
    against a 640x480 original)."""
    if target.shape[-2:] != sr.shape[-2:]:
        target = F.interpolate(target, size=sr.shape[-2:], mode="bilinear",
                               align_corners=False)
    return F.mse_loss(sr, target)

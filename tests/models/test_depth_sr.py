"""DepthPose's super-resolution branch: x8 shapes, skip maps at the input resolution, and the
reconstruction loss by hand."""

from __future__ import annotations

import pytest

pytest.importorskip("mmpose")

import torch  # noqa: E402

from benchmark.models.ext.depth_sr import DepthSuperResolution, reconstruction_loss  # noqa: E402


@pytest.mark.parametrize("size", [(60, 80), (48, 64)])
def test_outputs_are_x8_and_skips_at_the_input_resolution(size) -> None:
    h, w = size
    net = DepthSuperResolution()
    sr, x8, skips = net(torch.rand(2, 1, h, w))
    assert sr.shape == (2, 1, 8 * h, 8 * w) and x8.shape == (2, 64, 8 * h, 8 * w)
    assert [tuple(s.shape) for s in skips] == [(2, 32, h, w), (2, 32, h, w)]
    loss = reconstruction_loss(sr, torch.rand(2, 1, 8 * h, 8 * w))
    loss.backward()
    assert all(p.grad is not None for p in net.up2.parameters())


def test_reconstruction_loss_is_the_mean_squared_error() -> None:
    sr = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    target = torch.tensor([[[[1.5, 2.0], [2.0, 6.0]]]])
    assert reconstruction_loss(sr, target).item() == pytest.approx((0.25 + 0 + 1 + 4) / 4)
    # a 640x480 original against a 64x48 x8 reconstruction (512x384) is resized first
    big = torch.ones(1, 1, 480, 640)
    assert reconstruction_loss(torch.ones(1, 1, 384, 512), big).item() == pytest.approx(0.0)

"""ExLPose's LSBN and LUPI on known inputs (benchmark.models.ext.exlpose)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mmpose")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from benchmark.models.ext.exlpose import (  # noqa: E402
    LOW_LIGHT,
    WELL_LIT,
    ExLPoseEstimator,
    LSBNBatchNorm,
    PairedTopdownAffine,
    StackPair,
    convert_lsbn,
    lupi_loss,
    set_domain,
)


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)))


def test_lsbn_routes_each_lighting_to_its_own_statistics() -> None:
    torch.manual_seed(0)
    net = _net()
    with torch.no_grad():
        net[1].weight.fill_(2.0)
        net[1].running_mean.fill_(0.5)
    assert convert_lsbn(net) == 2
    bn = net[1]
    assert isinstance(bn, LSBNBatchNorm) and isinstance(net[3][1], LSBNBatchNorm)
    # pretrained values are copied into both sets
    assert torch.equal(bn.wl.weight, bn.weight) and torch.equal(bn.wl.running_mean,
                                                                bn.running_mean)
    net.train()
    set_domain(net, WELL_LIT)
    net(torch.randn(2, 3, 8, 8) + 3.0)  # a well-lit batch updates the well-lit stats only
    assert torch.equal(bn.running_mean, torch.full((4,), 0.5))
    assert not torch.equal(bn.wl.running_mean, torch.full((4,), 0.5))
    wl_stats = bn.wl.running_mean.clone()
    set_domain(net, LOW_LIGHT)
    net(torch.randn(2, 3, 8, 8))
    assert torch.equal(bn.wl.running_mean, wl_stats)  # untouched by the low-light batch
    assert not torch.equal(bn.running_mean, torch.full((4,), 0.5))
    # in eval mode each set normalises with its own statistics
    net.eval()
    x = torch.randn(1, 3, 8, 8)
    feat = net[0](x)
    set_domain(net, WELL_LIT)
    assert torch.allclose(bn(feat), nn.functional.batch_norm(
        feat, bn.wl.running_mean, bn.wl.running_var, bn.wl.weight, bn.wl.bias, False, 0,
        bn.wl.eps))


def test_lupi_equals_the_gram_mse_by_hand_and_spares_the_well_lit_pass() -> None:
    torch.manual_seed(1)
    ll = [torch.randn(2, 3, 4, 5, requires_grad=True), torch.randn(2, 6, 2, 3,
                                                                   requires_grad=True)]
    wl = [torch.randn(2, 3, 4, 5, requires_grad=True), torch.randn(2, 6, 2, 3,
                                                                   requires_grad=True)]
    value = lupi_loss(ll, wl)
    expected = 0.0
    for a, b in zip(ll, wl, strict=True):
        na, nb = a.detach().numpy(), b.detach().numpy()
        _, c, h, w = na.shape
        for i in range(na.shape[0]):
            fa, fb = na[i].reshape(c, h * w), nb[i].reshape(c, h * w)
            mse = np.mean((fb @ fb.T - fa @ fa.T) ** 2) / (h * h * w * w)
            expected += 0.2 * mse
    expected = 1e-4 * expected / 4
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in ll)
    assert all(t.grad is None for t in wl)


def test_paired_affine_crops_both_images_identically() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    results = {"img": img, "img_pair": img.copy(), "bbox_center": np.array([[40.0, 30.0]]),
               "bbox_scale": np.array([[50.0, 40.0]]), "bbox_rotation": np.array([10.0]),
               "keypoints": np.zeros((1, 17, 2), np.float32),
               "keypoints_visible": np.ones((1, 17), np.float32)}
    out = PairedTopdownAffine(input_size=(32, 48)).transform(results)
    assert out["img"].shape == (48, 32, 3) and np.array_equal(out["img"], out["img_pair"])
    stacked = StackPair().transform(out)["img"]
    assert stacked.shape == (48, 32, 6) and np.array_equal(stacked[..., 3:], stacked[..., :3])


def test_estimator_trains_on_pairs_and_predicts_through_the_chosen_set() -> None:
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData, PixelData
    from mmpose.structures import PoseDataSample

    init_default_scope("mmpose")
    codec = dict(type="MSRAHeatmap", input_size=(64, 64), heatmap_size=(8, 8), sigma=1)
    est = ExLPoseEstimator(
        backbone=dict(type="ResNet", depth=18, out_indices=(3,)),
        head=dict(type="HeatmapHead", in_channels=512, out_channels=3,
                  deconv_out_channels=(16, 16), deconv_kernel_sizes=(4, 4),
                  loss=dict(type="KeypointMSELoss", use_target_weight=True), decoder=codec),
        lupi_stages=("layer1", "layer4"))
    # every backbone BN is lighting-specific (20 in ResNet-18); the head's stay shared
    assert est.num_lsbn == 20 == sum(isinstance(m, LSBNBatchNorm)
                                     for m in est.backbone.modules())
    assert all(name.endswith(".wl") for name, m in est.backbone.named_modules()
               if type(m) is nn.BatchNorm2d)
    assert not any(isinstance(m, LSBNBatchNorm) for m in est.head.modules())
    assert any(type(m) is nn.BatchNorm2d for m in est.head.modules())
    samples = []
    for _ in range(2):
        sample = PoseDataSample()
        sample.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 3))
        sample.gt_fields = PixelData(heatmaps=torch.rand(3, 8, 8))
        samples.append(sample)
    inputs = torch.rand(2, 6, 64, 64) * 255
    losses = est.loss(inputs, samples)
    assert {"loss_kpt", "loss_kpt_wl", "loss_lupi"} <= set(losses)
    assert losses["loss_lupi"].item() > 0
    with pytest.raises(ValueError, match="paired 6-channel inputs"):
        est.loss(inputs[:, :3], samples)
    est.lupi_weight = 0.0
    assert "loss_lupi" not in est.loss(inputs, samples)
    # low-light inputs are rescaled to a mean of 0.4; well-lit ones normalised
    x = torch.rand(2, 3, 4, 4) * 50
    ll = ExLPoseEstimator.normalise(x, LOW_LIGHT)
    assert torch.allclose(ll.mean(dim=(1, 2, 3)), torch.full((2,), 0.4), atol=1e-5)
    wl = ExLPoseEstimator.normalise(x, WELL_LIT)
    assert torch.allclose(wl[:, 0], (x[:, 2] / 255 - 0.3457) / 0.1477, atol=1e-5)

    # at test time the BN set and the normalisation follow test_modality (WL set: rgb)
    est.eval()
    x = torch.rand(1, 3, 64, 64) * 255
    outs = {}
    for modality in ("lowlight", "rgb"):
        est.test_modality = modality
        with torch.no_grad():
            outs[modality] = est._forward(x)
        bn = next(m for m in est.backbone.modules() if isinstance(m, LSBNBatchNorm))
        assert bn.domain == (WELL_LIT if modality == "rgb" else LOW_LIGHT)
    assert not torch.allclose(outs["lowlight"], outs["rgb"])

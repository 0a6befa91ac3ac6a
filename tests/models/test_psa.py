"""Polarized Self-Attention and the PSAHRNet backbone (benchmark.models.ext.psa).

The block is checked against the paper's equations written out independently here with
einsum (so a softmax over the wrong axis or a missing LayerNorm fails), against the defining
properties of its branches (channel-only attention scales a channel by one factor at every
position; spatial-only attention scales every channel of a position by one factor), and for
the sequential/parallel composition. The backbone is checked on a tiny HRNet: same outputs'
shapes as plain HRNet, the exact extra parameter count, PSA's place in the block, plain HRNet
weights loading with only PSA keys missing, the registry build and the initialisation.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("mmpose")

from mmpose.models.backbones import HRNet  # noqa: E402
from mmpose.models.backbones.resnet import BasicBlock  # noqa: E402
from mmpose.registry import MODELS  # noqa: E402

import benchmark.models.ext  # noqa: E402, F401 - registration
from benchmark.models.ext.psa import (  # noqa: E402
    PolarizedSelfAttention,
    PSABasicBlock,
    PSAHRNet,
)
from tests.models.conftest import tiny_hrnet_extra  # noqa: E402

TINY_EXTRA = tiny_hrnet_extra()
#: BasicBlock widths of TINY_EXTRA's stages 2-4 (one block per branch, one module per stage).
TINY_BASIC_WIDTHS = {2: (16, 32), 3: (16, 32, 64), 4: (16, 32, 64, 128)}
C = 8


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _away_from_zero(*shape: int) -> torch.Tensor:
    """Random values with |x| >= 0.5, so output/input ratios are well conditioned."""
    x = torch.randn(*shape)
    return torch.sign(x) * (x.abs() + 0.5)


def _psa_params(c: int) -> int:
    """PSA parameters for width c: Wq c, Wv and Wz c*c/2 each, LayerNorm 2c, spatial Wq/Wv."""
    return c + 2 * (c * c // 2) + 2 * c + 2 * (c * c // 2)


def _reference_gates(psa: PolarizedSelfAttention,
                     x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's A^ch (N, C, 1, 1) and A^sp (N, 1, H, W), written with einsum."""
    n, c, h, w = x.shape
    x2 = x.flatten(2)  # (N, C, HW)

    def w1x1(conv: torch.nn.Conv2d) -> torch.Tensor:
        return conv.weight[:, :, 0, 0]

    # channel-only: softmax over positions of the 1-channel query, weighted sum of the values
    q = torch.einsum("oc,ncp->nop", w1x1(psa.ch_wq), x2)[:, 0]  # (N, HW)
    v = torch.einsum("oc,ncp->nop", w1x1(psa.ch_wv), x2)  # (N, C/2, HW)
    z = torch.einsum("nkp,np->nk", v, q.softmax(-1))
    z = torch.einsum("ok,nk->no", w1x1(psa.ch_wz), z)
    mu, var = z.mean(-1, keepdim=True), z.var(-1, unbiased=False, keepdim=True)
    z = (z - mu) / torch.sqrt(var + psa.ch_norm.eps) * psa.ch_norm.weight + psa.ch_norm.bias
    a_ch = torch.sigmoid(z).view(n, c, 1, 1)
    # spatial-only: globally pooled query, softmax over its C/2 channels, dot with the values
    q = torch.einsum("oc,ncp->nop", w1x1(psa.sp_wq), x2).mean(-1)  # (N, C/2)
    v = torch.einsum("oc,ncp->nop", w1x1(psa.sp_wv), x2)
    a_sp = torch.sigmoid(torch.einsum("nk,nkp->np", q.softmax(-1), v)).view(n, 1, h, w)
    return a_ch, a_sp


def _randomise_norm(psa: PolarizedSelfAttention) -> None:
    """Non-trivial LayerNorm affine, so that a missing or misplaced LayerNorm shows."""
    with torch.no_grad():
        psa.ch_norm.weight.uniform_(0.5, 1.5)
        psa.ch_norm.bias.uniform_(-0.5, 0.5)


# --- the block ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_block_keeps_shape_and_every_parameter_gets_a_gradient(mode: str) -> None:
    psa = PolarizedSelfAttention(C, mode)
    x = torch.randn(2, C, 7, 5, requires_grad=True)
    out = psa(x)
    assert out.shape == x.shape
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in psa.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_gates_match_the_papers_equations() -> None:
    psa = PolarizedSelfAttention(C)
    _randomise_norm(psa)
    x = torch.randn(3, C, 6, 4)
    a_ch, a_sp = _reference_gates(psa, x)
    torch.testing.assert_close(psa.channel_gate(x), a_ch)
    torch.testing.assert_close(psa.spatial_gate(x), a_sp)


def test_channel_branch_scales_each_channel_by_one_factor() -> None:
    psa = PolarizedSelfAttention(C)
    x = _away_from_zero(2, C, 6, 5)
    ratio = psa.channel_branch(x) / x  # (N, C, H, W)
    per_channel = ratio.flatten(2)
    torch.testing.assert_close(per_channel, per_channel[..., :1].expand_as(per_channel))
    assert ((ratio > 0) & (ratio < 1)).all()
    assert per_channel[..., 0].std(dim=1).min() > 1e-3  # channels are weighted differently
    # a spatially uniform input stays uniform: each channel is only rescaled
    flat = x[:, :, :1, :1].expand_as(x).contiguous()
    out = psa.channel_branch(flat)
    torch.testing.assert_close(out, out[:, :, :1, :1].expand_as(out))


def test_spatial_branch_scales_all_channels_of_a_position_by_one_factor() -> None:
    psa = PolarizedSelfAttention(C)
    x = _away_from_zero(2, C, 6, 5)
    ratio = psa.spatial_branch(x) / x
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))
    assert ((ratio > 0) & (ratio < 1)).all()
    assert ratio[:, 0].flatten(1).std(dim=1).min() > 1e-3  # positions are weighted differently


def test_sequential_is_spatial_of_channel_and_parallel_is_their_sum() -> None:
    seq = PolarizedSelfAttention(C, "sequential")
    _randomise_norm(seq)
    par = PolarizedSelfAttention(C, "parallel")
    par.load_state_dict(seq.state_dict())
    x = torch.randn(2, C, 6, 5)
    a_ch, _ = _reference_gates(seq, x)
    y = x * a_ch
    _, a_sp = _reference_gates(seq, y)  # the spatial gate is computed on the channel output
    torch.testing.assert_close(seq(x), y * a_sp)
    torch.testing.assert_close(seq(x), seq.spatial_branch(seq.channel_branch(x)))
    torch.testing.assert_close(par(x), seq.channel_branch(x) + seq.spatial_branch(x))
    assert not torch.allclose(seq(x), par(x), atol=1e-3)


def test_block_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="even"):
        PolarizedSelfAttention(7)
    with pytest.raises(ValueError, match="mode"):
        PolarizedSelfAttention(8, "serial")


# --- the backbone ------------------------------------------------------------------------

def _pair() -> tuple[HRNet, PSAHRNet]:
    return HRNet(copy.deepcopy(TINY_EXTRA)), PSAHRNet(copy.deepcopy(TINY_EXTRA))


def test_psahrnet_outputs_have_plain_hrnet_shapes() -> None:
    plain, psa = _pair()
    x = torch.randn(2, 3, 128, 96)
    ref, out = plain(x), psa(x)
    assert [t.shape for t in out] == [t.shape for t in ref]
    assert out[0].shape == (2, 16, 32, 24)


def test_psahrnet_adds_exactly_one_psa_per_basic_block() -> None:
    plain, psa = _pair()
    n_plain = sum(p.numel() for p in plain.parameters())
    n_psa = sum(p.numel() for p in psa.parameters())
    widths = [c for stage in TINY_BASIC_WIDTHS.values() for c in stage]
    assert n_psa - n_plain == sum(_psa_params(c) for c in widths) > 0
    blocks = [m for m in psa.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == len(widths) and all(isinstance(b, PSABasicBlock) for b in blocks)
    assert all(m.mode == "sequential" for m in psa.psa_modules())


def test_psa_sits_between_relu_after_norm1_and_conv2() -> None:
    _, net = _pair()
    net.eval()
    block = net.stage3[0].branches[1][0]
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        block.norm1.register_forward_hook(lambda m, i, o: seen.__setitem__("norm1", o.clone())),
        block.psa.register_forward_hook(
            lambda m, i, o: seen.update(psa_in=i[0].clone(), psa_out=o.clone())),
        block.conv2.register_forward_hook(lambda m, i, o: seen.__setitem__("conv2", i[0])),
    ]
    net(torch.randn(1, 3, 128, 96))
    for h in hooks:
        h.remove()
    torch.testing.assert_close(seen["psa_in"], F.relu(seen["norm1"]))
    torch.testing.assert_close(seen["conv2"], seen["psa_out"])
    assert block.psa.channels == block.mid_channels == 32


def test_plain_hrnet_weights_load_with_only_psa_keys_missing() -> None:
    plain, psa = _pair()
    result = psa.load_state_dict(plain.state_dict(), strict=False)
    assert result.unexpected_keys == []
    psa_keys = {k for k in psa.state_dict() if ".psa." in k}
    assert psa_keys and set(result.missing_keys) == psa_keys
    assert all(k.split(".psa.")[1].split(".")[0] in {"ch_wq", "ch_wv", "ch_wz", "ch_norm",
                                                      "sp_wq", "sp_wv"} for k in psa_keys)
    loaded = psa.state_dict()
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(loaded[k], v, msg=k)


def test_psa_stages_choose_the_stages() -> None:
    net = PSAHRNet(copy.deepcopy(TINY_EXTRA), psa_stages=(4,), psa_mode="parallel")
    widths = sorted(m.channels for m in net.psa_modules())
    assert widths == list(TINY_BASIC_WIDTHS[4])
    assert not any(isinstance(m, PolarizedSelfAttention) for m in net.stage2.modules())
    assert all(m.mode == "parallel" for m in net.psa_modules())
    with pytest.raises(ValueError, match="no BASIC blocks"):
        PSAHRNet(copy.deepcopy(TINY_EXTRA), psa_stages=(1,))  # stage 1 is BOTTLENECK
    with pytest.raises(ValueError, match="1-4"):
        PSAHRNet(copy.deepcopy(TINY_EXTRA), psa_stages=(5,))


def test_registry_builds_psahrnet() -> None:
    from mmengine.registry import init_default_scope

    init_default_scope("mmpose")  # as a job's config sets it (another test may have left mmdet)
    net = MODELS.build(dict(type="PSAHRNet", extra=copy.deepcopy(TINY_EXTRA),
                            psa_mode="sequential"))
    assert type(net) is PSAHRNet
    assert len(net.psa_modules()) == sum(len(w) for w in TINY_BASIC_WIDTHS.values())
    assert net(torch.randn(1, 3, 128, 96))[0].shape == (1, 16, 32, 24)
    block = MODELS.build(dict(type="PolarizedSelfAttention", channels=8, mode="parallel"))
    assert isinstance(block, PolarizedSelfAttention) and block.mode == "parallel"


def test_init_weights_keeps_psa_out_of_hrnets_tiny_normal_init(tmp_path) -> None:
    net = PSAHRNet(copy.deepcopy(TINY_EXTRA))
    net.init_weights()
    block = net.stage4[0].branches[3][0]  # width 128: std estimates are tight
    assert block.conv1.weight.std().item() < 0.002  # HRNet's N(0, 0.001)
    fan_in_std = (2 / 128) ** 0.5  # kaiming, fan-in, relu gain
    assert block.psa.sp_wv.weight.std().item() == pytest.approx(fan_in_std, rel=0.1)

    # from a plain HRNet checkpoint: HRNet weights loaded, PSA left as constructed
    plain = HRNet(copy.deepcopy(TINY_EXTRA))
    ckpt = tmp_path / "hrnet.pth"
    torch.save({"state_dict": plain.state_dict()}, ckpt)
    net = PSAHRNet(copy.deepcopy(TINY_EXTRA),
                   init_cfg=dict(type="Pretrained", checkpoint=str(ckpt)))
    before = {k: v.clone() for k, v in net.state_dict().items() if ".psa." in k}
    net.init_weights()
    after = net.state_dict()
    for k, v in before.items():
        torch.testing.assert_close(after[k], v, msg=k)
    torch.testing.assert_close(after["stage2.0.branches.0.0.conv1.weight"],
                               plain.state_dict()["stage2.0.branches.0.0.conv1.weight"])


def test_checkpointed_blocks_match_and_backpropagate() -> None:
    net = PSAHRNet(copy.deepcopy(TINY_EXTRA))
    cp_net = PSAHRNet(copy.deepcopy(TINY_EXTRA), with_cp=True)
    cp_net.load_state_dict(net.state_dict())
    net.eval()
    cp_net.eval()
    x = torch.randn(1, 3, 128, 96, requires_grad=True)
    out, cp_out = net(x), cp_net(x)
    for a, b in zip(out, cp_out):
        torch.testing.assert_close(a, b)
    sum(t.sum() for t in cp_out).backward()
    assert all(p.grad is not None for m in cp_net.psa_modules() for p in m.parameters())

"""Polarized Self-Attention (PSA) and an HRNet backbone that carries it in its residual blocks.

After Liu et al., "Polarized Self-Attention: Towards High-quality Pixel-wise Regression"
(arXiv 2107.00782). PSA keeps a high internal resolution in both of its branches (C/2 channels
in the channel-only branch, full H x W in the spatial-only branch) and ends each branch in a
sigmoid, the non-linearity that suits the Gaussian-like output of keypoint heatmaps. The
paper's pose model is HRNet-W48 with PSA in its BASIC residual blocks; the official code
(DeLightCMU/PSA, ``semantic-segmentation/network/hrnetv2.py``) applies it inside each
``BasicBlock``'s residual branch, between ``conv1 -> bn1 -> relu`` and ``conv2``, which is where
:class:`PSAHRNet` puts it.

Where this follows the paper's equations rather than the official code: the spatial branch
takes the softmax over the C/2 channels of the globally pooled query (the code's variants
take it over H x W), and the channel branch is ``W_z -> LayerNorm -> sigmoid`` with no extra
bottleneck (the sequential variant in the code squeezes W_z by 4 with a ReLU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmpose.models.backbones import HRNet
from mmpose.models.backbones.resnet import BasicBlock
from mmpose.registry import MODELS
from torch import nn
from torch.utils import checkpoint as cp

PSA_MODES = ("sequential", "parallel")


def _conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)


@MODELS.register_module()
class PolarizedSelfAttention(nn.Module):
    """PSA block: channel-only and spatial-only self-attention, each gating ``x`` by a sigmoid.

    ``mode="sequential"`` gives ``spatial(channel(x))`` (the paper's PSA_s, used for its pose
    results); ``mode="parallel"`` gives ``channel(x) + spatial(x)`` (PSA_p). The output has the
    shape of the input, so the block can be dropped into any feature path.

    Args:
        channels: input (= output) channels C; must be even, the branches work at C/2.
        mode: ``"sequential"`` or ``"parallel"``.
    """

    def __init__(self, channels: int, mode: str = "sequential") -> None:
        super().__init__()
        if channels < 2 or channels % 2:
            raise ValueError(f"PSA needs an even channel count >= 2, got {channels}")
        if mode not in PSA_MODES:
            raise ValueError(f"PSA mode must be one of {PSA_MODES}, got {mode!r}")
        self.channels = channels
        self.mode = mode
        inter = channels // 2
        # channel-only branch: a single spatial query map pools C/2 value channels over HxW
        self.ch_wq = _conv1x1(channels, 1)
        self.ch_wv = _conv1x1(channels, inter)
        self.ch_wz = _conv1x1(inter, channels)
        self.ch_norm = nn.LayerNorm(channels)
        # spatial-only branch: a pooled C/2 channel query weighs C/2 value maps per position
        self.sp_wq = _conv1x1(channels, inter)
        self.sp_wv = _conv1x1(channels, inter)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming (fan-in) convs as in the official code, identity-affine LayerNorm.

        Fan-in scaling keeps the query/value logits at the scale of the input, so the
        softmaxes start neither flat nor saturated and both sigmoids start away from 0 and 1;
        the HRNet default (normal, std 0.001) would give near-constant 0.5 gates whose
        gradients vanish through the products of tiny weights.
        """
        for conv in (self.ch_wq, self.ch_wv, self.ch_wz, self.sp_wq, self.sp_wv):
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
        nn.init.ones_(self.ch_norm.weight)
        nn.init.zeros_(self.ch_norm.bias)

    def channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel weights in (0, 1), shape (N, C, 1, 1)."""
        n = x.shape[0]
        q = F.softmax(self.ch_wq(x).flatten(2), dim=-1)  # (N, 1, HW): where to look
        v = self.ch_wv(x).flatten(2)  # (N, C/2, HW)
        z = torch.matmul(v, q.transpose(1, 2))  # (N, C/2, 1): attention-weighted sum over HW
        z = self.ch_wz(z.unsqueeze(-1)).view(n, self.channels)  # (N, C)
        return torch.sigmoid(self.ch_norm(z)).view(n, self.channels, 1, 1)

    def spatial_gate(self, x: torch.Tensor) -> torch.Tensor:
        """Per-position weights in (0, 1), shape (N, 1, H, W)."""
        n, _, h, w = x.shape
        q = self.sp_wq(x).mean(dim=(2, 3))  # (N, C/2): global average pooling
        q = F.softmax(q, dim=-1).unsqueeze(1)  # (N, 1, C/2): softmax over channels
        v = self.sp_wv(x).flatten(2)  # (N, C/2, HW)
        return torch.sigmoid(torch.matmul(q, v)).view(n, 1, h, w)

    def channel_branch(self, x: torch.Tensor) -> torch.Tensor:
        """Channel-only attention: ``x`` scaled channel-wise."""
        return x * self.channel_gate(x)

    def spatial_branch(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial-only attention: ``x`` scaled position-wise (same factor for all channels)."""
        return x * self.spatial_gate(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "sequential":
            return self.spatial_branch(self.channel_branch(x))
        return self.channel_branch(x) + self.spatial_branch(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, mode={self.mode!r}"


class PSABasicBlock(BasicBlock):
    """MMPose's ``BasicBlock`` with PSA between ``conv1 -> norm1 -> relu`` and ``conv2``.

    Not built directly: :func:`attach_psa` turns an existing ``BasicBlock`` into one, so its
    own parameters keep their names (and pretrained HRNet weights keep loading) while the PSA
    parameters arrive as the extra ``psa.*`` keys.
    """

    psa: PolarizedSelfAttention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def _inner_forward(x: torch.Tensor) -> torch.Tensor:
            identity = x
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.psa(out)
            out = self.norm2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return out + identity

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        return self.relu(out)


def attach_psa(block: BasicBlock, mode: str = "sequential") -> PSABasicBlock:
    """Give ``block`` a PSA module over its ``mid_channels`` and the forward that uses it.

    The class swap changes only ``forward`` (``PSABasicBlock`` adds no state besides the
    ``psa`` submodule), so ``isinstance(block, BasicBlock)`` still holds for HRNet's own
    ``zero_init_residual`` handling.
    """
    if type(block) is not BasicBlock:
        raise TypeError(f"expected mmpose BasicBlock, got {type(block).__name__}")
    ref = block.conv1.weight
    block.add_module("psa", PolarizedSelfAttention(block.mid_channels, mode).to(ref.device,
                                                                                 ref.dtype))
    block.__class__ = PSABasicBlock
    return block  # type: ignore[return-value]


@MODELS.register_module()
class PSAHRNet(HRNet):
    """HRNet with PSA in the BASIC residual blocks of the chosen stages (the paper's HRNet+PSA).

    Built as the plain :class:`HRNet` first, then each ``BasicBlock`` of ``psa_stages`` gets a
    PSA module (see :class:`PSABasicBlock`). The parameters of the plain HRNet keep their
    state-dict keys, so ImageNet/COCO HRNet checkpoints load with ``strict=False`` and only the
    ``...psa.*`` keys missing.

    Args:
        extra: HRNet's stage configuration, as for :class:`HRNet`.
        psa_stages: stages (1-4) whose BASIC blocks carry PSA; 1 is ``layer1``. Every chosen
            stage must use BASIC blocks (the official code puts none in BOTTLENECK blocks).
        psa_mode: ``"sequential"`` (the paper's pose model) or ``"parallel"``.
        **kwargs: the rest of :class:`HRNet`'s arguments.
    """

    def __init__(self, extra: dict, *, psa_stages: tuple[int, ...] = (2, 3, 4),
                 psa_mode: str = "sequential", **kwargs) -> None:
        super().__init__(extra, **kwargs)
        if psa_mode not in PSA_MODES:
            raise ValueError(f"psa_mode must be one of {PSA_MODES}, got {psa_mode!r}")
        self.psa_stages = tuple(sorted(set(psa_stages)))
        self.psa_mode = psa_mode
        for stage in self.psa_stages:
            if stage not in (1, 2, 3, 4):
                raise ValueError(f"psa_stages must be within 1-4, got {stage}")
            layer = self.layer1 if stage == 1 else getattr(self, f"stage{stage}")
            blocks = [m for m in layer.modules() if type(m) is BasicBlock]
            if not blocks:
                raise ValueError(f"stage {stage} has no BASIC blocks to put PSA in")
            for block in blocks:
                attach_psa(block, psa_mode)

    def psa_modules(self) -> list[PolarizedSelfAttention]:
        """All PSA modules, in module order."""
        return [m for m in self.modules() if isinstance(m, PolarizedSelfAttention)]

    def init_weights(self) -> None:
        """HRNet's initialisation, then PSA's own unless the weights come from a checkpoint.

        HRNet's default ``init_cfg`` draws every ``Conv2d`` from N(0, 0.001), PSA's included,
        which starts all gates at a flat 0.5 (see
        :meth:`PolarizedSelfAttention.reset_parameters`). With a ``Pretrained`` ``init_cfg``
        (as HRNet's ``zero_init_residual`` does) nothing is redone: a PSAHRNet checkpoint brings
        its PSA weights and a plain HRNet one leaves PSA at its construction-time init.
        """
        if self._is_init:  # a second call changes nothing, as in BaseModule
            return super().init_weights()
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained":
            return
        for psa in self.psa_modules():
            psa.reset_parameters()

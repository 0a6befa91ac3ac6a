"""DepthPose (ORPose-Depth): bottom-up part-affinity-field pose estimation on depth, with a
jointly trained super-resolution branch for low-resolution depth.

After Srivastav et al., "Human Pose Estimation on Privacy-Preserving Low-Resolution Depth
Images" (MICCAI 2019), built on OpenPose (Cao et al., CVPR 2017); the released code's
behaviour is in the shared notes (models.md):

- :class:`DepthPoseBackbone`: OpenPose's VGG-19 trunk (conv1_1-conv4_2, three poolings, then
  conv4_3/4_4 "CPM" to 128 channels). With ``sr=True`` the trunk reads the 64-channel x8 map
  of :class:`~benchmark.models.ext.depth_sr.DepthSuperResolution`, so it ends at the
  low-resolution input's own size, and the SR branch's two 32-channel skip maps are
  concatenated to its output (192 channels).
- :class:`PAFHead`: OpenPose's stages (stage 1: 3x conv3x3-128, conv1x1-512, conv1x1 per
  branch; stages 2+: the features with the previous stage's fields and heatmaps, 5x conv7x7-128,
  conv1x1-128, conv1x1), every stage supervised with an L2 loss on the fields and heatmaps;
  prediction upsamples the last stage bicubically to the network input (640x480 for MVOR) and
  decodes with :class:`~benchmark.models.ext.paf.PartAffinityFieldLabel`, with flip test.
- :class:`DepthPoseEstimator`: MMPose's bottom-up estimator plus the SR reconstruction loss.

How mpbench feeds it (what differs from the released code): a low-resolution modality
(``depth_80x60``) is stored at its own size and loaded nearest-upsampled into the 640x480
annotation frame, like every other cell. The backbone average-pools channel 0 back by the
modality's factor (exact for a block-upsampled image at scale 1), so the network sees only
the low-resolution values. During training :class:`PairAsChannels` puts the registered
full-resolution depth in channel 1: the same affine and flip transform both, and channel 1
is the reconstruction target. Inputs are 8-bit depth scaled to [0, 1], as in the paper.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import KEYPOINT_CODECS, MODELS, TRANSFORMS
from torch import nn

from benchmark.models.ext.depth_sr import DepthSuperResolution, reconstruction_loss

#: The codec's decoding thresholds a test_cfg may override (``test_cfg.paf_decode``).
DECODE_THRESHOLDS = ("peak_thr", "paf_thr", "min_above", "min_parts", "min_score")
#: OpenPose's VGG-19 trunk: channel widths, "M" = 2x2 max-pooling (three: output at /8).
VGG_TRUNK = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 256, 128)


def _convs(in_channels: int, widths, kernel: int = 3) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for w in widths:
        if w == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_channels, w, kernel, padding=kernel // 2),
                       nn.ReLU(inplace=True)]
            in_channels = w
    return layers


@MODELS.register_module()
class DepthPoseBackbone(nn.Module):
    """VGG trunk, optionally behind the x8 super-resolution branch.

    ``forward(x)`` returns ``((features,), reconstruction)``; the reconstruction is None
    without the SR branch. ``in_channels`` input channels are read (1 for depth: channel 0 of
    the 3-channel loaded image; 3 for colour).
    """

    def __init__(self, in_channels: int = 1, sr: bool = False, sr_factor: int = 8,
                 init_cfg=None) -> None:
        super().__init__()
        self.in_channels, self.sr_factor = int(in_channels), int(sr_factor)
        self.sr = DepthSuperResolution(in_channels=1) if sr else None
        if sr and self.in_channels != 1:
            raise ValueError("DepthPose's super-resolution branch reads 1-channel depth")
        self.trunk = nn.Sequential(*_convs(64 if sr else self.in_channels, VGG_TRUNK))
        self.out_channels = VGG_TRUNK[-1] + (64 if sr else 0)

    def forward(self, x: torch.Tensor):
        x = x[:, :self.in_channels]
        if self.sr is None:
            return (self.trunk(x),), None
        low = F.avg_pool2d(x, self.sr_factor)
        recon, x8, skips = self.sr(low)
        return (torch.cat([self.trunk(x8), *skips], dim=1),), recon


def _stage(in_channels: int, out_channels: int, first: bool) -> nn.Sequential:
    if first:
        layers = _convs(in_channels, (128, 128, 128)) + _convs(128, (512,), kernel=1)
        last_in = 512
    else:
        layers = _convs(in_channels, (128,) * 5, kernel=7) + _convs(128, (128,), kernel=1)
        last_in = 128
    return nn.Sequential(*layers, nn.Conv2d(last_in, out_channels, 1))


@MODELS.register_module()
class PAFHead(BaseHead):
    """OpenPose's multi-stage PAF + heatmap head with intermediate supervision.

    Args:
        in_channels: the backbone's feature channels.
        num_keypoints: heatmap channels (the dataset's keypoints).
        decoder: the :class:`PartAffinityFieldLabel` codec (its ``limbs`` give the field
            channels: two per limb).
        num_stages: OpenPose stages (DepthPose: 4).
        paf_weight, heatmap_weight: weights of the two L2 terms.
    """

    def __init__(self, in_channels: int, num_keypoints: int, decoder: dict,
                 num_stages: int = 4, paf_weight: float = 1.0, heatmap_weight: float = 1.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.decoder = KEYPOINT_CODECS.build(decoder)
        self.num_keypoints = int(num_keypoints)
        self.num_pafs = 2 * len(self.decoder.limbs)
        if not self.num_pafs:
            raise ValueError("PAFHead: the codec has no limbs (the dataset's skeleton)")
        self.paf_weight, self.heatmap_weight = paf_weight, heatmap_weight
        later = in_channels + self.num_pafs + self.num_keypoints
        self.paf_stages = nn.ModuleList(
            _stage(in_channels if s == 0 else later, self.num_pafs, s == 0)
            for s in range(num_stages))
        self.heatmap_stages = nn.ModuleList(
            _stage(in_channels if s == 0 else later, self.num_keypoints, s == 0)
            for s in range(num_stages))

    def stages(self, feats) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(fields, heatmaps) of every stage."""
        x = feats[-1]
        out, inp = [], x
        for paf_stage, heatmap_stage in zip(self.paf_stages, self.heatmap_stages, strict=True):
            paf, heat = paf_stage(inp), heatmap_stage(inp)
            out.append((paf, heat))
            inp = torch.cat([x, paf, heat], dim=1)
        return out

    def forward(self, feats):
        return self.stages(feats)[-1]

    def loss(self, feats, batch_data_samples, train_cfg: dict | None = None) -> dict:
        gt_paf = torch.stack([d.gt_fields.pafs for d in batch_data_samples])
        gt_heat = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples])
        loss_paf = loss_heat = 0.0
        for paf, heat in self.stages(feats):
            loss_paf = loss_paf + F.mse_loss(paf, gt_paf.to(paf))
            loss_heat = loss_heat + F.mse_loss(heat, gt_heat.to(heat))
        return {"loss_paf": self.paf_weight * loss_paf,
                "loss_heatmap": self.heatmap_weight * loss_heat}

    # -- prediction ------------------------------------------------------------------------
    def _flip_back(self, paf: torch.Tensor, heat: torch.Tensor, flip_indices
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Maps of a horizontally flipped image in the original frame: joints swap with their
        flip partners; limb (a, b) reads the flipped image's limb (flip[a], flip[b]) with the
        x component negated (both negated when the skeleton stores it as (flip[b], flip[a])).
        Limbs without a mirrored partner give None (only the unflipped fields are used)."""
        heat = heat.flip(-1)[:, list(flip_indices)]
        paf = paf.flip(-1)
        index = {limb: i for i, limb in enumerate(self.decoder.limbs)}
        out = torch.empty_like(paf)
        for i, (a, b) in enumerate(self.decoder.limbs):
            fa, fb = flip_indices[a], flip_indices[b]
            if (fa, fb) in index:
                j, sign = index[(fa, fb)], 1.0
            elif (fb, fa) in index:
                j, sign = index[(fb, fa)], -1.0
            else:
                return None, heat
            out[:, 2 * i] = -sign * paf[:, 2 * j]
            out[:, 2 * i + 1] = sign * paf[:, 2 * j + 1]
        return out, heat

    def predict(self, feats, batch_data_samples, test_cfg: dict | None = None):
        test_cfg = test_cfg or {}
        if test_cfg.get("flip_test", False):
            orig, flipped = feats
            paf, heat = self.forward(orig)
            flip_indices = batch_data_samples[0].metainfo["flip_indices"]
            fpaf, fheat = self._flip_back(*self.forward(flipped), flip_indices)
            heat = (heat + fheat) / 2
            paf = paf if fpaf is None else (paf + fpaf) / 2
        else:
            paf, heat = self.forward(feats)
        return self.decode_maps(paf, heat, batch_data_samples, test_cfg.get("paf_decode"))

    def decode_maps(self, paf: torch.Tensor, heat: torch.Tensor, batch_data_samples,
                    thresholds: dict | None = None) -> list[InstanceData]:
        """People of each image: the maps upsampled bicubically to the network input (the
        paper: 640x480), then OpenPose's greedy decoding; keypoints in input pixels.

        ``thresholds`` (``test_cfg.paf_decode``) override the codec's decoding thresholds
        (``peak_thr``, ``paf_thr``, ``min_above``, ``min_parts``, ``min_score``) for this
        prediction, as OpenPose's demo parameters do."""
        unknown = set(thresholds or {}) - set(DECODE_THRESHOLDS)
        if unknown:
            raise ValueError(f"test_cfg.paf_decode: unknown {sorted(unknown)}; one of "
                             f"{list(DECODE_THRESHOLDS)}")
        decoder = copy.copy(self.decoder)
        for key, value in (thresholds or {}).items():
            setattr(decoder, key, value)
        out = []
        for i, sample in enumerate(batch_data_samples):
            w, h = (int(v) for v in sample.metainfo["input_size"])
            maps = F.interpolate(torch.cat([paf[i:i + 1], heat[i:i + 1]], 1), size=(h, w),
                                 mode="bicubic", align_corners=False)[0].detach().cpu().numpy()
            keypoints, scores = decoder.decode(maps[self.num_pafs:], maps[:self.num_pafs],
                                                    scale=1.0)
            # map pixel i is input pixel i * s (the codec's convention); bicubic upsampling
            # (half-pixel centres) put it at (i + 0.5) * s - 0.5
            s = np.array([w, h], np.float32) / np.array(paf.shape[-1:-3:-1], np.float32)
            keypoints = keypoints + 0.5 * (1 - s)
            person = (scores.sum(1) / np.maximum((scores > 0).sum(1), 1)).astype(np.float32)
            out.append(InstanceData(keypoints=keypoints, keypoint_scores=scores,
                                    bbox_scores=person))
        return out


@MODELS.register_module()
class DepthPoseEstimator(BottomupPoseEstimator):
    """MMPose's bottom-up estimator around :class:`DepthPoseBackbone` and :class:`PAFHead`,
    adding the super-resolution L2 loss (``sr_weight``) when the backbone has the branch."""

    def __init__(self, *args, sr_weight: float = 1.0, **kw) -> None:
        super().__init__(*args, **kw)
        self.sr_weight = sr_weight

    def extract_feat(self, inputs: torch.Tensor):
        feats, _ = self.backbone(inputs)
        return feats

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        feats, recon = self.backbone(inputs)
        losses = self.head.loss(feats, data_samples, train_cfg=self.train_cfg)
        if recon is not None:  # channel 1: the full-resolution depth (PairAsChannels)
            losses["loss_sr"] = self.sr_weight * reconstruction_loss(recon, inputs[:, 1:2])
        return losses


@TRANSFORMS.register_module()
class PairAsChannels(BaseTransform):
    """Put channel 0 of ``img_pair`` (the full-resolution depth, loaded by
    ``LoadPairedImage``) into channel 1 of ``img``, so that every later transform (affine,
    flip) moves input and reconstruction target together."""

    def transform(self, results: dict) -> dict:
        img = results["img"].copy()
        img[..., 1] = results.pop("img_pair")[..., 0]
        results["img"] = img
        return results

"""ExLPose's method: lighting-specific BatchNorm (LSBN) and learning using privileged
information (LUPI), after Lee et al., "Human Pose Estimation in Extremely Low-Light
Conditions" (CVPR 2023) and the behaviour of its released code (shared notes, models.md).

One network sees each training person twice, in a low-light capture and in its well-lit twin
(the same crop and scale on both). Every BatchNorm of the backbone keeps two sets of statistics
and affine parameters, low-light (0) and well-lit (1), chosen per batch; the head's BatchNorms
are shared. The loss is the pose loss of both passes plus the LUPI term: per sample and per
backbone stage the Gram matrices (C x C) of the two passes' features, MSE between the
*detached* well-lit Gram (the teacher) and the low-light one, divided by h^2 w^2, weighted 0.2
per stage, summed over the batch, divided by 4, times 1e-4. Inputs: the low-light image is
rescaled to a per-image mean of 0.4 (of 255) and divided by 255; the well-lit image is divided
by 255 and normalised with ExLPose's mean and std.

What differs from the released code: the backbone is any MMPose backbone (the stages LUPI
reads are named in the config) and the head is MMPose's, not CPN's GlobalNet/RefineNet.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpose.datasets.transforms import TopdownAffine
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS, TRANSFORMS
from mmpose.structures.bbox import get_udp_warp_matrix, get_warp_matrix
from torch import nn

from benchmark.models.ext.transforms import LoadModalityImage

LOW_LIGHT, WELL_LIT = 0, 1
#: ExLPose's well-lit normalisation (RGB, of [0, 1] inputs) and low-light target mean.
WL_MEAN = (0.3457, 0.3460, 0.3463)
WL_STD = (0.1477, 0.1482, 0.1483)
LL_TARGET_MEAN = 0.4


class LSBNBatchNorm(nn.BatchNorm2d):
    """A BatchNorm with a second set of statistics and affine parameters (``wl``).

    The module's own parameters are the low-light set, so a plain checkpoint (ImageNet
    weights, a cell trained on one modality) loads into it unchanged; ``wl`` is the well-lit
    set. ``domain`` selects the set for the next forward.
    """

    def __init__(self, num_features: int, **kw) -> None:
        super().__init__(num_features, **kw)
        self.wl = nn.BatchNorm2d(num_features, **kw)
        self.domain = LOW_LIGHT

    @classmethod
    def from_bn(cls, bn: nn.BatchNorm2d) -> LSBNBatchNorm:
        new = cls(bn.num_features, eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                  track_running_stats=bn.track_running_stats)
        new.load_state_dict(bn.state_dict(), strict=False)
        new.copy_to_well_lit()
        return new.to(bn.weight.device if bn.affine else "cpu")

    def copy_to_well_lit(self) -> None:
        """Both sets start from the same (pretrained) weights, as in ExLPose."""
        own = {k: v for k, v in self.state_dict().items() if not k.startswith("wl.")}
        self.wl.load_state_dict(own)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wl(x) if self.domain == WELL_LIT else super().forward(x)


def convert_lsbn(module: nn.Module) -> int:
    """Replace every BatchNorm2d below ``module`` by an :class:`LSBNBatchNorm`; returns how
    many were replaced."""
    count = 0
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d) and not isinstance(child, LSBNBatchNorm):
            setattr(module, name, LSBNBatchNorm.from_bn(child))
            count += 1
        elif not isinstance(child, LSBNBatchNorm):
            count += convert_lsbn(child)
    return count


def set_domain(module: nn.Module, domain: int) -> None:
    for m in module.modules():
        if isinstance(m, LSBNBatchNorm):
            m.domain = domain


def gram(features: torch.Tensor) -> torch.Tensor:
    """Per-sample Gram matrices (B x C x C) of B x C x H x W features."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2)


def lupi_loss(low_light: list[torch.Tensor], well_lit: list[torch.Tensor],
              stage_weight: float = 0.2, scale: float = 1e-4) -> torch.Tensor:
    """ExLPose's LUPI term; the well-lit Grams are detached (no gradient into that pass)."""
    total = low_light[0].new_zeros(())
    for ll, wl in zip(low_light, well_lit, strict=True):
        _, _, h, w = ll.shape
        mse = ((gram(wl).detach() - gram(ll)) ** 2).mean(dim=(1, 2)) / (h * h * w * w)
        total = total + stage_weight * mse.sum()
    return scale * total / 4


@MODELS.register_module()
class ExLPoseEstimator(TopdownPoseEstimator):
    """A top-down estimator trained on (low-light, well-lit) pairs with LSBN and LUPI.

    Training inputs are 6-channel (low-light BGR then well-lit BGR, stacked by
    :class:`StackPair`); test inputs are 3-channel, normalised and routed through the BN set
    of ``test_modality`` (``lowlight``: LL and OCN sets; ``rgb``: the WL set).
    ``lupi_weight=0`` trains LSBN alone.
    """

    def __init__(self, *args, lupi_weight: float = 1.0,
                 lupi_stages: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4"),
                 test_modality: str = "lowlight", **kw) -> None:
        super().__init__(*args, **kw)
        self.lupi_weight = float(lupi_weight)
        self.lupi_stages = tuple(lupi_stages)
        self.test_modality = test_modality
        self.num_lsbn = convert_lsbn(self.backbone)

    def init_weights(self) -> None:
        super().init_weights()
        for m in self.backbone.modules():
            if isinstance(m, LSBNBatchNorm):
                m.copy_to_well_lit()

    @staticmethod
    def normalise(x: torch.Tensor, domain: int) -> torch.Tensor:
        """BGR 0-255 -> RGB network input of the lighting (see the module docstring)."""
        x = x[:, [2, 1, 0]].float()
        if domain == LOW_LIGHT:
            mean = x.mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
            return x * (LL_TARGET_MEAN / mean)
        m = x.new_tensor(WL_MEAN).view(1, 3, 1, 1)
        s = x.new_tensor(WL_STD).view(1, 3, 1, 1)
        return (x / 255 - m) / s

    @contextmanager
    def _stages(self, out: list[torch.Tensor]):
        mods = dict(self.backbone.named_children())
        missing = [s for s in self.lupi_stages if s not in mods]
        if missing:
            raise KeyError(f"ExLPoseEstimator.lupi_stages {missing}: the backbone has "
                           f"{sorted(mods)}")

        def keep(_m, _i, output):
            out.extend(o for o in (output if isinstance(output, (list, tuple)) else [output])
                       if isinstance(o, torch.Tensor) and o.dim() == 4)

        handles = [mods[s].register_forward_hook(keep) for s in self.lupi_stages]
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def _pass(self, x: torch.Tensor, domain: int):
        set_domain(self.backbone, domain)
        stages: list[torch.Tensor] = []
        with self._stages(stages):
            feats = self.extract_feat(self.normalise(x, domain))
        return feats, stages

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        if inputs.shape[1] != 6:
            raise ValueError(f"ExLPoseEstimator trains on paired 6-channel inputs, got "
                             f"{inputs.shape[1]} channels (is StackPair in the pipeline?)")
        feats_ll, stages_ll = self._pass(inputs[:, :3], LOW_LIGHT)
        feats_wl, stages_wl = self._pass(inputs[:, 3:], WELL_LIT)
        set_domain(self.backbone, LOW_LIGHT)
        losses = dict(self.head.loss(feats_ll, data_samples, train_cfg=self.train_cfg))
        wl = self.head.loss(feats_wl, data_samples, train_cfg=self.train_cfg)
        losses |= {f"{k}_wl": v for k, v in wl.items() if k.startswith("loss")}
        if self.lupi_weight:
            losses["loss_lupi"] = self.lupi_weight * lupi_loss(stages_ll, stages_wl)
        return losses

    def _test_domain(self) -> int:
        return WELL_LIT if self.test_modality == "rgb" else LOW_LIGHT

    def predict(self, inputs: torch.Tensor, data_samples):
        domain = self._test_domain()
        set_domain(self.backbone, domain)
        return super().predict(self.normalise(inputs, domain), data_samples)

    def _forward(self, inputs: torch.Tensor, data_samples=None):
        domain = self._test_domain()
        set_domain(self.backbone, domain)
        return super()._forward(self.normalise(inputs[:, :3], domain), data_samples)


@TRANSFORMS.register_module()
class LoadPairedImage(BaseTransform):
    """Load the well-lit twin of ``results['img_id']`` into ``results['img_pair']``.

    ``ann_file`` is the partner modality's view of the split (the composer fills it in with
    ``img_root`` and ``loader``): same image ids, the partner's file names.
    """

    _paths: dict[str, dict[int, str]] = {}

    def __init__(self, modality: str = "rgb", ann_file: str = "", img_root: str = "",
                 loader: dict | None = None) -> None:
        self.modality, self.ann_file, self.img_root = modality, ann_file, img_root
        kw = {k: v for k, v in (loader or {}).items() if k != "type"}
        self.loader = LoadModalityImage(**kw)

    def _path(self, img_id: int) -> str:
        if self.ann_file not in self._paths:
            images = json.loads(Path(self.ann_file).read_text())["images"]
            self._paths[self.ann_file] = {i["id"]: i["file_name"] for i in images}
        try:
            return str(Path(self.img_root) / self._paths[self.ann_file][img_id])
        except KeyError:
            raise KeyError(f"{self.ann_file}: no {self.modality} partner for image "
                           f"{img_id}") from None

    def transform(self, results: dict) -> dict:
        twin = self.loader.transform({"img_path": self._path(int(results["img_id"]))})
        if twin["img"].shape[:2] != results["img"].shape[:2]:
            raise ValueError(f"image {results['img_id']}: the {self.modality} partner is "
                             f"{twin['img'].shape[:2]}, the image {results['img'].shape[:2]}")
        results["img_pair"] = twin["img"]
        return results


@TRANSFORMS.register_module()
class PairedTopdownAffine(TopdownAffine):
    """TopdownAffine that warps ``img_pair`` with the same matrix (same crop and scale)."""

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        w, h = self.input_size
        center, scale = results["bbox_center"][0], results["bbox_scale"][0]
        rot = results["bbox_rotation"][0] if "bbox_rotation" in results else 0.0
        mat = (get_udp_warp_matrix(center, scale, rot, output_size=(w, h)) if self.use_udp
               else get_warp_matrix(center, scale, rot, output_size=(w, h)))
        results["img_pair"] = cv2.warpAffine(results["img_pair"], mat, (int(w), int(h)),
                                             flags=cv2.INTER_LINEAR)
        return results


@TRANSFORMS.register_module()
class StackPair(BaseTransform):
    """The network input of a pair: low-light and well-lit channels stacked (6 channels)."""

    def transform(self, results: dict) -> dict:
        results["img"] = np.concatenate([results["img"], results.pop("img_pair")], axis=2)
        return results

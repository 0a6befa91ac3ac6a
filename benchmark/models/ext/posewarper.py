"""PoseWarper, after Bertasius et al., "Learning Temporal Pose Estimation from Sparsely-Labeled
Videos" (NeurIPS 2019), on MMPose's ``PoseWarperNeck``.

A backbone turns every frame of a clip into K pose heatmaps (the neck's ``trans_layer``, the
"final layer" of HRNet). The difference of the key frame A's heatmaps and a supporting frame
B's goes through a stack of residual blocks and five dilated 3x3 convs that predict deformable
offsets; five deformable convs warp B's heatmaps toward A with them and are averaged (paper,
sec. 3). Training is sparse: one labelled A, one B drawn within +-3 frames, the loss on A's
ground truth against *B's warped* heatmaps (frame weights ``(0, 1)``), so the offsets must
learn the motion. At test time the key frame and its +-2 neighbours are each warped toward A
and summed with frame weights (temporal aggregation, sec. 4.1). With GT heatmaps in place of
B's features, the same offsets propagate labels from a labelled frame to an unlabelled one
(sec. 4.2, :func:`propagate`).

Frames travel as one image: :class:`LoadSupportingFrames` makes ``results['img']`` the list
``[key, *supporting]`` (MMPose's own ``RandomFlip`` and ``TopdownAffine`` apply one flip and
one crop to every image of such a list), :class:`StackFrames` stacks them as channels
(3 x frames) so MMPose's collate batches them, and :class:`MultiFrameDataPreprocessor`
converts and normalises each frame's 3 channels. The estimator splits the channels again and
runs the backbone on all frames as one batch.

What differs from the paper and MMPose 0.x's recipe: one stage, end to end from a COCO
HRNet-W48, instead of a PoseTrack-finetuned HRNet frozen while the warping trains
(``configs/models/posewarper_hrnet_w48.py`` says how to get that back); supporting frames
outside the video are clamped to the nearest frame on disk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from mmcv.ops import DeformConv2d
from mmcv.transforms import BaseTransform
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS, TRANSFORMS
from mmpose.structures import PoseDataSample

#: Training: one supporting frame within +-3 of the labelled one (paper, sec. 3).
TRAIN_FRAME_RANGE = 3
#: Test: the key frame's +-2 neighbours (paper, sec. 4.1; MMPose 0.x ``frame_indices_test``).
TEST_OFFSETS = (-2, -1, 1, 2)
#: Frame weights, key frame first, then the supporting frames by ascending offset. Training
#: scores only B warped toward A; the test weights are MMPose 0.x's published recipe.
TRAIN_FRAME_WEIGHT = (0.0, 1.0)
TEST_FRAME_WEIGHT = (0.3, 0.1, 0.25, 0.25, 0.1)


def neighbour_frame(path: str | Path, offset: int) -> tuple[Path, int]:
    """The frame ``offset`` frames from ``path`` (``.../<video>/<frame:06d>.jpg``) and the
    offset actually taken: past the video's edges (or a frame missing on disk) the nearest
    existing frame toward the key frame, the key frame itself at worst."""
    path = Path(path)
    if not path.stem.isdigit():
        raise ValueError(f"{path}: supporting frames need numbered frame files "
                         "(<video>/<frame:06d>.jpg, as PoseTrack releases them)")
    index, width = int(path.stem), len(path.stem)
    step = 1 if offset > 0 else -1
    for taken in range(offset, 0, -step):
        if index + taken < 0:
            continue
        cand = path.with_name(f"{index + taken:0{width}d}{path.suffix}")
        if cand.is_file():
            return cand, taken
    return path, 0


@TRANSFORMS.register_module()
class LoadSupportingFrames(BaseTransform):
    """Load the supporting frames of the key frame ``results['img_path']`` (already loaded)
    and make ``results['img']`` the list ``[key, *supporting]``.

    ``offsets`` fixes them (test: ``(-2, -1, 1, 2)``); else one offset in
    ``[-frame_range, frame_range]`` other than 0 is drawn from NumPy's global RNG, which MMPose
    (and mpbench's ``SeededCocoDataset``, per sample) seeds. ``loader`` reads them: the config
    writes ``dict(type="LoadImage")`` and the composer's ``replace_loaders``, which rewrites
    every ``LoadImage`` mapping of a config, nested ones included, puts the modality's
    ``LoadModalityImage`` there as it does for the key frame, so both read alike.
    ``results['frame_offsets']`` holds the offsets taken (clamped at the video's edges).
    """

    def __init__(self, offsets: Sequence[int] | None = None,
                 frame_range: int = TRAIN_FRAME_RANGE, loader: dict | None = None) -> None:
        self.offsets = tuple(int(o) for o in offsets) if offsets is not None else None
        self.frame_range = int(frame_range)
        if self.offsets is None and self.frame_range < 1:
            raise ValueError("LoadSupportingFrames: give offsets or a frame_range >= 1")
        self.loader_cfg = dict(loader or {"type": "LoadImage"})
        self.loader = TRANSFORMS.build(self.loader_cfg)

    def draw_offsets(self) -> tuple[int, ...]:
        if self.offsets is not None:
            return self.offsets
        choices = [o for o in range(-self.frame_range, self.frame_range + 1) if o]
        return (choices[np.random.randint(len(choices))],)

    def transform(self, results: dict) -> dict:
        key = results["img"]
        frames, taken = [key], []
        for offset in self.draw_offsets():
            path, off = neighbour_frame(results["img_path"], offset)
            img = key if off == 0 else self.loader.transform({"img_path": str(path)})["img"]
            if img.shape != key.shape:
                raise ValueError(f"{path}: frame {img.shape} differs from the key frame "
                                 f"{results['img_path']} {key.shape}")
            frames.append(img)
            taken.append(off)
        results["img"] = frames
        results["frame_offsets"] = taken
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(offsets={self.offsets}, frame_range={self.frame_range},"
                f" loader={self.loader!r})")


@TRANSFORMS.register_module()
class StackFrames(BaseTransform):
    """The network input of a clip: its frames (cropped alike) stacked as channels, key frame
    first, so MMPose's collate and data preprocessor batch it as one image."""

    def transform(self, results: dict) -> dict:
        frames = results["img"]
        if not isinstance(frames, list):
            raise ValueError("StackFrames expects the frame list of LoadSupportingFrames")
        if len({f.shape for f in frames}) != 1:
            raise ValueError(f"StackFrames: frames of different shapes "
                             f"{[f.shape for f in frames]} (crop them with TopdownAffine)")
        results["img"] = np.concatenate(frames, axis=2)
        results["num_frames"] = len(frames)
        return results


@MODELS.register_module()
class MultiFrameDataPreprocessor(PoseDataPreprocessor):
    """``PoseDataPreprocessor`` for frames stacked as channels: BGR->RGB and mean/std (3
    values, the modality's, as the composer sets them) apply to each frame's 3 channels.

    MMEngine's would pick 3 channels of the stack (``x[[2, 1, 0]]``) and refuse 3-value
    statistics for more than 3 channels.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        convert, normalise = self._channel_conversion, self._enable_normalize
        self._channel_conversion = self._enable_normalize = False
        try:
            data = super().forward(data, training)
        finally:
            self._channel_conversion, self._enable_normalize = convert, normalise
        x = data["inputs"]
        b, c, h, w = x.shape
        if c % 3:
            raise ValueError(f"MultiFrameDataPreprocessor: {c} channels, not 3 per frame")
        x = x.view(b, c // 3, 3, h, w)
        if convert:
            x = x.flip(2)
        if normalise:
            x = (x - self.mean.view(1, 1, 3, 1, 1)) / self.std.view(1, 1, 3, 1, 1)
        data["inputs"] = x.reshape(b, c, h, w)
        return data


def _last(feats) -> torch.Tensor:
    return feats[-1] if isinstance(feats, (list, tuple)) else feats


@MODELS.register_module()
class PoseWarperEstimator(TopdownPoseEstimator):
    """Backbone -> ``PoseWarperNeck`` (heatmaps, offsets, warping, aggregation) ->
    ``HeatmapHead`` without layers of its own (``final_layer=None``: loss and decoding).

    The keypoint count K is the head's ``out_channels`` (the family adapter sets it); the
    neck's ``out_channels`` (its heatmaps) and ``deform_groups`` (one offset field per
    keypoint, as in the paper) and the head's ``in_channels`` follow it here, so the config
    leaves them out. Inputs are 3 x frames channels (:class:`StackFrames`); 3 channels (one
    still image) are warped onto themselves.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, *,
                 train_frame_weight: Sequence[float] = TRAIN_FRAME_WEIGHT,
                 test_frame_weight: Sequence[float] = TEST_FRAME_WEIGHT, **kw) -> None:
        k = int(head["out_channels"])
        neck = dict(neck)
        if neck.get("out_channels", k) != k:
            raise ValueError(f"PoseWarperEstimator: the neck's out_channels "
                             f"{neck['out_channels']} must be the keypoint count {k} (leave it "
                             "out: it follows the head's out_channels)")
        neck["out_channels"] = k
        neck.setdefault("deform_groups", k)
        super().__init__(backbone=backbone, neck=neck, head=dict(head, in_channels=k), **kw)
        self.train_frame_weight = self._weights(train_frame_weight)
        self.test_frame_weight = self._weights(test_frame_weight)
        self.im2col_step = self.neck.im2col_step

    @staticmethod
    def _weights(weights: Sequence[float]) -> tuple[float, ...]:
        weights = tuple(float(w) for w in weights)
        if min(weights) < 0 or not math.isclose(sum(weights), 1.0):
            raise ValueError(f"frame weights {weights}: non-negative, summing to 1")
        return weights

    def frame_weight(self, num_frames: int) -> tuple[float, ...]:
        """The neck's frame weights for a clip of ``num_frames`` (key frame first)."""
        weights = self.train_frame_weight if self.training else self.test_frame_weight
        if num_frames == len(weights):
            return weights
        if num_frames == 1:
            return (1.0,)
        raise ValueError(f"PoseWarperEstimator: {num_frames} frames, but "
                         f"{'training' if self.training else 'testing'} weighs {len(weights)} "
                         "(LoadSupportingFrames' offsets and the frame weights disagree)")

    def fit_im2col(self, batch: int) -> None:
        """MMCV's deformable conv needs a batch divisible by its ``im2col_step`` (80 in the
        recipe): a last, smaller batch (or 5 frames of one) would fail."""
        for conv in self.neck.deform_conv_layers:
            conv.im2col_step = math.gcd(self.im2col_step, batch)

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor]:
        b, c, h, w = inputs.shape
        if c % 3:
            raise ValueError(f"PoseWarperEstimator: {c} input channels, not 3 per frame "
                             "(is StackFrames in the pipeline?)")
        n = c // 3
        weights = self.frame_weight(n)
        frames = inputs.reshape(b, n, 3, h, w).transpose(0, 1).reshape(n * b, 3, h, w)
        feats = _last(self.backbone(frames))  # frame-major: the neck's batch layout
        self.fit_im2col(n * b)
        return (self.neck([feats], list(weights)),)

    def init_weights(self) -> None:
        """``PoseWarperNeck.init_weights`` (identity deformable kernels, zero offset convs)
        replaces each deformable conv's weight by a new Parameter: MMEngine's ``init_weights``
        refuses that (``update_init_info``), and the optimizer, built before, would keep
        training the old ones. Its values are copied into the original Parameters here, and
        the neck is marked initialised so that MMEngine's loop leaves it alone."""
        if not getattr(self.neck, "is_init", False):
            kept = {m: m.weight for m in self.neck.modules() if isinstance(m, DeformConv2d)}
            self.neck.init_weights()
            for conv, weight in kept.items():
                if conv.weight is not weight:
                    with torch.no_grad():
                        weight.copy_(conv.weight)
                    conv.weight = weight
            self.neck.is_init = True
        super().init_weights()


def propagate(model: PoseWarperEstimator, frame_a: torch.Tensor, frame_b: torch.Tensor,
              heatmaps_a: torch.Tensor) -> torch.Tensor:
    """Warp frame A's (ground-truth) pose heatmaps into frame B (paper, sec. 4.2).

    ``frame_a``/``frame_b``: N x 3 x H x W network inputs (normalised, same crop);
    ``heatmaps_a``: N x K x h x w at the backbone's output size. The offsets come from
    ``f_B - f_A`` (B is the reference, A the frame warped toward it, as in training) and
    warp the heatmaps instead of A's features, averaged over the dilations as in the neck.
    """
    neck = model.neck
    n = frame_a.shape[0]
    feats = neck.trans_layer(_last(model.backbone(torch.cat([frame_b, frame_a]))))
    if feats.shape[2:] != heatmaps_a.shape[2:]:
        raise ValueError(f"propagate: heatmaps {tuple(heatmaps_a.shape[2:])}, the features "
                         f"{tuple(feats.shape[2:])}")
    diff = neck.offset_feats(feats[:n] - feats[n:])
    model.fit_im2col(n)
    out = 0
    for offsets, warp in zip(neck.offset_layers, neck.deform_conv_layers, strict=True):
        out = out + warp(heatmaps_a.to(feats.dtype), offsets(diff)) / neck.num_offset_layers
    return out


def propagate_keypoints(model: PoseWarperEstimator, img_a: np.ndarray, img_b: np.ndarray,
                        keypoints_a: np.ndarray, visible_a: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """One person's keypoints (K x 2, in the crop) of labelled frame A, moved to frame B.

    ``img_a``/``img_b``: the person's crops of A and B (model input size, as the pipeline's
    ``TopdownAffine`` gives them, same box). A's keypoints become heatmaps with the model's
    codec, :func:`propagate` warps them and the codec decodes them: B's keypoints (K x 2, in
    the crop) and scores (K; 0 where A's keypoint was not labelled).
    """
    codec = model.head.decoder
    kpts = np.asarray(keypoints_a, np.float32).reshape(1, -1, 2)
    vis = np.ones(kpts.shape[:2], np.float32) if visible_a is None else \
        np.asarray(visible_a, np.float32).reshape(1, -1)
    heatmaps = torch.from_numpy(codec.encode(kpts, vis)["heatmaps"])[None]
    stacked = np.concatenate([img_a, img_b], axis=2).transpose(2, 0, 1)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            data = model.data_preprocessor({"inputs": [torch.from_numpy(stacked.copy())],
                                            "data_samples": [PoseDataSample()]})
            x = data["inputs"]
            warped = propagate(model, x[:, :3], x[:, 3:], heatmaps.to(x.device))
    finally:
        model.train(was_training)
    keypoints, scores = codec.decode(warped[0].cpu().numpy())
    return keypoints[0], scores[0] * (vis[0] > 0)

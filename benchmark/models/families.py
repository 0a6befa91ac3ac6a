"""Model families: where each kind of MMPose config keeps what a benchmark cell changes.

Composing a cell rewrites a model config for a dataset and a modality: the keypoint count, the
keypoint metadata, the image loader, the annotation files, the input size (tests shrink it).
MMPose configs keep these in different places per family (``out_channels`` of a heatmap head,
``num_joints`` of a regression head, ``num_keypoints`` of bottom-up and one-stage heads), and
copy the codec's sizes into the head's decoder and every pipeline when a config loads. An
:class:`Adapter` per family knows those places, so :func:`adapt` is one call for any model.

Every model config declares its family (``mpbench_family = "..."``); the declaration is
checked against the config's estimator and head, so a config cannot silently be adapted as
another family.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmark.errors import MpbenchError

#: Config keys holding image or feature-map sizes derived from the input size.
SIZE_KEYS = ("input_size", "img_scale", "heatmap_size", "in_featuremap_size")


@dataclass(frozen=True)
class Adapter:
    """What one family of configs looks like."""

    name: str
    #: the estimator types of the family (MMPose's, and mpbench's methods built on them)
    estimators: tuple[str, ...]
    heads: tuple[str, ...]
    #: the head's keyword for the number of keypoints
    keypoint_key: str
    #: MMPose dataset mode: top-down families crop person boxes, the others see whole images
    data_mode: str
    #: the family keeps its config's input normalisation (it trains on raw pixels)
    own_normalisation: bool = False
    #: SLURM resources by model size (``gpus``, ``mem_mb``, ``runtime`` minutes), for the full
    #: published schedule on one GPU
    resources: dict[str, dict[str, int]] = field(default_factory=dict)
    #: family-specific rewrites for a dataset and modality (``fix(cfg, spec, modality)``:
    #: a ``DatasetSpec`` and a ``ModalitySpec``)
    fix: Callable[[Any, Any, Any], None] | None = None

    @property
    def top_down(self) -> bool:
        return self.data_mode == "topdown"


def _dekr_fix(cfg: Any, spec: Any, modality: Any) -> None:
    """DEKR's keypoint rescoring net is trained on COCO's 17 joints and limb pairs: another
    layout has no rescoring (as MMPose's note in the config says)."""
    if spec.layout.name != "coco17" and "rescore_cfg" in cfg.model.head:
        cfg.model.head.rescore_cfg = None


def _paf_fix(cfg: Any, spec: Any, modality: Any) -> None:
    """DepthPose (benchmark.models.ext.depthpose): the fields follow the dataset's skeleton;
    depth is read as one channel; the super-resolution branch undoes the modality's own
    subsampling factor (its heatmaps are at the low-resolution size) and reconstructs the
    modality it was derived from."""
    backbone = cfg.model.backbone
    backbone.in_channels = 1 if modality.channels == 1 else 3
    w, h = _input_size(cfg)
    if backbone.get("sr"):
        factor = modality.downsample
        if factor <= 1 or modality.derived_from is None:
            raise MpbenchError(f"{cfg.filename}: the super-resolution branch needs a "
                               f"low-resolution modality; {spec.name}/{modality.name} is at "
                               f"full resolution")
        if w % factor or h % factor:
            raise MpbenchError(f"{cfg.filename}: input {w}x{h} is not a multiple of "
                               f"{modality.name}'s factor {factor}")
        backbone.sr_factor = factor
        heatmap_size = (w // factor, h // factor)
    else:
        heatmap_size = (w // 8, h // 8)  # the VGG trunk's three poolings
    for node in walk(cfg._cfg_dict):
        if node.get("type") == "PartAffinityFieldLabel":
            node["limbs"] = [list(limb) for limb in spec.layout.skeleton_indices]
            node["heatmap_size"] = heatmap_size
        if node.get("type") == "LoadPairedImage":
            node["modality"] = modality.derived_from
        if node.get("type") == "BottomupResize":  # the padded input still pools exactly
            node["size_factor"] = math.lcm(8, int(backbone.get("sr_factor") or 8))


_RES = {  # one GPU, the published schedule (docs/models.md lists them)
    "xs": {"gpus": 1, "mem_mb": 16000, "runtime": 12 * 60},
    "s": {"gpus": 1, "mem_mb": 24000, "runtime": 24 * 60},
    "m": {"gpus": 1, "mem_mb": 32000, "runtime": 48 * 60},
    "l": {"gpus": 1, "mem_mb": 48000, "runtime": 72 * 60},
    "h": {"gpus": 1, "mem_mb": 64000, "runtime": 120 * 60},
}
ADAPTERS: dict[str, Adapter] = {a.name: a for a in (
    Adapter("topdown_heatmap", ("TopdownPoseEstimator", "ExLPoseEstimator",
                                "PoseWarperEstimator"),
            ("HeatmapHead", "ViPNASHead", "CPMHead", "MSPNHead"), "out_channels", "topdown",
            resources=_RES),
    Adapter("simcc", ("TopdownPoseEstimator",), ("SimCCHead", "RTMCCHead"), "out_channels",
            "topdown", resources=_RES),
    Adapter("regression", ("TopdownPoseEstimator",), ("RLEHead", "RegressionHead",
                                                   "DSNTHead", "IntegralRegressionHead"),
            "num_joints", "topdown", resources=_RES),
    Adapter("bottomup", ("BottomupPoseEstimator",), ("DEKRHead", "CIDHead"), "num_keypoints",
            "bottomup", resources=_RES, fix=_dekr_fix),
    # Associative embedding predicts but cannot train in mmpose 1.3.2 (notes/models.md): zoo
    # checkpoints only.
    Adapter("associative_embedding", ("BottomupPoseEstimator",), ("AssociativeEmbeddingHead",),
            "num_keypoints", "bottomup", resources=_RES),
    # DepthPose (ORPose-Depth): OpenPose's part affinity fields, on depth
    Adapter("paf", ("DepthPoseEstimator",), ("PAFHead",), "num_keypoints", "bottomup",
            own_normalisation=True, resources=_RES, fix=_paf_fix),
    Adapter("onestage", ("BottomupPoseEstimator",), ("YOLOXPoseHead", "RTMOHead"),
            "num_keypoints", "bottomup", own_normalisation=True, resources=_RES),
)}


def family_of(cfg: Any, where: str = "model config") -> Adapter:
    """The declared family of a loaded config, checked against its estimator and head."""
    declared = cfg.get("mpbench_family") or _infer(cfg)
    if declared not in ADAPTERS:
        raise MpbenchError(f"{where}: unknown mpbench_family {declared!r}; one of "
                           f"{sorted(ADAPTERS)}")
    adapter = ADAPTERS[declared]
    head = cfg.model.get("head", {}).get("type")
    if cfg.model.type not in adapter.estimators or head not in adapter.heads:
        raise MpbenchError(f"{where}: declared family {declared!r} expects one of "
                           f"{list(adapter.estimators)} with one of {list(adapter.heads)}; the "
                           f"config has a {cfg.model.type} with {head}")
    return adapter


def _infer(cfg: Any) -> str | None:
    """The family of a config MMPose ships (zoo cells declare none)."""
    head = cfg.model.get("head", {}).get("type")
    return next((a.name for a in ADAPTERS.values()
                 if cfg.model.type in a.estimators and head in a.heads), None)


def walk(node: Any, seen: set[int] | None = None) -> Iterator[dict]:
    """Every mapping inside a config value (lists and nested dicts), each once even where a
    config shares one dict between places (``decoder=codec``)."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from walk(value, seen)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from walk(value, seen)


def replace_loaders(cfg: Any, loader: dict[str, Any]) -> int:
    """Every image-loading transform (pipelines, mosaic/mix-up pre-transforms, the pipelines
    of mode-switch hooks) of a config or of one pipeline becomes ``loader``; returns how many
    were replaced."""
    count = 0
    for node in walk(getattr(cfg, "_cfg_dict", cfg)):
        if node.get("type") in ("LoadImage", "LoadModalityImage"):
            node.clear()
            node.update(loader)
            count += 1
    return count


#: Augmentations that change colour (hue, saturation, RGB balance, photometric distortion):
#: meaningless on a single-channel modality replicated to three channels (thermal, depth), and
#: for depth they would rewrite the distances the image encodes.
COLOUR_TRANSFORMS = {"YOLOXHSVRandomAug", "mmdet.YOLOXHSVRandomAug", "PhotometricDistortion",
                     "mmdet.PhotometricDistortion"}
COLOUR_ALBUMENTATIONS = {"ColorJitter", "HueSaturationValue", "RGBShift", "ChannelShuffle",
                         "ToGray", "ToSepia", "RandomBrightnessContrast", "RandomGamma",
                         "CLAHE", "Equalize", "FancyPCA", "ChannelDropout", "InvertImg"}


def drop_colour_augmentations(cfg: Any) -> list[str]:
    """Remove colour augmentations from every pipeline (and from albumentations lists) of a
    config for a non-colour modality; returns what was removed."""
    removed: list[str] = []
    for node in list(walk(cfg._cfg_dict)):
        for key, value in list(node.items()):
            if not isinstance(value, list):  # pipelines, hooks' new pipelines, albumentations
                continue
            drop = COLOUR_ALBUMENTATIONS if node.get("type") == "Albumentation" else \
                COLOUR_TRANSFORMS
            kept = [t for t in value if not (isinstance(t, dict) and t.get("type") in drop)]
            removed += [t["type"] for t in value if t not in kept]
            node[key] = kept
    return removed


def set_metainfo_files(cfg: Any, meta_file: str) -> None:
    """Losses and assigners that read keypoint sigmas from a metainfo file (one-stage OKS
    losses) read the dataset's instead of COCO's."""
    for node in walk(cfg.model):
        if isinstance(node.get("metainfo"), str):
            node["metainfo"] = meta_file


def set_num_keypoints(cfg: Any, adapter: Adapter, num_keypoints: int) -> None:
    cfg.model.head[adapter.keypoint_key] = num_keypoints


def scale_input(cfg: Any, input_size: tuple[int, int]) -> None:
    """Change the input size (w, h) everywhere the config copied it: codec, head decoder,
    pipelines, mosaic scales, feature-map sizes, batch resize ranges, all in proportion."""
    old = _input_size(cfg)
    rw, rh = input_size[0] / old[0], input_size[1] / old[1]
    for node in walk(cfg._cfg_dict):
        for key in SIZE_KEYS:
            value = node.get(key)
            if isinstance(value, (list, tuple)) and len(value) == 2 and all(
                    isinstance(v, int) for v in value):
                node[key] = (max(1, round(value[0] * rw)), max(1, round(value[1] * rh)))
        img_size = node.get("img_size")  # vision transformers: (h, w), patch grid from it
        if isinstance(img_size, (list, tuple)) and len(img_size) == 2:
            node["img_size"] = (max(1, round(img_size[0] * rh)), max(1, round(img_size[1] * rw)))
        if node.get("type") == "BatchSyncRandomResize":
            lo, hi = node["random_size_range"]
            div = node.get("size_divisor", 32)
            node["random_size_range"] = (max(div, round(lo * rw / div) * div),
                                         max(div, round(hi * rw / div) * div))


def _input_size(cfg: Any) -> tuple[int, int]:
    codec = cfg.get("codec")
    if isinstance(codec, dict) and "input_size" in codec:
        return tuple(codec["input_size"])
    if isinstance(codec, (list, tuple)):  # configs with several codecs (RTMPose's SimCC)
        return tuple(codec[0]["input_size"])
    raise MpbenchError("model config: no codec input_size to scale from")


def input_size(cfg: Any) -> tuple[int, int]:
    """The model's input size (w, h)."""
    return _input_size(cfg)


def strip_pretrained(cfg: Any) -> list[str]:
    """Remove every ``Pretrained`` init (ImageNet backbones, DEKR's rescore net); returns the
    checkpoints that would have been loaded. Tests and from-scratch cells use it."""
    dropped = []
    for node in walk(cfg.model):
        init = node.get("init_cfg")
        inits = init if isinstance(init, list) else [init]
        if any(isinstance(i, dict) and i.get("type") == "Pretrained" for i in inits):
            dropped += [str(i.get("checkpoint")) for i in inits
                        if isinstance(i, dict) and i.get("type") == "Pretrained"]
            kept = [i for i in inits if not (isinstance(i, dict)
                                             and i.get("type") == "Pretrained")]
            node["init_cfg"] = kept[0] if len(kept) == 1 else (kept or None)
        if node.get("pretrained"):
            dropped.append(str(node["pretrained"]))
            node["pretrained"] = None
    return dropped


def resources(cfg: Any, adapter: Adapter) -> dict[str, int]:
    """The training job's resources: the config's ``mpbench_resources``, else the family's
    for the config's ``mpbench_size`` (default ``m``)."""
    own = cfg.get("mpbench_resources")
    if own:
        return dict(own)
    size = cfg.get("mpbench_size", "m")
    if size not in adapter.resources:
        raise MpbenchError(f"model config: mpbench_size {size!r}: one of "
                           f"{sorted(adapter.resources)}")
    return dict(adapter.resources[size])

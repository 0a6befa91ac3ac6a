"""Compose a benchmark cell's MMPose config: base model config + dataset + modality overlay.

No cell has a hand-written config. The base model config (``configs/models/<model>.py``) says
how to train; the dataset overlay, generated from the dataset spec, says what keypoints exist
(metainfo, sigmas, flip pairs, keypoint count) and which annotation files to read; the
modality overlay says where the images are and how to load and normalise them. The result is
dumped next to the checkpoints and its digest identifies the cell's MLflow run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from benchmark.cells import Cell, model_config_path
from benchmark.datasets import get_spec
from benchmark.datasets.spec import DatasetSpec, ModalitySpec
from benchmark.errors import MpbenchError
from benchmark.models.metainfo import check as check_metainfo

#: Normalisation used when a dataset has no ``processed/stats.json`` yet (ImageNet, 0-255).
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def dataset_overlay(spec: DatasetSpec, data_root: Path,
                    repo_root: Path | None = None) -> dict[str, Any]:
    """Keypoint metadata, derived from the dataset spec."""
    meta_file = check_metainfo(spec.name, repo_root)
    metainfo = {"from_file": str(meta_file.relative_to(repo_root or Path.cwd()))}
    overlay: dict[str, Any] = {
        "model.head.out_channels": spec.layout.num_keypoints,
        "train_dataloader.dataset.metainfo": metainfo,
        "val_dataloader.dataset.metainfo": metainfo,
        "test_dataloader.dataset.metainfo": metainfo,
    }
    if spec.protocol != "coco":
        # Training's validation (MMPose's CocoMetric) reads every GT person's ``area`` unless
        # told otherwise. Only COCO-protocol datasets carry one (the canonical form does not
        # require it: PoseTrack18, MPII and ExLPose have none), so the others use the box
        # area instead, as MMPose's CrowdPose configs do.
        overlay["val_evaluator.use_area"] = False
    return overlay


def annotation_overlay(spec: DatasetSpec, modality: str, data_root: Path,
                       train_annotations: str = "qa") -> dict[str, Any]:
    """The modality's views of the splits (file names under that modality's root).

    Training (and its validation) reads the ``train_annotations`` variant (QA-corrected by
    default); the test split is the official view, which evaluation scores against.
    """
    ann = {split: str(spec.modality_annotation_file(split, modality, data_root,
                                                    variant=train_annotations))
           for split in spec.splits}
    test = str(spec.modality_annotation_file(spec.eval_split, modality, data_root,
                                             variant="official"))
    val = ann["val"] if "val" in ann and spec.train_split != "val" else ann[spec.eval_split]
    return {
        "train_dataloader.dataset.ann_file": ann[spec.train_split],
        "val_dataloader.dataset.ann_file": val,
        "test_dataloader.dataset.ann_file": test,
        "val_evaluator.ann_file": val,
        "test_evaluator.ann_file": test,
    }


def load_transform(mod: ModalitySpec) -> dict[str, Any]:
    """The MMPose transform that reads one image of this modality as 3-channel uint8."""
    return {
        "type": "LoadModalityImage",
        "kind": mod.kind,
        "value_range": list(mod.value_range) if mod.value_range else None,
        "upsample": mod.downsample,
    }


def normalisation(spec: DatasetSpec, mod: ModalitySpec, data_root: Path) -> dict[str, Any]:
    """Mean/std of the modality's network input, from the preprocess stage's statistics.

    Single-channel modalities are replicated to 3 channels by the loader, so every backbone
    (and any RGB-pretrained weight) accepts them; their statistics are per modality.
    """
    stats_file = spec.dataset_dir(data_root) / "processed" / "stats.json"
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    if stats_file.is_file():
        stats = json.loads(stats_file.read_text()).get(mod.name)
        if stats:
            mean, std = tuple(stats["mean"]), tuple(stats["std"])
    is_color = mod.kind in ("rgb", "lowlight")
    return {"mean": [round(float(m), 4) for m in mean], "std": [round(float(s), 4) for s in std],
            "bgr_to_rgb": is_color}


def modality_overlay(spec: DatasetSpec, modality: str, data_root: Path,
                     train_annotations: str = "qa") -> dict[str, Any]:
    mod = spec.modality(modality)
    img_root = str(spec.image_root(modality, data_root)) + "/"
    norm = normalisation(spec, mod, data_root)
    overlay: dict[str, Any] = {}
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        overlay[f"{loader}.dataset.data_prefix"] = {"img": img_root}
        overlay[f"{loader}.dataset.pipeline.0"] = load_transform(mod)
    overlay |= {f"model.data_preprocessor.{k}": v for k, v in norm.items()}
    return overlay | annotation_overlay(spec, modality, data_root, train_annotations)


def compose(cell: Cell, *, data_root: Path = Path("data"), work_dir: Path | None = None,
            overrides: dict[str, Any] | None = None, repo_root: Path | None = None):
    """Return the composed ``mmengine.Config`` of a cell."""
    from mmengine.config import Config

    base = model_config_path(cell.model, repo_root)
    if not base.is_file():
        raise MpbenchError(f"{base}: model config not found for model {cell.model!r}")
    spec = get_spec(cell.dataset)
    # Composition needs no MMPose: the custom modules are imported by the job that runs it.
    cfg = Config.fromfile(str(base), import_custom_modules=False)
    flat = (dataset_overlay(spec, data_root, repo_root)
            | modality_overlay(spec, cell.modality, data_root,
                               (overrides or {}).get("annotations") or "qa"))
    flat |= _training_overrides(cfg, overrides or {})
    cfg.merge_from_dict(flat, allow_list_keys=True)
    # A train loop given by ``type`` is built from its keys; ``by_epoch`` is not one of them.
    cfg.train_cfg.pop("by_epoch", None)
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    cfg.mpbench = {"dataset": cell.dataset, "modality": cell.modality, "model": cell.model}
    return cfg


def _training_overrides(cfg, overrides: dict[str, Any]) -> dict[str, Any]:
    """Matrix-level overrides (epochs, seed, batch size) translated into config keys; the
    training annotation variant (``annotations``) is applied by :func:`annotation_overlay`."""
    flat: dict[str, Any] = {}
    if overrides.get("epochs"):
        epochs = int(overrides["epochs"])
        flat["train_cfg.max_epochs"] = epochs
        flat["train_cfg.val_interval"] = epochs
        for i, sched in enumerate(cfg.get("param_scheduler", [])):
            if sched.get("by_epoch", True) and "milestones" in sched:
                scale = epochs / cfg.train_cfg.max_epochs
                flat[f"param_scheduler.{i}.end"] = epochs
                flat[f"param_scheduler.{i}.milestones"] = sorted(
                    {max(1, round(m * scale)) for m in sched["milestones"]})
    seed = overrides.get("seed")
    if seed is not None:
        flat["randomness.seed"] = int(seed)
    # Exact resume anywhere in an epoch (benchmark.models.ext.preemption).
    flat["train_cfg.type"] = "ResumableEpochBasedTrainLoop"
    flat["train_dataloader.sampler.type"] = "ResumableSampler"
    if cfg.train_dataloader.dataset.type == "CocoDataset":
        flat["train_dataloader.dataset.type"] = "SeededCocoDataset"
        flat["train_dataloader.dataset.aug_seed"] = int(
            seed if seed is not None else cfg.randomness.get("seed") or 0)
    if overrides.get("batch_size"):
        flat["train_dataloader.batch_size"] = int(overrides["batch_size"])
    return flat


def config_digest(cfg) -> str:
    """Digest of the composed config's text, naming the cell's run.

    Paths in the composed config are relative to the repository root (jobs run there), so the
    digest does not change when the checkout moves.
    """
    return hashlib.sha256(cfg.pretty_text.encode()).hexdigest()[:16]

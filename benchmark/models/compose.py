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
from benchmark.models.families import (
    Adapter,
    drop_colour_augmentations,
    family_of,
    replace_loaders,
    scale_input,
    set_metainfo_files,
    set_num_keypoints,
    strip_pretrained,
    walk,
)
from benchmark.models.metainfo import check as check_metainfo

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")

#: Normalisation used when a dataset has no ``processed/stats.json`` yet (ImageNet, 0-255).
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def dataset_overlay(cfg, adapter: Adapter, spec: DatasetSpec, modality: str,
                    repo_root: Path | None = None) -> dict[str, Any]:
    """Keypoint metadata, derived from the dataset spec, where the model's family keeps it
    (and the family's own rewrites for the dataset and modality)."""
    meta_file = check_metainfo(spec.name, repo_root)
    meta_path = str(meta_file.relative_to(repo_root or Path.cwd()))
    metainfo = {"from_file": meta_path}
    set_num_keypoints(cfg, adapter, spec.layout.num_keypoints)
    set_metainfo_files(cfg, meta_path)
    if adapter.fix is not None:
        adapter.fix(cfg, spec, spec.modality(modality))
    overlay: dict[str, Any] = {}
    for loader in LOADERS:
        data = cfg[loader].dataset
        overlay[f"{loader}.dataset.metainfo"] = metainfo
        overlay[f"{loader}.dataset.data_root"] = ""
        overlay[f"{loader}.dataset.data_mode"] = adapter.data_mode
        # Every mpbench split is a canonical COCO-format file; boxes come from the
        # evaluation's box sources, not from a detection file named in the config.
        data.type = "CocoDataset"
        for key in ("bbox_file", "headbox_file"):
            data.pop(key, None)
    for name in ("val_evaluator", "test_evaluator"):
        old = cfg.get(name) or {}
        old = old if isinstance(old, dict) else {}
        keep = {k: old[k] for k in ("score_mode", "nms_mode", "nms_thr", "keypoint_score_thr")
                if old.get("type") == "CocoMetric" and k in old}
        # Training's validation (MMPose's CocoMetric) reads every GT person's ``area`` unless
        # told otherwise. Only COCO-protocol datasets carry one (PoseTrack18, MPII and ExLPose
        # have none), so the others use the box area, as MMPose's CrowdPose configs do.
        overlay[name] = {"type": "CocoMetric", "ann_file": "", **keep} | (
            {} if spec.protocol == "coco" else {"use_area": False})
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


def modality_overlay(cfg, adapter: Adapter, spec: DatasetSpec, modality: str,
                     data_root: Path, train_annotations: str = "qa",
                     keep_normalisation: bool = False) -> dict[str, Any]:
    """Image roots and loaders of the modality (every loading transform of the config,
    mosaic pre-transforms included) and its normalisation.

    ``keep_normalisation``: the config's own mean/std stay (an evaluate-only checkpoint was
    trained with them; one-stage families train on raw pixels)."""
    mod = spec.modality(modality)
    img_root = str(spec.image_root(modality, data_root)) + "/"
    if mod.kind not in ("rgb", "lowlight"):
        drop_colour_augmentations(cfg)
    if not replace_loaders(cfg, load_transform(mod)):
        raise MpbenchError(f"{cfg.filename}: no LoadImage transform to replace with the "
                           f"{modality!r} loader")
    _fill_paired_loaders(cfg, spec, data_root, train_annotations)
    overlay: dict[str, Any] = {f"{loader}.dataset.data_prefix": {"img": img_root}
                               for loader in LOADERS}
    if not (keep_normalisation or adapter.own_normalisation
            or cfg.get("mpbench_own_normalisation")):
        norm = normalisation(spec, mod, data_root)
        overlay |= {f"model.data_preprocessor.{k}": v for k, v in norm.items()}
    return overlay | annotation_overlay(spec, modality, data_root, train_annotations)


def _fill_paired_loaders(cfg, spec: DatasetSpec, data_root: Path, variant: str) -> None:
    """A paired method's ``LoadPairedImage`` (ExLPose: the well-lit twin of each low-light
    training image) reads the partner modality's view of the training split."""
    for node in walk(cfg._cfg_dict):
        if node.get("type") == "LoadPairedImage":
            partner = spec.modality(node.get("modality", "rgb"))
            node["ann_file"] = str(spec.modality_annotation_file(
                spec.train_split, partner.name, data_root, variant=variant))
            node["img_root"] = str(spec.image_root(partner.name, data_root)) + "/"
            node["loader"] = load_transform(partner)


#: What every composed config gets from the mpbench runtime (configs/_base_/runtime.py holds
#: the same for configs written from scratch): the extensions, and a checkpoint every epoch
#: (an interrupted training resumes from the newest), the last one always kept.
RUNTIME = {
    "default_scope": "mmpose",
    "default_hooks.checkpoint.interval": 1,
    "default_hooks.checkpoint.max_keep_ckpts": 2,
    "default_hooks.checkpoint.save_last": True,
    "default_hooks.visualization": {"type": "PoseVisualizationHook", "enable": False},
    "env_cfg.mp_cfg": {"mp_start_method": "fork", "opencv_num_threads": 0},
}
EXTENSIONS = "benchmark.models.ext"


def runtime_overlay(cfg) -> dict[str, Any]:
    imports = list((cfg.get("custom_imports") or {}).get("imports", []))
    randomness = {"seed": 0, "deterministic": False} | dict(cfg.get("randomness") or {})
    return RUNTIME | {"randomness": randomness, "custom_imports": {
        "imports": imports + [EXTENSIONS] * (EXTENSIONS not in imports),
        "allow_failed_imports": False}}


def compose(cell: Cell, *, data_root: Path = Path("data"), work_dir: Path | None = None,
            overrides: dict[str, Any] | None = None, repo_root: Path | None = None):
    """Return the composed ``mmengine.Config`` of a cell.

    ``overrides``: the matrix's training options (``epochs``, ``seed``, ``batch_size``,
    ``annotations``, ``amp``, ``pretrained_backbone``, ``cfg_options``: dotted config keys
    set last) and, for tests, ``input_size`` ((w, h): every copy of the codec's sizes scales
    with it).
    """
    from mmengine.config import Config

    overrides = overrides or {}
    base = model_config_path(cell.model, repo_root)
    if not base.is_file():
        raise MpbenchError(f"{base}: model config not found for model {cell.model!r}")
    spec = get_spec(cell.dataset)
    # Composition needs no MMPose: the custom modules are imported by the job that runs it.
    cfg = Config.fromfile(str(base), import_custom_modules=False)
    adapter = family_of(cfg, str(base))
    # The config's declared size (a recipe at another resolution than its base), then a
    # test's reduced one: each scales every copy of the codec's sizes.
    for size in (cfg.get("mpbench_input_size"), overrides.get("input_size")):
        if size:
            scale_input(cfg, tuple(size))
    if overrides.get("pretrained_backbone") is False:
        strip_pretrained(cfg)
    flat = runtime_overlay(cfg)
    flat |= dataset_overlay(cfg, adapter, spec, cell.modality, repo_root)
    flat |= modality_overlay(cfg, adapter, spec, cell.modality, data_root,
                             overrides.get("annotations") or "qa",
                             keep_normalisation=not cell.train)
    flat |= _training_overrides(cfg, overrides, cell)
    flat |= dict(overrides.get("cfg_options") or {})  # the user's keys win
    cfg.merge_from_dict(flat, allow_list_keys=True)
    # A train loop given by ``type`` is built from its keys; ``by_epoch`` is not one of them.
    cfg.train_cfg.pop("by_epoch", None)
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    cfg.mpbench = {"dataset": cell.dataset, "modality": cell.modality, "model": cell.model,
                   "cell": cell.key, "family": adapter.name}
    return cfg


def _training_overrides(cfg, overrides: dict[str, Any], cell: Cell) -> dict[str, Any]:
    """Matrix-level overrides (epochs, seed, batch size, mixed precision) translated into
    config keys; the training annotation variant (``annotations``) is applied by
    :func:`annotation_overlay`. A replicate cell's own seed wins over the matrix's."""
    flat: dict[str, Any] = {}
    if overrides.get("amp"):
        flat["optim_wrapper.type"] = "AmpOptimWrapper"
        flat["optim_wrapper.loss_scale"] = "dynamic"
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
    seed = cell.seed if cell.seed is not None else overrides.get("seed")
    if seed is not None:
        flat["randomness.seed"] = int(seed)
    # Exact resume anywhere in an epoch (benchmark.models.ext.preemption).
    flat["train_cfg.type"] = "ResumableEpochBasedTrainLoop"
    flat["train_dataloader.sampler.type"] = "ResumableSampler"
    if cfg.train_dataloader.dataset.type == "CocoDataset":
        flat["train_dataloader.dataset.type"] = "SeededCocoDataset"
        flat["train_dataloader.dataset.aug_seed"] = int(
            seed if seed is not None else (cfg.get("randomness") or {}).get("seed") or 0)
    if overrides.get("batch_size"):
        flat["train_dataloader.batch_size"] = int(overrides["batch_size"])
    return flat


def config_digest(cfg) -> str:
    """Digest of the composed config's text, naming the cell's run.

    Paths in the composed config are relative to the repository root (jobs run there), so the
    digest does not change when the checkout moves.
    """
    return hashlib.sha256(cfg.pretty_text.encode()).hexdigest()[:16]

"""One prediction pass of a trained cell: a split's images, with ground-truth or detector boxes.

MMPose's ``CocoMetric`` in ``format_only`` mode writes the predictions in COCO results format
(after its standard rescoring and OKS-NMS), which :mod:`benchmark.evaluation` then scores.
A pass is cached: its inputs (checkpoint, annotation file, box file, image modality) are
recorded beside the predictions, and a re-run whose inputs are unchanged reuses them, so an
evaluation that failed on one split recomputes nothing for the others.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from benchmark.errors import MpbenchError
from benchmark.fileio import write_text_atomic


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inputs_record(checkpoint: str | None, ann_file: Path, bbox_file: Path | None,
                   images: dict[str, Any], nms_mode: str) -> dict[str, Any]:
    ckpt = Path(checkpoint) if checkpoint else None
    return {
        "nms_mode": nms_mode,
        "checkpoint": str(ckpt) if ckpt else None,
        "checkpoint_sha256": file_sha256(ckpt) if ckpt else None,
        "ann_sha256": file_sha256(ann_file),
        "bbox_sha256": file_sha256(bbox_file) if bbox_file else None,
        "images": images,
    }


def predict(work_dir: Path, checkpoint: str | None, ann_file: Path, out: Path, *,
            bbox_file: Path | None = None, images: dict[str, Any] | None = None,
            nms_mode: str | None = "oks_nms", device: str | None = None) -> Path:
    """Predict on the images of ``ann_file`` and write ``out`` (a COCO results list).

    ``bbox_file`` (a validated COCO detection file of the same images) replaces the
    annotation boxes; ``images`` (``{"img_root", "loader"}``) reads another modality's images
    of the same instants than the cell's own (cross-modality sets). ``checkpoint`` None
    predicts with the untrained, initialised model (a baseline that learning must beat).
    ``nms_mode`` is CocoMetric's pose NMS (``oks_nms``, ``soft_oks_nms`` or ``none``).
    """
    record = _inputs_record(checkpoint, ann_file, bbox_file, images or {}, nms_mode)
    sidecar = out.with_name(out.name + ".inputs.json")
    if out.is_file() and sidecar.is_file() and json.loads(sidecar.read_text()) == record:
        return out  # computed before from the same inputs
    if bbox_file is not None and not json.loads(bbox_file.read_text()):
        _write_json(out, [])  # no person detected anywhere: nothing to predict from
        _write_json(sidecar, record)
        return out

    from mmengine.config import Config
    from mmengine.runner import Runner

    from benchmark.models.checkpoints import allow_mmengine_checkpoints
    from benchmark.models.train import limit_threads, limit_workers, own_visualizer

    cfg = Config.fromfile(str(work_dir / "config.py"))
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.custom_hooks = [h for h in cfg.get("custom_hooks", []) if h["type"] != "MlflowEpochHook"]
    data = cfg.test_dataloader.dataset
    data.ann_file = str(ann_file)
    if bbox_file is not None:
        data.bbox_file = str(bbox_file)
    if images:
        from benchmark.models.families import replace_loaders

        data.data_prefix = {"img": images["img_root"]}
        replace_loaders(data.pipeline, images["loader"])
        if "test_modality" in cfg.model and images.get("modality"):
            cfg.model.test_modality = images["modality"]  # a paired method's BN set
    prefix = out.parent / (out.name.removesuffix(".keypoints.json") + ".mmpose")
    # Bottom-up and one-stage configs say how their detections are scored and suppressed
    # (``nms_mode=None``: keep the config's score_mode/nms_mode).
    own = {k: v for k, v in (cfg.get("test_evaluator") or {}).items()
           if k in ("score_mode", "nms_mode", "nms_thr", "keypoint_score_thr")}
    cfg.test_evaluator = dict(type="CocoMetric", ann_file=str(ann_file), format_only=True,
                              outfile_prefix=str(prefix),
                              **(own | ({"nms_mode": nms_mode} if nms_mode else {})))
    cfg.work_dir = str(work_dir / "test")
    if device:
        cfg.device = device
    limit_workers(cfg)
    allow_mmengine_checkpoints()
    limit_threads()
    import benchmark.models.ext  # noqa: F401 - registers LoadModalityImage

    out.parent.mkdir(parents=True, exist_ok=True)
    own_visualizer(cfg, Path(cfg.work_dir))
    Runner.from_cfg(cfg).test()
    written = Path(f"{prefix}.keypoints.json")
    if not written.is_file():
        raise MpbenchError(f"{written}: MMPose wrote no predictions for {ann_file}")
    os.replace(written, out)
    _write_json(sidecar, record)
    return out


def _write_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")

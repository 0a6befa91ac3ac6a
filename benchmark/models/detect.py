"""Run an MMDetection person detector over one split: the boxes of top-down evaluation.

Top-down cells are scored with ground-truth boxes and with detector boxes. Where a dataset
released no detection file for a (modality, split), :func:`detect_split` writes one: every
image of the split's per-modality annotation view is read exactly as the pose model reads it
(:func:`benchmark.modalities.inputs.to_network_input`, so 16-bit depth and 1-channel thermal
become the same 3-channel uint8 image in the annotation frame), the detector runs, and the
person boxes left after the threshold and NMS below are written as a COCO results file that
:func:`benchmark.datasets.detections.load_detections` accepts.

Defaults (all parameters):

- ``score_thr=0.05``: COCO AP averages over recall, and MMPose rescores every pose by its box
  score, so low-confidence boxes cost little and recover people. 0.05 is the test-time
  threshold of MMDetection's COCO Faster R-CNN (``rcnn.score_thr``) and of MMPose's RTMDet
  person detector (``demo/mmdetection_cfg/rtmdet_m_640-8xb32_coco-person.py``); HRNet's
  released COCO file goes down to 0.003. MMPose's top-down *demo* uses ``--bbox-thr 0.3``
  (and ``--nms-thr 0.3``), but that is for drawing, where a false box shows, not for AP.
- ``nms_iou=0.5``: person-only NMS after the detector's own (often class-wise) NMS: Faster
  R-CNN's COCO value, and LLVIP-Pose's released ``test_bbox_*_nms_50_llvip.json`` (NMS at IoU
  0.5). torchvision's ``nms``: the box IoU without MMDetection's legacy +1 offset.
- ``max_per_image=100``: COCO's detection budget per image (``max_per_img`` of both configs).

The detector's own ``test_cfg.score_thr`` is lowered to ``score_thr`` when it is higher, so the
parameter means what it says. Boxes are clipped to the image and rounded to 0.01 px (scores to
1e-6) *before* NMS, so the written file is exactly what NMS saw.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.datasets.detections import PERSON, gt_images, summary, write_detections
from benchmark.errors import MpbenchError

DEFAULT_SCORE_THR = 0.05
DEFAULT_NMS_IOU = 0.5
DEFAULT_MAX_PER_IMAGE = 100
#: Boxes narrower or lower than this after clipping (pixels) are dropped as degenerate.
MIN_BOX_SIZE = 1.0
#: Keys removed from a detector config so that building it never fetches weights.
PRETRAINED_KEYS = ("init_cfg", "pretrained")


class DetectorError(MpbenchError):
    """The detector config, checkpoint or input cannot be used."""


def resolve_config_path(config: str | Path) -> Path:
    """A config file path, or ``package::relative/path`` inside an installed OpenMMLab package.

    ``mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py`` is looked up under the package's
    ``.mim/configs/`` (what ``mim`` installs with the package), then under ``.mim/`` (so
    ``mmpose::demo/mmdetection_cfg/rtmdet_m_640-8xb32_coco-person.py`` works too). Offline:
    nothing is fetched, only the installed package is read.
    """
    text = str(config)
    if "::" not in text:
        path = Path(text)
        if not path.is_file():
            raise DetectorError(f"{path}: detector config not found")
        return path
    package, rel = text.split("::", 1)
    try:
        from mmengine.utils import get_installed_path

        root = Path(get_installed_path(package))
    except Exception as exc:  # noqa: BLE001 - not installed / not a package: one clear error
        raise DetectorError(f"{text}: package {package!r} is not installed ({exc})") from None
    for base in (root / ".mim" / "configs", root / ".mim", root / "configs"):
        if (base / rel).is_file():
            return base / rel
    raise DetectorError(f"{text}: no config {rel!r} in the installed {package} "
                        f"(looked under {root / '.mim' / 'configs'} and {root / '.mim'})")


def strip_pretrained(node: Any) -> Any:
    """Set every ``init_cfg``/``pretrained`` in a config tree to None (in place; returned).

    Backbone configs name ImageNet checkpoints by URL; building the model must never try to
    fetch them (offline machines, and the detector's own checkpoint replaces them anyway).
    """
    if isinstance(node, dict):
        for key in list(node.keys()):
            if key in PRETRAINED_KEYS:
                node[key] = None
            else:
                strip_pretrained(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            strip_pretrained(item)
    return node


def _lower_score_thr(node: Any, score_thr: float) -> None:
    """Lower every ``score_thr`` of the detector's ``test_cfg`` to ours when it is higher."""
    if isinstance(node, dict):
        for key in list(node.keys()):
            value = node[key]
            if key == "score_thr" and isinstance(value, (int, float)) and value > score_thr:
                node[key] = score_thr
            else:
                _lower_score_thr(value, score_thr)


def build_detector(config: str | Path, checkpoint: str | None, *, device: str = "cpu",
                   score_thr: float = DEFAULT_SCORE_THR, seed: int = 0,
                   cfg_options: dict[str, Any] | None = None):
    """The detector in eval mode on ``device``; ``checkpoint=None`` = random weights (tests).

    ``cfg_options`` are merged into the config first (dotted keys, as MMEngine's
    ``--cfg-options``), e.g. ``{"model.bbox_head.num_classes": 1}``.
    """
    import torch
    from mmengine.config import Config

    cfg = Config.fromfile(str(resolve_config_path(config)))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    strip_pretrained(cfg.model)
    _lower_score_thr(cfg.model.get("test_cfg"), score_thr)
    if checkpoint is None:
        warnings.warn(f"DETECTOR {config} HAS RANDOM WEIGHTS (checkpoint=None): its boxes are "
                      "noise; use this for tests only", stacklevel=2)
        print(f"WARNING: detector {config} built with RANDOM weights (no checkpoint): boxes are "
              "meaningless", file=sys.stderr)
    else:
        if not Path(checkpoint).is_file():
            raise DetectorError(f"{checkpoint}: detector checkpoint not found")
        from benchmark.models.checkpoints import allow_mmengine_checkpoints

        allow_mmengine_checkpoints()
    from mmdet.apis import init_detector

    torch.manual_seed(seed)  # random init (checkpoint=None) is the same on every run
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="checkpoint is None")
        return init_detector(cfg, checkpoint, device=device)


def person_label(model, det_cat_id: int | None = None) -> int:
    """The detector's label of a person: ``det_cat_id``, else 0 of a 1-class detector, else the
    index of ``person`` in its classes (COCO's 0)."""
    if det_cat_id is not None:
        return int(det_cat_id)
    head = getattr(model, "bbox_head", None)
    if head is None and getattr(model, "roi_head", None) is not None:
        head = getattr(model.roi_head, "bbox_head", None)
    if getattr(head, "num_classes", None) == 1:
        return 0
    classes = [str(c).lower() for c in (getattr(model, "dataset_meta", None) or {})
               .get("classes", ())]
    if "person" in classes:
        return classes.index("person")
    raise DetectorError(f"detector has no 'person' class (classes: {classes[:10]}...); "
                        "pass det_cat_id")


def read_image(path: Path, loader: dict[str, Any] | None) -> np.ndarray:
    """HxWx3 uint8 BGR image exactly as :class:`LoadModalityImage` gives it to the pose model."""
    import cv2

    from benchmark.modalities.inputs import to_network_input

    loader = dict(loader or {})
    loader.pop("type", None)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise FileNotFoundError(f"{path}: image missing or unreadable")
    value_range = loader.get("value_range")
    return to_network_input(raw, loader.get("kind", "rgb"),
                            value_range=tuple(value_range) if value_range else None,
                            upsample=int(loader.get("upsample") or 1))


def postprocess(bboxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, *, label: int,
                width: int, height: int, score_thr: float = DEFAULT_SCORE_THR,
                nms_iou: float = DEFAULT_NMS_IOU,
                max_per_image: int = DEFAULT_MAX_PER_IMAGE) -> list[tuple[list[float], float]]:
    """Person boxes of one image: ``[([x, y, w, h], score), ...]`` by decreasing score.

    Class ``label`` only, score >= ``score_thr``, clipped to the image, at least
    :data:`MIN_BOX_SIZE` wide and high, no two with IoU > ``nms_iou``, at most ``max_per_image``.
    """
    import torch
    from torchvision.ops import nms

    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    scores = np.round(np.asarray(scores, dtype=np.float64).reshape(-1), 6)
    keep = (np.asarray(labels).reshape(-1) == label) & (scores >= score_thr)
    boxes, scores = bboxes[keep], scores[keep]
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
    boxes = np.round(boxes, 2)
    ok = ((boxes[:, 2] - boxes[:, 0]) >= MIN_BOX_SIZE) & ((boxes[:, 3] - boxes[:, 1])
                                                          >= MIN_BOX_SIZE)
    boxes, scores = boxes[ok], scores[ok]
    if not len(boxes):
        return []
    # A stable order first: nms() sorts by score, ties keep this (score, then position) order.
    order = np.lexsort((boxes[:, 1], boxes[:, 0], -scores))
    boxes, scores = boxes[order], scores[order]
    kept = nms(torch.from_numpy(boxes), torch.from_numpy(scores), nms_iou).numpy()
    kept = kept[:max_per_image]
    return [([float(boxes[i, 0]), float(boxes[i, 1]), round(float(boxes[i, 2] - boxes[i, 0]), 2),
              round(float(boxes[i, 3] - boxes[i, 1]), 2)], float(scores[i])) for i in kept]


def _test_pipeline(cfg):
    """The detector's test pipeline reading an in-memory image instead of a file."""
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg

    steps = [dict(s) for s in get_test_pipeline_cfg(cfg.copy())]
    steps[0] = dict(type="mmdet.LoadImageFromNDArray")
    return Compose(steps)


def detect_split(detector_config: str | Path, checkpoint: str | None, ann_file: str | Path,
                 img_root: str | Path, out: str | Path, *,
                 modality_loader: dict[str, Any] | None = None,
                 score_thr: float = DEFAULT_SCORE_THR, nms_iou: float = DEFAULT_NMS_IOU,
                 max_per_image: int = DEFAULT_MAX_PER_IMAGE, device: str = "cpu",
                 batch_size: int = 1, progress_every: int = 50, det_cat_id: int | None = None,
                 seed: int = 0, cfg_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Detect persons on every image of ``ann_file``; write them to ``out``; return a summary.

    ``ann_file`` is a COCO-style annotation file whose images' ``file_name`` is relative to
    ``img_root`` (mpbench's per-modality views); ``modality_loader`` is the modality's
    ``{kind, value_range, upsample}`` (:func:`benchmark.models.compose.load_transform`; None =
    an 8-bit colour or gray image). Progress goes to stderr every ``progress_every`` images.
    ``cfg_options`` override detector config keys (see :func:`build_detector`).
    """
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from benchmark.models.train import limit_threads

    if batch_size < 1 or max_per_image < 1 or not 0.0 < nms_iou <= 1.0:
        raise DetectorError(f"need batch_size >= 1, max_per_image >= 1 and 0 < nms_iou <= 1, "
                            f"got {batch_size}, {max_per_image}, {nms_iou}")
    images, source = gt_images(Path(ann_file))
    img_root = Path(img_root)
    if not img_root.is_dir():
        raise FileNotFoundError(f"{img_root}: image folder not found (for {ann_file})")
    limit_threads()
    started = time.monotonic()
    model = build_detector(detector_config, checkpoint, device=device, score_thr=score_thr,
                           seed=seed, cfg_options=cfg_options)
    label = person_label(model, det_cat_id)
    built = time.monotonic()
    records: list[dict] = []
    items = list(images.values())
    with DefaultScope.overwrite_default_scope("mmdet"):
        pipeline = _test_pipeline(model.cfg)
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            data, sizes = [], []
            for img in batch:
                arr = read_image(img_root / img["file_name"], modality_loader)
                h, w = arr.shape[:2]
                if (img.get("width"), img.get("height")) not in ((w, h), (None, None)):
                    raise DetectorError(
                        f"{img_root / img['file_name']}: network input is {w}x{h} but {source} "
                        f"says image {img['id']} is {img.get('width')}x{img.get('height')} "
                        "(wrong modality loader or upsample factor?)")
                sizes.append((w, h))
                data.append(pipeline(dict(img=arr, img_id=img["id"])))
            with torch.no_grad():
                results = model.test_step(pseudo_collate(data))
            for img, (w, h), res in zip(batch, sizes, results):
                pred = res.pred_instances
                for box, score in postprocess(
                        pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(),
                        pred.labels.cpu().numpy(), label=label, width=w, height=h,
                        score_thr=score_thr, nms_iou=nms_iou, max_per_image=max_per_image):
                    records.append({"image_id": img["id"], "category_id": PERSON, "bbox": box,
                                    "score": score})
            done = start + len(batch)
            if progress_every and (done % progress_every < len(batch) or done == len(items)):
                rate = (time.monotonic() - built) / done
                print(f"detect: {done}/{len(items)} images, {len(records)} boxes, "
                      f"{rate:.2f} s/image, about {rate * (len(items) - done) / 60:.1f} min left",
                      file=sys.stderr, flush=True)
    write_detections(records, out)
    return {"out": str(out), "ann_file": str(ann_file), "detector_config": str(detector_config),
            "checkpoint": checkpoint, "random_weights": checkpoint is None,
            "person_label": label, "score_thr": score_thr, "nms_iou": nms_iou,
            "max_per_image": max_per_image, "seconds": round(time.monotonic() - started, 1),
            **summary(records, {"images": items})}

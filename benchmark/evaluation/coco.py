"""``coco`` (pycocotools OKS AP/AR) and ``crowdpose`` (CrowdPose API via xtcocotools).

Both share one shape: a reference engine matches detections per image (see :mod:`engines`),
then precision/recall are accumulated and summarised (:mod:`accumulate`). Values are fractions
in [0, 1] as pycocotools prints them; -1 means "undefined" (no ground truth in that range).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.datasets.layouts import COCO17, CROWDPOSE14, layout_of_names
from benchmark.evaluation.accumulate import (
    COCO_KEYPOINT_STATS,
    accumulate,
    crowd_type_ap,
    summarize,
)
from benchmark.evaluation.base import PredictionSource, ProtocolSpec
from benchmark.evaluation.engines import EngineRun, run_coco, run_crowd
from benchmark.evaluation.inputs import GroundTruth
from benchmark.evaluation.layout_map import AcceptedLayouts

CROWD_STATS = tuple(s for s in COCO_KEYPOINT_STATS if s[3] == "all")
#: xtcocotools' crowd-index split (``get_type_result(first=0.2, second=0.8)``).
CROWD_SPLIT = (0.2, 0.8)
#: Both score predictions in the ground truth's own layout (OKS compares joint i with joint i;
#: pycocotools and xtcocotools define no mapping between layouts).
COCO_LAYOUTS = AcceptedLayouts("coco")
CROWDPOSE_LAYOUTS = AcceptedLayouts("crowdpose")


class CocoPrepared:
    """Engine matches for one prediction set; stats from the engine or from numpy."""

    def __init__(self, run: EngineRun, spec: Sequence[tuple[str, bool, float | None, str]],
                 crowd_masks: dict[str, np.ndarray] | None, details: dict[str, Any]) -> None:
        self.run = run
        self.spec = spec
        self.crowd_masks = crowd_masks
        self.n_units = len(run.image_ids)
        self.details = details

    def point(self) -> dict[str, float]:
        if self.run.stats is not None and self.crowd_masks is None:
            return {name: float(v) for (name, *_), v in zip(self.spec, self.run.stats)}
        return self._stats(None)

    def resampled(self, weights: np.ndarray) -> dict[str, float]:
        return self._stats(np.asarray(weights, dtype=np.int64))

    def _stats(self, weights: np.ndarray | None) -> dict[str, float]:
        m = self.run.matches()
        precision, recall = accumulate(m, weights)
        out = summarize(precision, recall, m.iou_thrs, m.area_labels, self.spec)
        for name, mask in (self.crowd_masks or {}).items():
            subset = mask if weights is None else mask * weights
            out[name] = crowd_type_ap(accumulate(m, subset, areas=(0,))[0])
        return out


def coco_sigmas(gt: GroundTruth, sigmas: Sequence[float] | None) -> tuple[float, ...]:
    """Explicit sigmas, else the layout whose keypoint names the ground truth lists (spellings
    normalised), else COCO's.

    Sigmas always come from :mod:`benchmark.datasets.layouts`; nothing here spells them out.
    """
    k = gt.num_keypoints()
    if sigmas is None:
        layout = layout_of_names(gt.keypoint_names)
        if layout is None and k == COCO17.num_keypoints:
            layout = COCO17
        if layout is None:
            raise gt.error(f"no keypoint layout has these {k} keypoint names; pass sigmas")
        sigmas = layout.sigmas
    if len(sigmas) != k:
        raise gt.error(f"{len(sigmas)} OKS sigmas given for {k} keypoints")
    return tuple(float(s) for s in sigmas)


def _check_gt(gt: GroundTruth, k: int, required: tuple[str, ...]) -> None:
    """Fail early, naming the annotation, where an engine would raise a bare KeyError."""
    for anns in gt.annotations_by_image:
        for ann in anns:
            missing = [key for key in required if key not in ann]
            if missing:
                raise gt.error(f"annotation id {ann.get('id')!r} lacks "
                               + ", ".join(repr(m) for m in missing))
            if len(ann["keypoints"]) != 3 * k or len(ann["bbox"]) != 4:
                raise gt.error(f"annotation id {ann['id']!r} has {len(ann['keypoints'])} "
                               f"keypoint values (expected {3 * k}) or a malformed bbox")


def _category_ids(gt: GroundTruth) -> set[Any]:
    return {c["id"] for c in gt.data.get("categories", []) if isinstance(c, dict) and "id" in c}


def _engine_details(run: EngineRun, n_preds: int, sigmas: Sequence[float],
                    layout: str) -> dict[str, Any]:
    return {"engine": run.engine, "pred_layout": layout, "images": len(run.image_ids),
            "predictions": n_preds, "sigmas": list(sigmas), "max_detections": run.max_det}


def prepare_coco(gt: GroundTruth, preds: PredictionSource, sigmas: Sequence[float] | None,
                 *, pred_layout: str | None = None,
                 summarize_in_engine: bool = True) -> CocoPrepared:
    """pycocotools keypoint AP/AR (GT areas, 20 detections per image)."""
    sig = coco_sigmas(gt, sigmas)
    k = len(sig)
    _check_gt(gt, k, ("id", "category_id", "keypoints", "bbox", "area", "iscrowd",
                      "num_keypoints"))
    predictions, layout = COCO_LAYOUTS.load(preds, gt, pred_layout, _category_ids(gt))
    run = run_coco(gt, predictions, sig, summarize=summarize_in_engine)
    details = _engine_details(run, len(predictions), sig, layout.name)
    return CocoPrepared(run, COCO_KEYPOINT_STATS, None, details)


def prepare_crowdpose(gt: GroundTruth, preds: PredictionSource,
                      sigmas: Sequence[float] | None, *,
                      pred_layout: str | None = None) -> CocoPrepared:
    """CrowdPose API: no GT area (0.53 x bbox area), ``num_keypoints == 0`` ignored, crowd
    index split into easy/medium/hard when every image carries ``crowdIndex``."""
    sig = tuple(float(s) for s in (sigmas if sigmas is not None else CROWDPOSE14.sigmas))
    k = gt.num_keypoints()
    if len(sig) != k:
        raise gt.error(f"crowdpose needs {len(sig)} keypoints per annotation, found {k}")
    _check_gt(gt, k, ("id", "category_id", "keypoints", "bbox", "num_keypoints"))
    predictions, layout = CROWDPOSE_LAYOUTS.load(preds, gt, pred_layout, _category_ids(gt))
    run = run_crowd(gt, predictions, sig)
    masks = _crowd_masks(gt, run.image_ids)
    details = _engine_details(run, len(predictions), sig, layout.name)
    return CocoPrepared(run, CROWD_STATS, masks, details)


def _crowd_masks(gt: GroundTruth, image_ids: list[Any]) -> dict[str, np.ndarray] | None:
    by_id = {img["id"]: img for img in gt.images}
    if not all("crowdIndex" in by_id[i] for i in image_ids):
        return None
    index = np.array([float(by_id[i]["crowdIndex"]) for i in image_ids])
    easy = index < CROWD_SPLIT[0]
    medium = ~easy & (index < CROWD_SPLIT[1])
    hard = ~easy & ~medium  # as xtcocotools' if/elif/else (a NaN index lands here)
    return {"AP(E)": easy.astype(np.int64), "AP(M)": medium.astype(np.int64),
            "AP(H)": hard.astype(np.int64)}


COCO = ProtocolSpec(
    name="coco", headline="AP", scale="fraction", unit="image",
    summary="OKS AP/AR as pycocotools computes them, fractions in [0, 1]",
    prepare=prepare_coco, layouts=COCO_LAYOUTS)

CROWDPOSE = ProtocolSpec(
    name="crowdpose", headline="AP", scale="fraction", unit="image",
    summary="CrowdPose API (xtcocotools keypoints_crowd, use_area=False), fractions in [0, 1]",
    prepare=prepare_crowdpose, layouts=CROWDPOSE_LAYOUTS)

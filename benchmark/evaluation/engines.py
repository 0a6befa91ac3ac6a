"""Running the reference OKS engines (hotcoco, pycocotools, xtcocotools) on validated input.

mpbench does not re-derive OKS or COCO's greedy matching: a library computes the per-image
matches (``evalImgs``) and, for plain ``coco`` without bootstrap, the summary itself.

Engine choice never changes a number:
- hotcoco (Rust, ~50x faster) is used only where it is bit-identical to pycocotools. It is not
  when a ground-truth annotation has id 0: pycocotools stores matched ids in a zero-initialised
  array, so a match to annotation 0 reads as "unmatched"; hotcoco does not reproduce that quirk.
  It is also skipped for non-integer ids (its loader wants COCO's integer ids).
- pycocotools otherwise (and whenever hotcoco is not installed).
- xtcocotools for ``crowdpose`` (``keypoints_crowd``, ``use_area=False``), the CrowdPose API.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.evaluation.accumulate import CocoMatches, MatchRule, build_matches
from benchmark.evaluation.inputs import GroundTruth, Predictions, paused_gc

try:  # optional fast engine
    import hotcoco
except ImportError:  # pragma: no cover - depends on the environment
    hotcoco = None


@dataclass
class EngineRun:
    """One engine's evaluation: its name, the per-image matches (fetched lazily) and, where the
    engine summarised itself, its stats vector."""

    engine: str
    image_ids: list[Any]  # evaluation order (pycocotools sorts the ids)
    fetch_eval_imgs: Callable[[], Sequence[dict | None]]
    cat_ids: list[Any]
    area_rngs: list[list[float]]
    area_labels: tuple[str, ...]
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    max_det: int
    rule: MatchRule
    stats: np.ndarray | None = None
    _matches: CocoMatches | None = field(default=None, repr=False)

    def matches(self) -> CocoMatches:
        if self._matches is None:
            with paused_gc():
                self._matches = build_matches(
                    self.fetch_eval_imgs(), self.cat_ids, self.area_rngs, self.area_labels,
                    self.image_ids, self.iou_thrs, self.rec_thrs, self.max_det, self.rule)
        return self._matches


def hotcoco_eligible(gt: GroundTruth) -> bool:
    """Whether hotcoco gives pycocotools' numbers on this ground truth (see module doc)."""
    if hotcoco is None:
        return False

    def plain_ints(values: Sequence[Any]) -> bool:
        return all(type(v) is int for v in values)

    ann_ids = [a.get("id") for a in gt.annotations]
    return (plain_ints(ann_ids) and 0 not in ann_ids and plain_ints(gt.image_ids)
            and plain_ints([c.get("id") for c in gt.data.get("categories", [])]))


def _gt_copy(gt: GroundTruth, *, crowd: bool = False, writable: bool = True) -> dict:
    """The ground-truth dict for an engine; ``writable`` copies the annotation dicts, which
    pycocotools and xtcocotools write into (``ignore``), hotcoco does not.

    For ``crowd`` a missing ``iscrowd`` reads as false, as xtcocotools' loader sets it.
    """
    data = dict(gt.data)
    if crowd:
        data["annotations"] = [{"iscrowd": False, **a} for a in gt.annotations]
    elif writable:
        data["annotations"] = [dict(a) for a in gt.annotations]
    data.setdefault("categories", [])
    return data


def _quiet() -> contextlib.redirect_stdout:
    return contextlib.redirect_stdout(io.StringIO())


def run_coco(gt: GroundTruth, preds: Predictions, sigmas: Sequence[float], *,
             summarize: bool) -> EngineRun:
    """pycocotools-exact keypoint evaluation; ``summarize`` asks the engine for its stats."""
    if hotcoco_eligible(gt):
        return _run_hotcoco(gt, preds, sigmas, summarize)
    return _run_cocoapi(gt, preds, sigmas, crowd=False)


def run_crowd(gt: GroundTruth, preds: Predictions, sigmas: Sequence[float]) -> EngineRun:
    """xtcocotools ``keypoints_crowd`` with ``use_area=False`` (the CrowdPose API)."""
    return _run_cocoapi(gt, preds, sigmas, crowd=True)


def _run_hotcoco(gt: GroundTruth, preds: Predictions, sigmas: Sequence[float],
                 summarize: bool) -> EngineRun:
    with _quiet(), paused_gc(), warnings.catch_warnings():
        # hotcoco warns that non-COCO sigmas "redefine OKS"; per-dataset sigmas are intended
        warnings.simplefilter("ignore", UserWarning)
        coco_gt = hotcoco.COCO(_gt_copy(gt, writable=False))
        coco_dt = coco_gt.load_res(preds.stripped(copy=False))  # hotcoco does not write
        ev = hotcoco.COCOeval(coco_gt, coco_dt, "keypoints")
        ev.params.kpt_oks_sigmas = [float(s) for s in sigmas]
        ev.evaluate()
        stats = None
        if summarize:
            ev.accumulate()
            ev.summarize()
            stats = np.asarray(ev.stats, dtype=np.float64)
    p = ev.params
    return EngineRun("hotcoco", list(p.img_ids), lambda: ev.eval_imgs, list(p.cat_ids),
                     [list(r) for r in p.area_rng], tuple(p.area_rng_lbl),
                     np.asarray(p.iou_thrs), np.asarray(p.rec_thrs), max(p.max_dets),
                     "nonzero", stats)


def _run_cocoapi(gt: GroundTruth, preds: Predictions, sigmas: Sequence[float], *,
                 crowd: bool) -> EngineRun:
    if crowd:
        from xtcocotools.coco import COCO
        from xtcocotools.cocoeval import COCOeval
    else:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    with _quiet(), paused_gc():
        coco_gt = COCO()
        coco_gt.dataset = _gt_copy(gt, crowd=crowd)
        coco_gt.createIndex()
        coco_dt = _load_results(COCO, coco_gt, preds)
        if crowd:
            ev = COCOeval(coco_gt, coco_dt, "keypoints_crowd", np.asarray(sigmas, dtype=float),
                          use_area=False)
        else:
            ev = COCOeval(coco_gt, coco_dt, "keypoints")
            ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=float)
        ev.evaluate()
    p = ev.params
    rule: MatchRule = "nonnegative" if crowd else "nonzero"
    return EngineRun("xtcocotools" if crowd else "pycocotools", list(p.imgIds),
                     lambda: ev.evalImgs, list(p.catIds), [list(r) for r in p.areaRng],
                     tuple(p.areaRngLbl), np.asarray(p.iouThrs), np.asarray(p.recThrs),
                     max(p.maxDets), rule)


def _load_results(coco_cls: type, coco_gt: Any, preds: Predictions) -> Any:
    """``loadRes``, except for an empty list (which pycocotools' loadRes cannot take)."""
    if len(preds):
        return coco_gt.loadRes(preds.stripped())
    coco_dt = coco_cls()
    coco_dt.dataset = {"images": list(coco_gt.dataset["images"]),
                       "categories": list(coco_gt.dataset["categories"]), "annotations": []}
    coco_dt.createIndex()
    return coco_dt

"""``posetrack-map``: PoseTrack per-joint AP as poseval's ``--evalPoseEstimation`` computes it.

The rules (measured on poseval 4258a15, see ``docs/evaluation.md``):

- Frames: only frames with at least one GT person are evaluated; predictions on other frames
  are dropped with them.
- Joints: the 15 named joints of PoseTrack18 (ears dropped); a GT joint counts when its
  visibility is > 0, a predicted joint is absent only when ``x = y = score = 0``.
- Ignore regions (GT image ``ignore_regions_x/y``): joints strictly inside are removed on both
  sides; a person left without joints is dropped.
- A joint matches when ``error / (0.6 x head-box diagonal) <= 0.5``.
- Per frame, each prediction picks the GT with the highest fraction of matched joints, then each
  GT keeps the best of the predictions that picked it (first in file order among equals).
- Every predicted joint is one (joint score, hit) sample; AP is VOC's all-points AP over the
  samples sorted by score, recall over all remaining GT joints. Ties are ordered by frame (GT
  file order), then prediction (file order): poseval's order depends on glob order.
- Total = mean of the per-joint APs that are not NaN (a joint with predictions but no GT).

Values are percentages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.datasets.layouts import POSETRACK17
from benchmark.evaluation.base import PredictionSource, ProtocolSpec
from benchmark.evaluation.geometry import inside_any
from benchmark.evaluation.inputs import GroundTruth, Predictions, load_predictions

DIST_THRESHOLD = 0.5
HEAD_BIAS = 0.6
JOINTS = tuple(n for n in POSETRACK17.keypoints if n not in ("left_ear", "right_ear"))
#: poseval's table columns (``getCum``), in its order of joints within each group.
GROUPS = (("Head", ("head_top", "head_bottom", "nose")),
          ("Shoulder", ("right_shoulder", "left_shoulder")),
          ("Elbow", ("right_elbow", "left_elbow")), ("Wrist", ("right_wrist", "left_wrist")),
          ("Hip", ("right_hip", "left_hip")), ("Knee", ("right_knee", "left_knee")),
          ("Ankle", ("right_ankle", "left_ankle")))


@dataclass(frozen=True)
class Samples:
    """All (joint, score, hit) samples in evaluation order, and GT joint counts per frame."""

    joint: np.ndarray  # (S,)
    score: np.ndarray  # (S,)
    hit: np.ndarray  # (S,) bool
    unit: np.ndarray  # (S,) evaluated-frame position
    n_gt: np.ndarray  # (F, 15) annotated GT joints per frame


def head_size(bbox_head: Sequence[float]) -> float:
    """poseval's ``getHeadSize`` from a ``[x, y, w, h]`` head box (x2 = x + w, as poseval)."""
    x1, y1 = bbox_head[0], bbox_head[1]
    x2, y2 = bbox_head[0] + bbox_head[2], bbox_head[1] + bbox_head[3]
    return float(HEAD_BIAS * np.linalg.norm(np.subtract([x2, y2], [x1, y1])))


def _regions(image: dict) -> list[np.ndarray]:
    xs, ys = image.get("ignore_regions_x") or [], image.get("ignore_regions_y") or []
    return [np.column_stack([np.asarray(x, float), np.asarray(y, float)])
            for x, y in zip(xs, ys)]


def _keep_outside(regions: list[np.ndarray], *people: tuple[np.ndarray, np.ndarray]
                  ) -> list[np.ndarray]:
    """For each (xy (N, J, 2), present (N, J)): ``present`` minus joints strictly inside an
    ignore region (all sides tested in one pass)."""
    if not regions:
        return [present for _, present in people]
    points = np.concatenate([xy[present] for xy, present in people])
    inside = inside_any(points, regions)
    out, start = [], 0
    for _, present in people:
        kept = present.copy()
        n = int(present.sum())
        kept[present] = ~inside[start:start + n]
        out.append(kept)
        start += n
    return out


def _distances(gt_xy: np.ndarray, pr_xy: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """(P, G, J) normalised errors. Values near the threshold are recomputed the way poseval
    does (``np.linalg.norm`` of a 2-vector, a BLAS dot that may fuse multiply-adds) so that an
    error on the threshold falls on the same side as in poseval."""
    diff = gt_xy[None] - pr_xy[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.sqrt(diff[..., 0] ** 2 + diff[..., 1] ** 2) / heads[None, :, None]
        near = np.argwhere(np.abs(dist - DIST_THRESHOLD) < 1e-9)
        for p, g, j in near:
            dist[p, g, j] = np.linalg.norm(diff[p, g, j]) / heads[g]
    return dist


def frame_samples(gt_xy: np.ndarray, has_gt: np.ndarray, heads: np.ndarray,
                  pr_xy: np.ndarray, has_pr: np.ndarray) -> np.ndarray:
    """(P, J) hit per predicted joint after poseval's per-frame person assignment."""
    n_pr, n_gt = len(pr_xy), len(gt_xy)
    if n_gt == 0 or n_pr == 0:
        return np.zeros(has_pr.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        match = ((_distances(gt_xy, pr_xy, heads) <= DIST_THRESHOLD)
                 & has_pr[:, None] & has_gt[None])
    pck = 1.0 * match.sum(axis=2) / has_gt.sum(axis=1)[None]
    best_gt = np.argmax(pck, axis=1)
    keep = np.zeros_like(pck)
    keep[np.arange(n_pr), best_gt] = pck[np.arange(n_pr), best_gt]
    pr_of_gt = np.argmax(keep, axis=0)
    pr_of_gt[keep.max(axis=0) == 0] = -1
    gt_of_pr = np.full(n_pr, -1)
    gt_of_pr[pr_of_gt[pr_of_gt >= 0]] = np.flatnonzero(pr_of_gt >= 0)
    hits = np.zeros(has_pr.shape, dtype=bool)
    matched = gt_of_pr >= 0
    hits[matched] = match[np.flatnonzero(matched), gt_of_pr[matched]]
    return hits & has_pr


def _gt_frames(gt: GroundTruth, index: list[int]
               ) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per evaluated frame (a GT image with at least one person): its position in the GT file,
    GT joints (G, J, 2), annotated (G, J) and head sizes (G,)."""
    k = gt.num_keypoints()
    out = []
    for pos, anns in enumerate(gt.annotations_by_image):
        if not anns:
            continue
        xy, present, heads = [], [], []
        for ann in anns:
            kp = np.asarray(ann.get("keypoints") or [0.0] * 3 * k, dtype=np.float64)
            if kp.size != 3 * k:
                raise gt.error(f"annotation id {ann.get('id')!r} has {kp.size} keypoint values")
            kp = kp.reshape(k, 3)[index]
            if not (kp[:, 2] > 0).any():
                continue  # a person without joints never matches and adds no GT joint
            if len(ann.get("bbox_head") or ()) != 4:
                raise gt.error(f"annotation id {ann.get('id')!r} has joints but no 'bbox_head' "
                               "[x, y, w, h] (the PCKh normaliser)")
            xy.append(kp[:, :2])
            present.append(kp[:, 2] > 0)
            heads.append(head_size(ann["bbox_head"]))
        out.append((pos, np.array(xy).reshape(-1, len(index), 2),
                    np.array(present, dtype=bool).reshape(-1, len(index)), np.array(heads)))
    return out


def build_samples(gt: GroundTruth, preds: Predictions) -> tuple[Samples, dict[str, Any]]:
    names = gt.keypoint_names or list(POSETRACK17.keypoints)
    missing = [n for n in JOINTS if n not in names]
    if missing:
        raise gt.error(f"posetrack-map needs keypoints named {missing}")
    index = [names.index(n) for n in JOINTS]
    frames = _gt_frames(gt, index)
    kp = preds.keypoints[:, index]
    by_image = preds.by_image(len(gt.image_ids), gt.image_index)
    joint, score, hit, unit, n_gt = [], [], [], [], np.zeros((len(frames), len(JOINTS)))
    for f, (pos, gt_xy, has_gt, heads) in enumerate(frames):
        pr = kp[by_image[pos]]
        has_gt, has_pr = _keep_outside(_regions(gt.images[pos]), (gt_xy, has_gt),
                                       (pr[:, :, :2], ~(pr == 0).all(axis=2)))
        keep_gt, keep_pr = has_gt.any(axis=1), has_pr.any(axis=1)
        gt_xy, has_gt, heads = gt_xy[keep_gt], has_gt[keep_gt], heads[keep_gt]
        pr, has_pr = pr[keep_pr], has_pr[keep_pr]
        hits = frame_samples(gt_xy, has_gt, heads, pr[:, :, :2], has_pr)
        p_idx, j_idx = np.nonzero(has_pr)  # prediction-major: poseval's append order
        joint.append(j_idx)
        score.append(pr[p_idx, j_idx, 2])
        hit.append(hits[p_idx, j_idx])
        unit.append(np.full(len(j_idx), f))
        n_gt[f] = has_gt.sum(axis=0)
    samples = Samples(_cat(joint, np.int64), _cat(score, np.float64), _cat(hit, bool),
                      _cat(unit, np.int64), n_gt)
    dropped = len(preds) - sum(len(by_image[pos]) for pos, *_ in frames)
    return samples, {"frames": len(frames), "predictions_dropped": dropped}


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """poseval's ``VOCap``: area under the monotone precision envelope."""
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


class PosetrackPrepared:
    """Samples sorted once per joint; a resample only reweights them."""

    def __init__(self, samples: Samples, details: dict[str, Any]) -> None:
        self.n_units = len(samples.n_gt)
        self.details = details
        self._n_gt = samples.n_gt
        self._per_joint = []
        for j in range(len(JOINTS)):
            idx = np.flatnonzero(samples.joint == j)
            idx = idx[np.argsort(-samples.score[idx], kind="stable")]
            self._per_joint.append((samples.hit[idx], samples.unit[idx]))

    def point(self) -> dict[str, float]:
        return self.resampled(np.ones(self.n_units, dtype=np.int64))

    def resampled(self, weights: np.ndarray) -> dict[str, float]:
        ap = np.zeros((len(JOINTS) + 1, 1))
        n_gt = weights @ self._n_gt
        for j, (hit, unit) in enumerate(self._per_joint):
            w = weights[unit]
            kept = w > 0
            w, hit = w[kept], hit[kept]
            if not len(w):
                continue
            npos = np.cumsum(hit * w).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                recall = npos / float(n_gt[j])
            precision = npos / np.cumsum(w).astype(np.float64)
            ap[j] = np.nan if n_gt[j] == 0 else voc_ap(recall, precision) * 100
        defined = np.argwhere(~np.isnan(ap[: len(JOINTS), 0]))
        # poseval's own expression on its (16, 1) array, so the mean is summed as it sums it
        ap[len(JOINTS)] = ap[defined, 0].mean() if len(defined) else np.nan
        by_name = dict(zip(JOINTS, ap[:, 0]))
        out = {name: float(np.array([by_name[j] for j in joints]).mean())
               for name, joints in GROUPS}
        out["Total"] = float(ap[len(JOINTS), 0])
        out.update({f"joint/{n}": float(by_name[n]) for n in JOINTS})
        return out


def prepare_posetrack(gt: GroundTruth, preds: PredictionSource,
                      sigmas: Sequence[float] | None = None) -> PosetrackPrepared:
    predictions = load_predictions(preds, gt, gt.num_keypoints())
    samples, details = build_samples(gt, predictions)
    details.update({"engine": "mpbench", "predictions": len(predictions)})
    return PosetrackPrepared(samples, details)


POSETRACK_MAP = ProtocolSpec(
    name="posetrack-map", headline="Total", scale="percent", unit="frame",
    summary="PoseTrack multi-person per-joint AP with poseval's semantics, percent",
    prepare=prepare_posetrack)

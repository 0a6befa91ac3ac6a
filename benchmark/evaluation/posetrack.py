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

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.datasets.layouts import POSETRACK17, canonical_joint_name
from benchmark.evaluation.base import PredictionSource, ProtocolSpec
from benchmark.evaluation.geometry import group_boxes, inside_rings
from benchmark.evaluation.inputs import (
    GroundTruth,
    Predictions,
    bad_row,
    keypoint_problem,
    pack_rows,
    stable_argsort,
)
from benchmark.evaluation.layout_map import AcceptedLayouts

DIST_THRESHOLD = 0.5
HEAD_BIAS = 0.6
JOINTS = tuple(n for n in POSETRACK17.keypoints if n not in ("left_ear", "right_ear"))
#: poseval's table columns (``getCum``), in its order of joints within each group.
GROUPS = (("Head", ("head_top", "head_bottom", "nose")),
          ("Shoulder", ("right_shoulder", "left_shoulder")),
          ("Elbow", ("right_elbow", "left_elbow")), ("Wrist", ("right_wrist", "left_wrist")),
          ("Hip", ("right_hip", "left_hip")), ("Knee", ("right_knee", "left_knee")),
          ("Ankle", ("right_ankle", "left_ankle")))
#: The prediction layout scored: the ground truth's (PoseTrack17 for PoseTrack18 files),
#: joint i of a prediction being joint i of the ground truth.
PRED_LAYOUTS = AcceptedLayouts("posetrack-map")


@dataclass(frozen=True)
class Samples:
    """All (joint, score, hit) samples, in evaluation order within each joint, and GT joint
    counts per frame."""

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


def _norms(d: np.ndarray) -> np.ndarray:
    """``np.linalg.norm`` of each row of ``d`` (N, 2), bit for bit: the norm of a vector is
    ``sqrt(x.dot(x))``, a BLAS dot that may fuse multiply-adds; ``matmul`` of (1, 2) x (2, 1)
    stacks calls the same dot."""
    d = np.ascontiguousarray(d, dtype=np.float64)
    return np.sqrt(np.matmul(d[:, None, :], d[:, :, None])[:, 0, 0])


def head_sizes(boxes: np.ndarray) -> np.ndarray:
    """:func:`head_size` of every row of ``boxes`` (N, 4), vectorised, same bits."""
    x1, y1 = boxes[:, 0], boxes[:, 1]
    d = np.column_stack([(x1 + boxes[:, 2]) - x1, (y1 + boxes[:, 3]) - y1])
    return HEAD_BIAS * _norms(d)


@dataclass(frozen=True)
class _Persons:
    """GT persons or predictions of the evaluated frames, joint-major, sorted by frame (then
    file order)."""

    x: np.ndarray  # (15, N)
    y: np.ndarray  # (15, N)
    present: np.ndarray  # (15, N) bool
    frame: np.ndarray  # (N,)

    def take(self, rows: np.ndarray) -> _Persons:
        return _Persons(np.take(self.x, rows, axis=1), np.take(self.y, rows, axis=1),
                        np.take(self.present, rows, axis=1), self.frame[rows])

    def extent(self) -> tuple[np.ndarray, ...]:
        """``x1, y1, x2, y2`` of each person's present joints (NaN when none)."""
        x = np.where(self.present, self.x, np.nan)
        y = np.where(self.present, self.y, np.nan)
        return (np.fmin.reduce(x, axis=0), np.fmin.reduce(y, axis=0),
                np.fmax.reduce(x, axis=0), np.fmax.reduce(y, axis=0))


def _gt_persons(gt: GroundTruth, index: list[int]
                ) -> tuple[np.ndarray, _Persons, np.ndarray]:
    """Evaluated frames (GT image positions with at least one annotation), the GT persons with
    an annotated joint (frame = position in that list), and their head sizes."""
    k = gt.num_keypoints()
    order, pos = gt.annotation_positions  # sorted by image position
    new_frame = np.r_[True, pos[1:] != pos[:-1]] if len(pos) else np.zeros(0, dtype=bool)
    frames, frame = pos[new_frame], np.cumsum(new_frame) - 1
    anns = [gt.annotations[i] for i in order.tolist()]
    zeros = [0.0] * (3 * k)
    rows = [ann.get("keypoints") or zeros for ann in anns]
    try:
        kp = pack_rows(rows, 3 * k).reshape(-1, k, 3)
    except ValueError:
        bad = anns[bad_row(rows, 3 * k)]
        raise gt.error(keypoint_problem(bad, k)) from None
    kp = kp[:, index]
    present = kp[:, :, 2] > 0
    has = np.flatnonzero(present.any(axis=1))  # a person without joints adds nothing
    boxes = [anns[i].get("bbox_head") for i in has.tolist()]
    try:
        box = pack_rows(boxes, 4)
    except ValueError:
        bad = anns[int(has[max(bad_row(boxes, 4), 0)])]
        raise gt.error(f"annotation id {bad.get('id')!r} has joints but no 'bbox_head' "
                       "[x, y, w, h] (the PCKh normaliser)") from None
    kp = kp[has]
    persons = _Persons(np.ascontiguousarray(kp[:, :, 0].T), np.ascontiguousarray(kp[:, :, 1].T),
                       np.ascontiguousarray(present[has].T), frame[has])
    return frames, persons, head_sizes(box)


@dataclass(frozen=True)
class _Rings:
    """Ignore-region rings of the evaluated frames: vertices concatenated."""

    x: np.ndarray
    y: np.ndarray
    length: np.ndarray  # (R,) vertices per ring
    frame: np.ndarray  # (R,)


def _regions(gt: GroundTruth, frames: np.ndarray) -> _Rings:
    """Ignore-region rings of the evaluated frames and the frame of each."""
    xs, ys, ring_frame = [], [], []
    images = gt.images
    for f, pos in enumerate(frames.tolist()):
        img = images[pos]
        rx, ry = img.get("ignore_regions_x") or [], img.get("ignore_regions_y") or []
        if not rx and not ry:
            continue
        if len(rx) != len(ry) or any(len(x) != len(y) for x, y in zip(rx, ry)):
            raise gt.error(f"image id {img.get('id')!r}: ignore_regions_x and ignore_regions_y "
                           "do not have the same shape")
        xs.extend(rx)
        ys.extend(ry)
        ring_frame.extend([f] * len(rx))
    length = np.array([len(x) for x in xs], dtype=np.int64)
    try:
        vx = np.array(list(itertools.chain.from_iterable(xs)), dtype=np.float64)
        vy = np.array(list(itertools.chain.from_iterable(ys)), dtype=np.float64)
    except (TypeError, ValueError):
        raise gt.error("an ignore region has a non-numeric coordinate") from None
    return _Rings(vx, vy, length, np.array(ring_frame, dtype=np.int64))


def _remove_ignored(people: list[_Persons], rings: _Rings, n_frames: int) -> None:
    """Unset ``present`` for joints strictly inside an ignore region of their frame (every
    joint of every side in one vectorised pass; only joints within the bounding box of their
    frame's regions are tested against the polygons)."""
    if not len(rings.length):
        return
    box = group_boxes(rings.x, rings.y, rings.length, rings.frame, n_frames)
    tested = []
    for p in people:
        b = box[:, p.frame]
        tested.append(np.nonzero(p.present & (p.x >= b[0]) & (p.y >= b[1])
                                 & (p.x <= b[2]) & (p.y <= b[3])))
    px = np.concatenate([p.x[j, n] for p, (j, n) in zip(people, tested)])
    py = np.concatenate([p.y[j, n] for p, (j, n) in zip(people, tested)])
    group = np.concatenate([p.frame[n] for p, (_, n) in zip(people, tested)])
    inside = inside_rings(px, py, group, rings.x, rings.y, rings.length, rings.frame)
    start = 0
    for p, (j, n) in zip(people, tested):
        p.present[j, n] = ~inside[start:start + len(j)]
        start += len(j)


def _near_threshold(dist: np.ndarray, both: np.ndarray, dx: np.ndarray, dy: np.ndarray,
                    head: np.ndarray) -> None:
    """Recompute errors within 1e-9 of the threshold the way poseval does
    (``np.linalg.norm(diff) / head``) so that an error on the threshold falls on the same
    side as in poseval."""
    j, c = np.nonzero(both & (np.abs(dist - DIST_THRESHOLD) < 1e-9))
    if len(j):
        dist[j, c] = _norms(np.column_stack([dx[j, c], dy[j, c]])) / head[c]


def match_frames(gt: _Persons, heads: np.ndarray, pr: _Persons) -> tuple[np.ndarray, np.ndarray]:
    """poseval's per-frame assignment for all frames at once.

    Returns, per prediction, the matched GT (-1: none) and the (15, P) hits of its joints. All
    (prediction, GT) pairs of every frame are laid out prediction-major (GT file order within),
    pairs whose joint extents are further apart than the threshold (so no joint can match) are
    left out, and the two argmax rules of poseval become sorts on the remaining pairs.
    """
    n_pr = len(pr.frame)
    hits = np.zeros(pr.present.shape, dtype=bool)
    matched = np.full(n_pr, -1, dtype=np.int64)
    n_frames = int(max(gt.frame.max(initial=-1), pr.frame.max(initial=-1))) + 1
    gt_start = np.searchsorted(gt.frame, np.arange(n_frames + 1))  # gt sorted by frame
    count = (gt_start[1:] - gt_start[:-1])[pr.frame]
    seg = np.cumsum(count) - count
    pair_pr = np.repeat(np.arange(n_pr), count)
    pair_gt = np.arange(len(pair_pr)) - np.repeat(seg - gt_start[pr.frame], count)

    # joint extents: no joint of a pair can match when the boxes are > threshold apart
    gx1, gy1, gx2, gy2 = (v[pair_gt] for v in gt.extent())
    px1, py1, px2, py2 = (v[pair_pr] for v in pr.extent())
    gap = np.maximum(np.maximum(gx1 - px2, px1 - gx2), np.maximum(gy1 - py2, py1 - gy2))
    close = gap <= DIST_THRESHOLD * heads[pair_gt] * (1 + 1e-6)
    pair_pr, pair_gt = pair_pr[close], pair_gt[close]
    if not len(pair_pr):
        return matched, hits

    # (15, C) joint matches of the remaining pairs
    dx = gt.x[:, pair_gt] - pr.x[:, pair_pr]
    dy = gt.y[:, pair_gt] - pr.y[:, pair_pr]
    head = heads[pair_gt]
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.sqrt(dx * dx + dy * dy) / head
        both = gt.present[:, pair_gt] & pr.present[:, pair_pr]
        _near_threshold(dist, both, dx, dy, head)
        joint_match = both & (dist <= DIST_THRESHOLD)
    n_match = np.count_nonzero(joint_match, axis=0)
    positive = np.flatnonzero(n_match)  # a zero fraction never wins a GT
    pair_pr, pair_gt, joint_match = pair_pr[positive], pair_gt[positive], joint_match[:, positive]
    pck = 1.0 * n_match[positive] / np.count_nonzero(gt.present, axis=0)[pair_gt]
    if not len(pck):
        return matched, hits

    # each prediction keeps its best GT (highest fraction, first GT among equals): the pairs
    # are prediction-major with GTs in file order, so this is a first-argmax per segment
    chose = _first_argmax(pck, pair_pr)
    # each GT takes the best of the predictions that chose it (first prediction among equals)
    by_gt = chose[stable_argsort(pair_gt[chose])]
    won = by_gt[_first_argmax(pck[by_gt], pair_gt[by_gt])]
    matched[pair_pr[won]] = pair_gt[won]
    hits[:, pair_pr[won]] = joint_match[:, won]
    return matched, hits


def _first_argmax(values: np.ndarray, key: np.ndarray) -> np.ndarray:
    """For runs of equal ``key`` (grouped), the position of each run's first maximum."""
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    best = np.maximum.reduceat(values, start)
    size = np.diff(np.r_[start, len(values)])
    at_best = values == np.repeat(best, size)
    idx = np.where(at_best, np.arange(len(values)), len(values))
    return np.minimum.reduceat(idx, start)


def build_samples(gt: GroundTruth, preds: Predictions) -> tuple[Samples, dict[str, Any]]:
    names = [canonical_joint_name(n) for n in gt.keypoint_names or POSETRACK17.keypoints]
    missing = [n for n in JOINTS if n not in names]
    if missing:
        raise gt.error(f"posetrack-map needs keypoints named {missing}")
    index = [names.index(n) for n in JOINTS]
    frames, gt_people, heads = _gt_persons(gt, index)

    # predictions of evaluated frames, sorted by frame (file order within a frame)
    frame_of = np.full(len(gt.image_ids), -1, dtype=np.int64)
    frame_of[frames] = np.arange(len(frames))
    pred_frame = frame_of[preds.image_positions(gt)]
    order = stable_argsort(pred_frame + 1)  # -1: not an evaluated frame
    order = order[pred_frame[order] >= 0]
    rows = preds.keypoints.reshape(len(preds), 3 * preds.num_keypoints)[order]
    column = 3 * np.array(index)
    x, y, score = (np.ascontiguousarray(rows[:, column + c].T) for c in range(3))
    pr_people = _Persons(x, y, ~((x == 0) & (y == 0) & (score == 0)), pred_frame[order])

    _remove_ignored([gt_people, pr_people], _regions(gt, frames), len(frames))
    keep = np.flatnonzero(gt_people.present.any(axis=0))  # left without joints: dropped
    gt_people, heads = gt_people.take(keep), heads[keep]
    keep = np.flatnonzero(pr_people.present.any(axis=0))
    pr_people, score = pr_people.take(keep), score[:, keep]

    _, hits = match_frames(gt_people, heads, pr_people)
    # one sample per predicted joint; within a joint, in poseval's append order (frames in GT
    # file order, predictions in file order)
    joint, pred = np.nonzero(pr_people.present)
    gj, gn = np.nonzero(gt_people.present)
    n_gt = np.bincount(gt_people.frame[gn] * len(JOINTS) + gj,
                       minlength=len(frames) * len(JOINTS)).reshape(len(frames), len(JOINTS))
    samples = Samples(joint.astype(np.int64), score[joint, pred], hits[joint, pred],
                      pr_people.frame[pred], n_gt.astype(np.float64))
    return samples, {"frames": len(frames), "predictions_dropped": len(preds) - len(order)}


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
        # group by joint (a stable radix sort of small ints), then by descending score: ties
        # keep the evaluation order
        by_joint = np.arange(len(samples.joint))
        if np.any(samples.joint[1:] < samples.joint[:-1]):
            by_joint = np.argsort(samples.joint.astype(np.int8), kind="stable")
        bounds = np.searchsorted(samples.joint[by_joint], np.arange(len(JOINTS) + 1))
        for j in range(len(JOINTS)):
            idx = by_joint[bounds[j]:bounds[j + 1]]
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
                      sigmas: Sequence[float] | None = None, *,
                      pred_layout: str | None = None) -> PosetrackPrepared:
    predictions, layout = PRED_LAYOUTS.load(preds, gt, pred_layout, arrays=True)
    samples, details = build_samples(gt, predictions)
    details.update({"engine": "mpbench", "pred_layout": layout.name,
                    "predictions": len(predictions)})
    return PosetrackPrepared(samples, details)


POSETRACK_MAP = ProtocolSpec(
    name="posetrack-map", headline="Total", scale="percent", unit="frame",
    summary="PoseTrack multi-person per-joint AP with poseval's semantics, percent",
    prepare=prepare_posetrack, layouts=PRED_LAYOUTS)

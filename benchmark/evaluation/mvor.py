"""``mvor-pck``: MVOR's PCK@0.2 (CAMMA-public/MVOR ``lib/eval_pck_2dpose.py`` semantics).

COCO-17 predictions are scored against MVOR's 10 upper-body joints. Each rule below is the
reference script's, including its quirks, because the goal is the number it prints:

- A keypoint at (0, 0) is absent (prediction confidences and GT visibilities are not read).
- GT persons: ``only_bbox`` annotations and persons without a labelled joint are skipped.
- Matching is per GT person, without a one-to-one constraint: candidates are the image's
  predictions whose keypoint extent covers more than 0.3 of the GT keypoint box (``+1`` pixel
  widths); the highest score wins, and the winner is the *first prediction of the image* whose
  score is within 1e-6 of that maximum (which may even be a non-candidate).
- A joint is correct when its error is <= 0.2 x max(x-extent + 1, y-extent + 1) of the GT
  person's labelled joints; an unlabelled GT joint, a missing predicted joint or an unmatched
  person counts as wrong.

Values are percentages, unrounded (the script prints them with one decimal).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.datasets.layouts import COCO17, MVOR10
from benchmark.evaluation.base import PredictionSource, ProtocolSpec, sum_by_unit
from benchmark.evaluation.inputs import GroundTruth, Predictions, load_predictions

THRESHOLD = 0.2
MIN_OVERLAP = 0.3
SCORE_TIE = 1e-6
#: Reported groups: each averages a left/right (or head/neck) pair of MVOR joints.
GROUPS = (("Head", "head", "neck"), ("Shoulder", "left_shoulder", "right_shoulder"),
          ("Hip", "left_hip", "right_hip"), ("Elbow", "left_elbow", "right_elbow"),
          ("Wrist", "left_wrist", "right_wrist"))


@dataclass(frozen=True)
class MvorPersons:
    """The evaluated GT persons, in the reference's order (image file order, then annotation)."""

    points: np.ndarray  # (G, 10, 2), NaN where unlabelled
    image: np.ndarray  # (G,) image position in the GT file


def gt_persons(gt: GroundTruth) -> MvorPersons:
    k = MVOR10.num_keypoints
    names = gt.keypoint_names
    if names is not None and tuple(names) != MVOR10.keypoints:
        raise gt.error(f"mvor-pck expects MVOR's joints {list(MVOR10.keypoints)}, got {names}")
    rows, image = [], []
    for pos, anns in enumerate(gt.annotations_by_image):
        for ann in anns:
            if ann.get("only_bbox", 0) != 0 or not ann.get("keypoints"):
                continue
            if len(ann["keypoints"]) != 3 * k:
                raise gt.error(f"annotation id {ann.get('id')!r} has "
                               f"{len(ann['keypoints'])} keypoint values, expected {3 * k}")
            rows.append(ann["keypoints"])
            image.append(pos)
    xy = np.array(rows, dtype=np.float64).reshape(-1, k, 3)[:, :, :2]
    absent = (xy[:, :, 0] == 0) & (xy[:, :, 1] == 0)
    xy[absent] = np.nan
    keep = ~absent.all(axis=1)
    return MvorPersons(xy[keep], np.array(image, dtype=np.int64)[keep])


def coco_to_mvor(xy: np.ndarray) -> np.ndarray:
    """(N, 17, 2) COCO points (NaN = absent) -> (N, 10, 2) MVOR points.

    Head: mid-eyes, else mid-ears, else nose, else the one eye, else the one ear.
    Neck: mid-shoulders, else the one shoulder. The other joints are the same names.
    """
    c = COCO17.index

    def pt(name: str) -> np.ndarray:
        return xy[:, c[name]]

    def has(p: np.ndarray) -> np.ndarray:
        return ~np.isnan(p).any(axis=1, keepdims=True)

    def first_of(*options: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        out = np.full((len(xy), 2), np.nan)
        for present, value in reversed(options):
            out = np.where(present, value, out)
        return out

    leye, reye, lear, rear = pt("left_eye"), pt("right_eye"), pt("left_ear"), pt("right_ear")
    lsho, rsho = pt("left_shoulder"), pt("right_shoulder")
    head = first_of((has(leye) & has(reye), (leye + reye) / 2),
                    (has(lear) & has(rear), (lear + rear) / 2),
                    (has(pt("nose")), pt("nose")), (has(reye), reye), (has(leye), leye),
                    (has(rear), rear), (has(lear), lear))
    neck = first_of((has(lsho) & has(rsho), (lsho + rsho) / 2), (has(rsho), rsho),
                    (has(lsho), lsho))
    out = np.empty((len(xy), MVOR10.num_keypoints, 2))
    for j, name in enumerate(MVOR10.keypoints):
        out[:, j] = head if name == "head" else neck if name == "neck" else pt(name)
    return out


def _extent(points: np.ndarray) -> np.ndarray:
    """(N, K, 2) -> (N, 4) ``[x1, y1, x2, y2]`` over present points (NaN row if none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        lo, hi = np.nanmin(points, axis=1), np.nanmax(points, axis=1)
    return np.concatenate([lo, hi], axis=1)


def match(persons: MvorPersons, pred_xy: np.ndarray, pred_scores: np.ndarray,
          pred_image: np.ndarray) -> np.ndarray:
    """Index of the prediction used for each GT person, -1 when none (vectorised over pairs)."""
    order = np.argsort(pred_image, kind="stable")  # file order kept within an image
    n_images = int(max(persons.image.max(initial=-1), pred_image.max(initial=-1))) + 1
    starts = np.searchsorted(pred_image[order], np.arange(n_images + 1))
    counts = (starts[1:] - starts[:-1])[persons.image]
    chosen = np.full(len(persons.image), -1, dtype=np.int64)
    if counts.sum() == 0:
        return chosen
    pair_gt = np.repeat(np.arange(len(counts)), counts)
    seg_start = np.cumsum(counts) - counts
    within = np.arange(len(pair_gt)) - np.repeat(seg_start, counts)
    pair_pred = order[starts[persons.image][pair_gt] + within]

    gt_box = _extent(persons.points)[pair_gt]
    det_box = _extent(pred_xy)[pair_pred]
    area = (gt_box[:, 2] - gt_box[:, 0] + 1) * (gt_box[:, 3] - gt_box[:, 1] + 1)
    w = np.minimum(gt_box[:, 2], det_box[:, 2]) - np.maximum(gt_box[:, 0], det_box[:, 0]) + 1
    h = np.minimum(gt_box[:, 3], det_box[:, 3]) - np.maximum(gt_box[:, 1], det_box[:, 1]) + 1
    w[w < 0] = 0
    h[h < 0] = 0
    with np.errstate(invalid="ignore"):
        candidate = (w * h) / area > MIN_OVERLAP
    scores = pred_scores[pair_pred]
    best = np.full(len(counts), -np.inf)
    np.maximum.at(best, pair_gt[candidate], scores[candidate])
    tie = (np.abs(scores - best[pair_gt]) < SCORE_TIE) & np.isfinite(best[pair_gt])
    first = np.full(len(counts), len(pair_gt))
    np.minimum.at(first, pair_gt[tie], np.flatnonzero(tie))
    has = first < len(pair_gt)
    chosen[has] = pair_pred[first[has]]
    return chosen


def joint_hits(persons: MvorPersons, mvor_pred: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """(G, 10) 1.0 where the matched prediction's joint is within 0.2 x the person's scale."""
    gt = persons.points
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.max(np.nanmax(gt, axis=1) - np.nanmin(gt, axis=1) + 1, axis=1)
    pred = np.full_like(gt, np.nan)
    pred[chosen >= 0] = mvor_pred[chosen[chosen >= 0]]
    dist = np.sqrt(np.sum(np.square(pred - gt), axis=2))
    with np.errstate(invalid="ignore"):
        return (dist <= THRESHOLD * scale[:, None]).astype(np.float64)


class MvorPrepared:
    """Per-image joint hit counts; stats are ratios of weighted sums."""

    def __init__(self, hits: np.ndarray, unit: np.ndarray, details: dict[str, Any]) -> None:
        self._hits = sum_by_unit(hits, unit).reshape(-1, MVOR10.num_keypoints)
        self._persons = sum_by_unit(np.ones(len(unit)), unit)
        self.n_units = len(self._hits)
        self.details = details

    def point(self) -> dict[str, float]:
        return self.resampled(np.ones(self.n_units, dtype=np.int64))

    def resampled(self, weights: np.ndarray) -> dict[str, float]:
        count = float(self._persons @ weights)
        pck = (weights @ self._hits) / count if count else np.full(self._hits.shape[1], np.nan)
        return mvor_stats(pck)


def mvor_stats(pck: np.ndarray) -> dict[str, float]:
    """Per-joint rates (fractions) -> the reference's groups and mean, in percent."""
    idx = MVOR10.index
    groups = np.array([(pck[idx[a]] + pck[idx[b]]) / 2.0 for _, a, b in GROUPS])
    out = {name: float(v * 100) for (name, _, _), v in zip(GROUPS, groups)}
    out["Mean"] = float(np.mean(groups) * 100)
    out.update({f"joint/{n}": float(pck[j] * 100) for j, n in enumerate(MVOR10.keypoints)})
    return out


def prepare_mvor(gt: GroundTruth, preds: PredictionSource,
                 sigmas: Sequence[float] | None = None) -> MvorPrepared:
    persons = gt_persons(gt)
    predictions: Predictions = load_predictions(preds, gt, COCO17.num_keypoints)
    kp = predictions.keypoints
    xy = kp[:, :, :2].copy()
    xy[(xy[:, :, 0] == 0) & (xy[:, :, 1] == 0)] = np.nan
    pred_image = np.array([gt.image_index[i] for i in predictions.image_ids], dtype=np.int64)
    chosen = match(persons, xy, predictions.scores, pred_image)
    hits = joint_hits(persons, coco_to_mvor(xy), chosen)
    details = {"engine": "mpbench", "gt_persons": len(chosen),
               "matched_persons": int((chosen >= 0).sum()), "predictions": len(predictions)}
    return MvorPrepared(hits, persons.image, details)


MVOR_PCK = ProtocolSpec(
    name="mvor-pck", headline="Mean", scale="percent", unit="image",
    summary="MVOR PCK@0.2 of COCO-17 predictions on MVOR's 10 upper-body joints, percent",
    prepare=prepare_mvor)

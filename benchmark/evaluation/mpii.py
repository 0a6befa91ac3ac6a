"""``mpii-pckh``: MPII PCKh as HRNet's and mmpose's MPII evaluation computes it.

Ground truth is mpbench's canonical JSON (zero-based pixels, ``head_box: [x1, y1, x2, y2]`` per
annotation); :func:`benchmark.datasets.mpii.mpii_mat_to_coco` builds it from the ``gt_valid.mat``
those codebases use.

- Normaliser: 0.6 x the head box diagonal. A joint is correct when ``error / normaliser <= t``.
- A GT joint counts when it is labelled (visibility > 0); nothing else is read.
- Groups: Head = head_top; the others average the left and right joint rates.
- Mean (and Mean@0.1) = total hits / total labelled joints over the 14 joints other than pelvis
  and thorax (HRNet's ``jnt_ratio`` weighting, summed as HRNet sums it).
- The PCKh curve uses thresholds ``arange(0, 0.51, 0.01)``; ``Mean@0.1`` reads it at 0.10 (HRNet
  prints index 11, i.e. 0.11, under that name; mmpose uses 0.10).

Pairing (mpbench's choice; MPII itself is single-person, evaluated per GT person): within an
image, predictions and GT persons are paired one-to-one by ``scipy``'s linear assignment,
minimising the mean normalised error over each GT person's labelled joints. A GT person left
without a prediction scores 0 on all its joints; predictions left over are ignored. Predicted
coordinates are used as they are (no "absent" value), as HRNet does.

Values are percentages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.datasets.layouts import (
    MPII16,
    describe_name_differences,
    joint_name_differences,
)
from benchmark.evaluation import native
from benchmark.evaluation.base import PredictionSource, ProtocolSpec, sum_by_unit
from benchmark.evaluation.inputs import (
    GroundTruth,
    bad_row,
    pack_rows,
    stable_argsort,
    take_rows,
)
from benchmark.evaluation.layout_map import AcceptedLayouts

SC_BIAS = 0.6
THRESHOLD = 0.5
CURVE = np.arange(0, 0.5 + 0.01, 0.01)  # HRNet's thresholds; CURVE[50] == 0.5 exactly
AT_05 = int(np.flatnonzero(CURVE == THRESHOLD)[0])
AT_01 = int(np.flatnonzero(CURVE == 0.1)[0])
#: Joints outside every group and outside the mean.
EXCLUDED = ("pelvis", "thorax")
GROUPS = (("Head", ("head_top",)), ("Shoulder", ("left_shoulder", "right_shoulder")),
          ("Elbow", ("left_elbow", "right_elbow")), ("Wrist", ("left_wrist", "right_wrist")),
          ("Hip", ("left_hip", "right_hip")), ("Knee", ("left_knee", "right_knee")),
          ("Ankle", ("left_ankle", "right_ankle")))
#: The prediction layout scored: MPII's 16 joints (the references define no other mapping).
PRED_LAYOUTS = AcceptedLayouts("mpii-pckh", (MPII16,))


@dataclass(frozen=True)
class MpiiPersons:
    kp: np.ndarray  # (G, 16, 3): x, y and the labelled flag (> 0), C-contiguous
    labelled: np.ndarray  # (G, 16) bool
    normaliser: np.ndarray  # (G,)
    image: np.ndarray  # (G,) image position (sorted: image file order, then annotation order)

    @property
    def xy(self) -> np.ndarray:
        """``(G, 16, 2)`` joint coordinates (a view)."""
        return self.kp[:, :, :2]


def gt_persons(gt: GroundTruth) -> MpiiPersons:
    k = MPII16.num_keypoints
    names = gt.keypoint_names
    differ = [] if names is None else joint_name_differences(names, MPII16)
    if differ:  # MPII's own spellings (``r ankle``, ``r_ankle``) are the same joints
        raise gt.error(f"mpii-pckh expects MPII's 16 joints {list(MPII16.keypoints)} in this "
                       f"order; these differ: {describe_name_differences(differ)}")
    cols = gt.annotation_table({"keypoints": 3 * k, "head_box": 4})  # one pass, file order
    order, image = gt.annotation_positions
    if cols is not None and all(col.present[order].all() for col in cols.values()):
        kp = take_rows(cols["keypoints"].rows, order).reshape(-1, k, 3)
        box = take_rows(cols["head_box"].rows, order)
    else:
        kp, box = _slow_rows(gt, order, k)
    # HRNet: norm(headboxes[1] - headboxes[0], axis=0) * SC_BIAS, i.e. sqrt(dx^2 + dy^2)
    dx, dy = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    norm = np.sqrt(dx * dx + dy * dy) * SC_BIAS
    kp = np.ascontiguousarray(kp)
    return MpiiPersons(kp, kp[:, :, 2] > 0, norm, image)


def _slow_rows(gt: GroundTruth, order: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints and head boxes of the evaluated persons, or an error naming the first person
    without them."""
    anns = [gt.annotations[i] for i in order.tolist()]
    try:
        kp = pack_rows([ann.get("keypoints") for ann in anns], 3 * k).reshape(-1, k, 3)
        box = pack_rows([ann.get("head_box") for ann in anns], 4)
    except ValueError:
        bad = next((a for a in anns if bad_row([a.get("keypoints")], 3 * k) == 0
                    or bad_row([a.get("head_box")], 4) == 0), {"id": "?"})
        raise gt.error(f"annotation id {bad.get('id')!r} needs 'head_box' [x1, y1, x2, y2]"
                       f" and {3 * k} keypoint values") from None
    return kp, box


def pair(persons: MpiiPersons, pred_xy: np.ndarray, pred_image: np.ndarray) -> np.ndarray:
    """Prediction index paired with each GT person (-1: none), one-to-one within an image.

    Images with one GT person and one prediction (all of them in the converted ``.mat``) are
    paired in one vectorised step; only images with several persons or predictions run the
    linear assignment.
    """
    g = len(persons.image)
    chosen = np.full(g, -1, dtype=np.int64)
    n_images = int(max(persons.image.max(initial=-1), pred_image.max(initial=-1))) + 1
    gt_count = np.bincount(persons.image, minlength=n_images)
    gt_start = np.cumsum(gt_count) - gt_count  # persons are sorted by image
    order = stable_argsort(pred_image)
    pr_count = np.bincount(pred_image, minlength=n_images)
    pr_start = np.cumsum(pr_count) - pr_count
    single = (gt_count == 1) & (pr_count == 1)
    chosen[gt_start[single]] = order[pr_start[single]]
    multi = np.flatnonzero((gt_count > 0) & (pr_count > 0) & ~single)
    if len(multi):
        from scipy.optimize import linear_sum_assignment  # slow import, rarely needed

        for img in multi.tolist():
            gts = np.arange(gt_start[img], gt_start[img] + gt_count[img])
            preds = order[pr_start[img]:pr_start[img] + pr_count[img]]
            err = _normalised_error(persons, gts, pred_xy[preds])  # (P, G)
            rows, cols = linear_sum_assignment(err)
            chosen[gts[cols]] = preds[rows]
    return chosen


def _normalised_error(persons: MpiiPersons, gts: np.ndarray, pred_xy: np.ndarray
                      ) -> np.ndarray:
    dist = np.linalg.norm(pred_xy[:, None] - persons.xy[gts][None], axis=3)
    dist = dist / persons.normaliser[gts][None, :, None]
    lab = persons.labelled[gts][None]
    err = np.where(lab, dist, 0).sum(axis=2) / np.maximum(lab.sum(axis=2), 1)
    return np.nan_to_num(err, nan=1e12, posinf=1e12)  # a zero-size head box: pair it last


def scaled_errors(persons: MpiiPersons, pred_kp: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """(G, 16) error / normaliser of each person's paired prediction (``pred_kp`` ``(N, 16,
    >=2)``); NaN when unpaired."""
    paired = chosen >= 0
    if not paired.any():
        return np.full(persons.xy.shape[:2], np.nan)
    if len(chosen) == len(pred_kp) and np.array_equal(chosen, np.arange(len(chosen))):
        rows = pred_kp  # the usual MPII file: prediction i is person i
    else:
        rows = np.take(pred_kp, np.where(paired, chosen, 0), axis=0)
    dx = rows[:, :, 0] - persons.xy[:, :, 0]
    dy = rows[:, :, 1] - persons.xy[:, :, 1]
    dx *= dx
    dy *= dy
    dx += dy
    err = np.sqrt(dx, out=dx)  # HRNet's norm over the coordinate axis: sqrt(dx^2 + dy^2)
    with np.errstate(invalid="ignore", divide="ignore"):
        err /= persons.normaliser[:, None]
    err[~paired] = np.nan
    return err


def first_hits(scaled: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """(G, 16) index of the first threshold of the curve at which each joint is a hit:
    ``searchsorted(CURVE, scaled, "left")``, ``len(CURVE)`` for NaN, inf, beyond the curve
    and unlabelled joints (never hits). A joint is a hit at ``CURVE[i]`` exactly when
    ``i >= first``.

    As the thresholds are 0.01 apart, ``first`` is ``ceil(100 * scaled)`` give or take one,
    settled by comparing with the thresholds themselves.
    """
    n = len(CURVE)
    with np.errstate(invalid="ignore"):
        first = np.ceil(np.clip(scaled, -1.0, 1.0) * 100).astype(np.int64)
        np.clip(first, 0, n, out=first)
        lower = np.maximum(first - 1, 0)
        first -= (first > 0) & (scaled <= CURVE[lower])  # one too high
        first += (first < n) & (scaled > CURVE[np.minimum(first, n - 1)])  # one too low
    first[~labelled | ~np.isfinite(scaled)] = n
    return first


def curve_hits(first: np.ndarray) -> np.ndarray:
    """(len(CURVE), 16) hit counts at every threshold of the curve, from :func:`first_hits`."""
    n = len(CURVE)
    k = first.shape[1]
    codes = (first + (n + 1) * np.arange(k)).ravel()
    counts = np.bincount(codes, minlength=k * (n + 1)).reshape(k, n + 1)
    return np.cumsum(counts, axis=1)[:, :n].T


def score_joints(persons: MpiiPersons, pred_kp: np.ndarray, chosen: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Hits ``(G, 2, 16)`` at the thresholds 0.5 and 0.1 (1.0 or 0.0) of every (person,
    joint), and the curve's hit counts (:func:`curve_hits`): one native loop when built, else
    :func:`scaled_errors` and :func:`first_hits` (the same numbers)."""
    g, k = persons.labelled.shape
    if native.kernels is None or not g:
        first = first_hits(scaled_errors(persons, pred_kp, chosen), persons.labelled)
        hits = np.stack([first <= AT_05, first <= AT_01], axis=1).astype(np.float64)
        return hits, curve_hits(first)
    hits = np.empty((g, 2, k))
    counts = np.empty((k, len(CURVE) + 1), dtype=np.int64)
    native.kernels.pckh(persons.kp, persons.normaliser,
                        np.ascontiguousarray(pred_kp, dtype=np.float64).reshape(-1, k, 3),
                        chosen.astype(np.int64), CURVE, np.array([AT_05, AT_01]), None, hits,
                        counts)
    return hits, np.cumsum(counts, axis=1)[:, :len(CURVE)].T


class MpiiPrepared:
    """Per-image hit and labelled-joint counts; stats are ratios of weighted sums.

    Resamples need only the hits at 0.5 and 0.1; the full curve is computed once (details).
    """

    def __init__(self, hits: np.ndarray, curve: np.ndarray, labelled: np.ndarray,
                 unit: np.ndarray, details: dict[str, Any]) -> None:
        self._hits = sum_by_unit(hits, unit)  # (units, 2, 16): at 0.5 and at 0.1
        self._count = sum_by_unit(labelled, unit)
        self.n_units = len(self._count)
        self.details = details
        pckh, ratio = _rates(self._count.sum(axis=0), curve.astype(np.float64))
        self.details["curve"] = {"thresholds": [round(float(t), 2) for t in CURVE],
                                 "Mean": [_weighted_mean(row, ratio) for row in pckh]}

    def point(self) -> dict[str, float]:
        return self.resampled(np.ones(self.n_units, dtype=np.int64))

    def resampled(self, weights: np.ndarray) -> dict[str, float]:
        (at05, at01), ratio = _rates(weights @ self._count,
                                     np.tensordot(weights, self._hits, axes=1))
        idx = MPII16.index
        out = {name: float(0.5 * (at05[idx[joints[0]]] + at05[idx[joints[1]]]))
               if len(joints) == 2 else float(at05[idx[joints[0]]]) for name, joints in GROUPS}
        out["Mean"] = _weighted_mean(at05, ratio)
        out["Mean@0.1"] = _weighted_mean(at01, ratio)
        out.update({f"joint/{n}": float(at05[j]) for j, n in enumerate(MPII16.keypoints)})
        return out


def _rates(count: np.ndarray, hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCKh rows (percent) per threshold, and HRNet's joint weights for the mean."""
    kept = np.ones(len(count), dtype=bool)
    kept[[MPII16.index[j] for j in EXCLUDED]] = False
    with np.errstate(invalid="ignore", divide="ignore"):
        pckh = 100.0 * hits / count
        ratio = np.where(kept, count, 0) / np.sum(np.where(kept, count, 0))
    return pckh, np.where(kept, ratio, 0.0)


def _weighted_mean(pckh: np.ndarray, ratio: np.ndarray) -> float:
    """HRNet's ``np.sum(PCKh * jnt_ratio)`` over its masked 16-vector (masked entries sum as 0).

    A joint without any labelled instance has weight 0 and is left out (HRNet would print NaN);
    otherwise the summed vector, and so the result, is HRNet's bit for bit.
    """
    return float(np.sum(np.where(ratio > 0, pckh * ratio, 0.0)))


def prepare_mpii(gt: GroundTruth, preds: PredictionSource,
                 sigmas: Sequence[float] | None = None, *,
                 pred_layout: str | None = None) -> MpiiPrepared:
    persons = gt_persons(gt)
    predictions, layout = PRED_LAYOUTS.load(preds, gt, pred_layout, arrays=True)
    pred_kp = predictions.keypoints
    chosen = pair(persons, pred_kp[:, :, :2], predictions.image_positions(gt))
    hits, curve = score_joints(persons, pred_kp, chosen)
    details = {"engine": "mpbench", "pred_layout": layout.name, "gt_persons": len(chosen),
               "paired_persons": int((chosen >= 0).sum()), "predictions": len(predictions)}
    return MpiiPrepared(hits, curve, persons.labelled, persons.image, details)


MPII_PCKH = ProtocolSpec(
    name="mpii-pckh", headline="Mean", scale="percent", unit="image",
    summary="MPII PCKh@0.5 (HRNet/mmpose semantics, head-box normaliser), percent",
    prepare=prepare_mpii, layouts=PRED_LAYOUTS)

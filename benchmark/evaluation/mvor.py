"""``mvor-pck``: MVOR's PCK@0.2 (CAMMA-public/MVOR ``lib/eval_pck_2dpose.py`` semantics).

Predictions are scored against MVOR's 10 upper-body joints, in one of two layouts: COCO-17,
converted as the script converts its ``coco_keypoints`` (:data:`SOURCES`), or MVOR's own 10
joints, compared joint for joint (the script's rules with the 10 predicted joints in place of
the converted ones, as MVOR's 10-joint ``keypoints`` field of its released predictions). Each
rule below is the reference script's, including its quirks, because the goal is the number it
prints:

- A keypoint at (0, 0) is absent (prediction confidences and GT visibilities are not read).
- GT persons: ``only_bbox`` annotations and persons without a labelled joint are skipped.
- Matching is per GT person, without a one-to-one constraint: candidates are the image's
  predictions whose keypoint extent (of the joints *as predicted*: 17 for COCO-17, the 10
  for MVOR's layout) covers more than 0.3 of the GT keypoint box (``+1`` pixel
  widths); the highest score wins, and the winner is the *first prediction of the image* whose
  score is within 1e-6 of that maximum (which may even be a non-candidate).
- A joint is correct when its error is <= 0.2 x max(x-extent + 1, y-extent + 1) of the GT
  person's labelled joints; an unlabelled GT joint, a missing predicted joint or an unmatched
  person counts as wrong.

Values are percentages, unrounded (the script prints them with one decimal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from benchmark.datasets.layouts import (
    COCO17,
    MVOR10,
    KeypointLayout,
    describe_name_differences,
    get_layout,
    joint_name_differences,
)
from benchmark.evaluation import native
from benchmark.evaluation.base import PredictionSource, ProtocolSpec, sum_by_unit
from benchmark.evaluation.inputs import (
    GroundTruth,
    Predictions,
    bad_row,
    keypoint_problem,
    pack_rows,
    present_boxes,
    stable_argsort,
    take_rows,
)
from benchmark.evaluation.layout_map import AcceptedLayouts

THRESHOLD = 0.2
MIN_OVERLAP = 0.3
SCORE_TIE = 1e-6
#: Reported groups: each averages a left/right (or head/neck) pair of MVOR joints.
GROUPS = (("Head", "head", "neck"), ("Shoulder", "left_shoulder", "right_shoulder"),
          ("Hip", "left_hip", "right_hip"), ("Elbow", "left_elbow", "right_elbow"),
          ("Wrist", "left_wrist", "right_wrist"))
#: The prediction layouts scored: MVOR's own (first: an empty file is read as it) and COCO-17.
PRED_LAYOUTS = AcceptedLayouts("mvor-pck", (MVOR10, COCO17))


@dataclass(frozen=True)
class MvorPersons:
    """The evaluated GT persons, in the reference's order (image file order, then annotation).

    Points are stored person-major (the layout the inputs are read in), (0, 0) where
    unlabelled in ``kp``, NaN in ``x`` and ``y``.
    """

    kp: np.ndarray  # (G, 10, 3), C-contiguous
    box: np.ndarray  # (G, 4) x1, y1, x2, y2 of the labelled joints
    image: np.ndarray  # (G,) image position in the GT file

    @cached_property
    def _xy(self) -> tuple[np.ndarray, np.ndarray]:
        return planes(self.kp)

    @property
    def x(self) -> np.ndarray:
        """``(G, 10)``, NaN where unlabelled."""
        return self._xy[0]

    @property
    def y(self) -> np.ndarray:
        return self._xy[1]


def planes(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, K, >=2)`` keypoints -> ``x, y`` ``(N, K)``, NaN where a point is at (0, 0)
    (absent)."""
    x, y = kp[:, :, 0], kp[:, :, 1]
    absent = (x == 0) & (y == 0)
    return np.where(absent, np.nan, x), np.where(absent, np.nan, y)


def gt_persons(gt: GroundTruth) -> MvorPersons:
    k = MVOR10.num_keypoints
    names = gt.keypoint_names
    differ = [] if names is None else joint_name_differences(names, MVOR10)
    if differ:
        raise gt.error(f"mvor-pck expects MVOR's 10 joints {list(MVOR10.keypoints)} in this "
                       f"order; these differ: {describe_name_differences(differ)}")
    cols = gt.annotation_table({"keypoints": 3 * k, "only_bbox": 1}, boxes={"keypoints"})
    order, pos = gt.annotation_positions
    if cols is not None:  # the usual case: the fields of every annotation read in one pass
        kps = cols["keypoints"]
        evaluated = kps.present[order] & (cols["only_bbox"].rows[order, 0] == 0)
        order, pos = order[evaluated], pos[evaluated]
        kp = take_rows(kps.rows, order).reshape(-1, k, 3)
        box = take_rows(kps.boxes, order)
    else:  # some value is unusual: the per-annotation rules, and an error if one is broken
        anns = gt.annotations
        evaluated = [anns[i].get("only_bbox", 0) == 0 and bool(anns[i].get("keypoints"))
                     for i in order.tolist()]
        order, pos = order[evaluated], pos[evaluated]
        rows = [anns[i]["keypoints"] for i in order.tolist()]
        try:
            kp = pack_rows(rows, 3 * k).reshape(-1, k, 3)
        except ValueError:
            raise gt.error(keypoint_problem(anns[int(order[bad_row(rows, 3 * k)])], k)) from None
        box = present_boxes(kp)
    keep = ~np.isnan(box[:, 0])  # a person without a labelled joint is not evaluated
    if keep.all():
        return MvorPersons(np.ascontiguousarray(kp), box, pos)
    return MvorPersons(kp[keep], box[keep], pos[keep])


#: MVOR's reference mapping (the only place it is written): for each MVOR joint, the COCO-17
#: joints that give it, in order of preference: a pair gives its mid-point (when both are
#: present), a single name that joint.
SOURCES: dict[str, tuple[tuple[str, ...], ...]] = {
    "head": (("left_eye", "right_eye"), ("left_ear", "right_ear"), ("nose",), ("right_eye",),
             ("left_eye",), ("right_ear",), ("left_ear",)),
    "neck": (("left_shoulder", "right_shoulder"), ("right_shoulder",), ("left_shoulder",)),
    **{name: ((name,),) for name in MVOR10.keypoints[2:]},
}
#: The same table for each accepted prediction layout: MVOR's own joints are themselves.
LAYOUT_SOURCES: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    COCO17.name: SOURCES, MVOR10.name: {name: ((name,),) for name in MVOR10.keypoints}}


def _source_table(layout: KeypointLayout) -> np.ndarray:
    """:data:`LAYOUT_SOURCES` of ``layout`` as joint indices ``(10, S, 2)`` for the native
    kernel: ``(a, -1)`` one joint, ``(a, b)`` a mid-point, ``(-1, -1)`` the end of a joint's
    list."""
    sources = LAYOUT_SOURCES[layout.name]
    width = max(len(options) for options in sources.values())
    table = np.full((MVOR10.num_keypoints, width, 2), -1, dtype=np.int64)
    for j, name in enumerate(MVOR10.keypoints):
        for t, option in enumerate(sources[name]):
            table[j, t, :len(option)] = [layout.index[n] for n in option]
    return table


SOURCE_TABLES = {lay.name: _source_table(lay) for lay in PRED_LAYOUTS.layouts}


def to_mvor(x: np.ndarray, y: np.ndarray, layout: KeypointLayout = COCO17
            ) -> tuple[np.ndarray, np.ndarray]:
    """Predicted points ``(N, K)`` of ``layout`` (NaN = absent) -> MVOR-10 points ``(N, 10)``
    (:data:`LAYOUT_SOURCES`).

    From COCO-17 (:data:`SOURCES`): head = mid-eyes, else mid-ears, else nose, else the one
    eye, else the one ear; neck = mid-shoulders, else the one shoulder; the other joints are
    the same names. MVOR's own points come back as they are.
    """
    c = layout.index
    sources = LAYOUT_SOURCES[layout.name]
    has = ~np.isnan(x)
    out_x = np.full((len(x), MVOR10.num_keypoints), np.nan)
    out_y = np.full((len(x), MVOR10.num_keypoints), np.nan)
    for j, name in enumerate(MVOR10.keypoints):
        for option in reversed(sources[name]):  # the preferred option is written last
            idx = [c[n] for n in option]
            present = np.logical_and.reduce([has[:, i] for i in idx])
            if len(idx) == 2:
                a, b = idx
                vx, vy = (x[:, a] + x[:, b]) / 2, (y[:, a] + y[:, b]) / 2
            else:
                vx, vy = x[:, idx[0]], y[:, idx[0]]
            out_x[:, j] = np.where(present, vx, out_x[:, j])
            out_y[:, j] = np.where(present, vy, out_y[:, j])
    return out_x, out_y


def match(persons: MvorPersons, det_box: np.ndarray, pred_scores: np.ndarray,
          pred_image: np.ndarray) -> np.ndarray:
    """Index of the prediction used for each GT person, -1 when none.

    ``det_box`` is the predictions' keypoint extents ``(N, 4)``: ``x1, y1, x2, y2``. Vectorised
    over all (GT person, prediction of its image) pairs of the dataset: the pairs are laid out
    GT-major, each GT person's segment in the prediction file order, so the reference's
    "highest candidate score" and "first prediction within 1e-6 of it" are segment reductions.
    """
    g = len(persons.image)
    chosen = np.full(g, -1, dtype=np.int64)
    order = stable_argsort(pred_image)  # file order kept within an image
    n_images = int(max(persons.image.max(initial=-1), pred_image.max(initial=-1))) + 1
    starts = np.searchsorted(pred_image[order], np.arange(n_images + 1))
    if native.kernels is not None and g:  # the same rules, one loop over the pairs
        native.kernels.mvor_match(
            persons.box, persons.image.astype(np.int64),
            np.ascontiguousarray(det_box, dtype=np.float64),
            np.ascontiguousarray(pred_scores, dtype=np.float64), order.astype(np.int64),
            starts.astype(np.int64), MIN_OVERLAP, SCORE_TIE, chosen)
        return chosen
    counts = (starts[1:] - starts[:-1])[persons.image]
    total = int(counts.sum())
    if total == 0:
        return chosen
    seg_start = np.cumsum(counts) - counts
    pair_pred = order[np.arange(total) - np.repeat(seg_start - starts[persons.image], counts)]

    gx1, gy1, gx2, gy2 = persons.box.T
    area = np.repeat((gx2 - gx1 + 1) * (gy2 - gy1 + 1), counts)
    det = np.take(det_box, pair_pred, axis=0)  # (pairs, 4)
    w = np.minimum(np.repeat(gx2, counts), det[:, 2])
    w -= np.maximum(np.repeat(gx1, counts), det[:, 0])
    h = np.minimum(np.repeat(gy2, counts), det[:, 3])
    h -= np.maximum(np.repeat(gy1, counts), det[:, 1])
    w += 1
    h += 1
    np.maximum(w, 0, out=w)  # NaN (a prediction without joints) stays NaN: never a candidate
    np.maximum(h, 0, out=h)
    w *= h
    with np.errstate(invalid="ignore"):
        w /= area
        candidate = w > MIN_OVERLAP
    scores = np.take(pred_scores, pair_pred)
    paired = np.flatnonzero(counts)
    best = np.full(g, -np.inf)
    best[paired] = np.maximum.reduceat(np.where(candidate, scores, -np.inf), seg_start[paired])
    pair_best = np.repeat(best, counts)
    tie = np.abs(scores - pair_best) < SCORE_TIE
    tie &= pair_best > -np.inf
    first = np.full(g, total)
    first[paired] = np.minimum.reduceat(np.where(tie, np.arange(total), total),
                                        seg_start[paired])
    has = first < total
    chosen[has] = pair_pred[first[has]]
    return chosen


def joint_hits(persons: MvorPersons, pred_x: np.ndarray, pred_y: np.ndarray) -> np.ndarray:
    """(G, 10) 1.0 where the person's matched prediction (MVOR points ``(G, 10)``, NaN when
    absent or unmatched) is within 0.2 x the person's scale."""
    x1, y1, x2, y2 = persons.box.T
    scale = np.maximum(x2 - x1 + 1, y2 - y1 + 1)
    dx, dy = pred_x - persons.x, pred_y - persons.y
    dist = np.sqrt(dx * dx + dy * dy)
    with np.errstate(invalid="ignore"):
        return (dist <= (THRESHOLD * scale)[:, None]).astype(np.float64)


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


def person_hits(gt: GroundTruth, preds: PredictionSource, pred_layout: str | None = None
                ) -> tuple[MvorPersons, np.ndarray, np.ndarray, Predictions, str]:
    """The GT persons, the prediction used for each (-1: none), their ``(G, 10)`` joint hits,
    the predictions and their layout's name."""
    persons = gt_persons(gt)
    predictions, layout = PRED_LAYOUTS.load(preds, gt, pred_layout, arrays=True, boxes=True)
    lay = get_layout(layout.name)
    chosen = match(persons, predictions.present_boxes, predictions.scores,
                   predictions.image_positions(gt))
    if native.kernels is not None and len(chosen):  # the same rules, one loop over persons
        hits = np.empty(persons.kp.shape[:2])
        native.kernels.mvor_hits(persons.kp, persons.box,
                                 np.ascontiguousarray(predictions.keypoints, dtype=np.float64),
                                 chosen, SOURCE_TABLES[lay.name], THRESHOLD, hits)
    else:  # only the chosen predictions are converted to MVOR's joints
        used = chosen >= 0
        mx = np.full(persons.x.shape, np.nan)
        my = np.full(persons.y.shape, np.nan)
        x, y = planes(np.take(predictions.keypoints, chosen[used], axis=0))
        mx[used], my[used] = to_mvor(x, y, lay)
        hits = joint_hits(persons, mx, my)
    return persons, chosen, hits, predictions, lay.name


def prepare_mvor(gt: GroundTruth, preds: PredictionSource,
                 sigmas: Sequence[float] | None = None, *,
                 pred_layout: str | None = None) -> MvorPrepared:
    persons, chosen, hits, predictions, layout = person_hits(gt, preds, pred_layout)
    details = {"engine": "mpbench", "pred_layout": layout, "gt_persons": len(chosen),
               "matched_persons": int((chosen >= 0).sum()), "predictions": len(predictions)}
    return MvorPrepared(hits, persons.image, details)


MVOR_PCK = ProtocolSpec(
    name="mvor-pck", headline="Mean", scale="percent", unit="image",
    summary="MVOR PCK@0.2 on MVOR's 10 upper-body joints, of predictions in MVOR's layout or "
            "COCO-17 (the reference's mapping), percent",
    prepare=prepare_mvor, layouts=PRED_LAYOUTS)

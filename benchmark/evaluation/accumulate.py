"""COCOeval's ``accumulate``/``summarize`` in numpy, from per-image match results.

The reference engines (pycocotools, hotcoco, xtcocotools) match detections to ground truth per
image (``evalImgs``); everything after that is a sort and cumulative sums. Re-doing that part
here, once per bootstrap resample, is what makes confidence intervals cheap: the per-image
matching never changes when images are resampled, only how many times each image counts.

A resample is expressed as integer *weights* per image (how often it was drawn). A detection of
an image drawn ``w`` times contributes ``w`` to the cumulative true/false positive counts. With
all weights 1 every operation below is the one pycocotools performs, in the same order, so the
identity resample reproduces the engine's numbers bit for bit; a weight of 0 only repeats the
previous point of the precision/recall curve, which changes no interpolated precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

#: How an engine marks a matched detection in ``dtMatches``: pycocotools and hotcoco store the
#: matched ground-truth id with 0 for "unmatched"; xtcocotools starts from -1 instead.
MatchRule = Literal["nonzero", "nonnegative"]

#: pycocotools' keypoint summary: (name, precision?, IoU threshold or None, area range label).
COCO_KEYPOINT_STATS: tuple[tuple[str, bool, float | None, str], ...] = (
    ("AP", True, None, "all"), ("AP50", True, 0.5, "all"), ("AP75", True, 0.75, "all"),
    ("APm", True, None, "medium"), ("APl", True, None, "large"),
    ("AR", False, None, "all"), ("AR50", False, 0.5, "all"), ("AR75", False, 0.75, "all"),
    ("ARm", False, None, "medium"), ("ARl", False, None, "large"),
)


@dataclass(frozen=True)
class MatchTable:
    """Detections of one (category, area range), in the order ``accumulate`` sorts them."""

    unit: np.ndarray  # (N,) image position of each detection
    tp: np.ndarray  # (T, N) matched and not ignored
    fp: np.ndarray  # (T, N) unmatched and not ignored
    npig: np.ndarray  # (n_images,) non-ignored ground truths per image


@dataclass(frozen=True)
class CocoMatches:
    """Per-image matching of a whole evaluation: ``tables[k][a]`` per category and area."""

    tables: list[list[MatchTable]]
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    area_labels: tuple[str, ...]
    n_images: int


def build_matches(eval_imgs: Sequence[dict | None], cat_ids: Sequence[Any],
                  area_rngs: Sequence[Sequence[float]], area_labels: Sequence[str],
                  image_ids: Sequence[Any], iou_thrs: np.ndarray, rec_thrs: np.ndarray,
                  max_det: int, rule: MatchRule) -> CocoMatches:
    """Flatten an engine's ``evalImgs`` into match tables.

    Entries are placed by their own ``category_id``/``aRng``/``image_id`` fields, not by list
    position: pycocotools orders the list (category, area, image), hotcoco (image, area).
    """
    cat_pos = {c: k for k, c in enumerate(cat_ids)}
    area_pos = {tuple(float(v) for v in rng): a for a, rng in enumerate(area_rngs)}
    img_pos = {i: n for n, i in enumerate(image_ids)}
    grid: list[list[list[dict | None]]] = [
        [[None] * len(image_ids) for _ in area_rngs] for _ in cat_ids]
    for e in eval_imgs:
        if e is not None:
            rng = tuple(float(v) for v in e["aRng"])
            grid[cat_pos[e["category_id"]]][area_pos[rng]][img_pos[e["image_id"]]] = e
    tables = [[_table(per_image, len(iou_thrs), max_det, rule) for per_image in row]
              for row in grid]
    return CocoMatches(tables, np.asarray(iou_thrs), np.asarray(rec_thrs), tuple(area_labels),
                       len(image_ids))


def _table(evals: Sequence[dict | None], n_thr: int, max_det: int, rule: MatchRule
           ) -> MatchTable:
    scores, units, dtm, dt_ig = [], [], [], []
    npig = np.zeros(len(evals), dtype=np.int64)
    for i, e in enumerate(evals):
        if e is None:
            continue
        s = np.asarray(e["dtScores"], dtype=np.float64)[:max_det]
        scores.append(s)
        units.append(np.full(len(s), i, dtype=np.int64))
        dtm.append(np.asarray(e["dtMatches"], dtype=np.float64).reshape(n_thr, -1)[:, :max_det])
        dt_ig.append(np.asarray(e["dtIgnore"], dtype=bool).reshape(n_thr, -1)[:, :max_det])
        npig[i] = np.count_nonzero(np.asarray(e["gtIgnore"]) == 0)
    if not scores:
        empty = np.zeros((n_thr, 0), dtype=bool)
        return MatchTable(np.zeros(0, dtype=np.int64), empty, empty, npig)
    all_scores = np.concatenate(scores)
    order = np.argsort(-all_scores, kind="mergesort")  # pycocotools' stable order
    matches = np.concatenate(dtm, axis=1)[:, order]
    ignored = np.concatenate(dt_ig, axis=1)[:, order]
    matched = matches != 0 if rule == "nonzero" else matches >= 0
    tp, fp = matched & ~ignored, ~matched & ~ignored
    # A detection ignored at every threshold only repeats the previous point of each curve,
    # which changes no interpolated precision and no recall: leave it out (cheaper resamples;
    # e.g. most detections of the 'medium' range are outside it and unmatched).
    counts = (tp | fp).any(axis=0)
    return MatchTable(np.concatenate(units)[order][counts], tp[:, counts], fp[:, counts], npig)


def accumulate(m: CocoMatches, weights: np.ndarray | None = None,
               areas: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``precision`` (T, R, K, A) and ``recall`` (T, K, A), -1 where undefined (pycocotools).

    ``areas`` restricts the work to some area ranges (the others stay -1).
    """
    n_thr, n_rec = len(m.iou_thrs), len(m.rec_thrs)
    n_cats, n_areas = len(m.tables), len(m.area_labels)
    precision = -np.ones((n_thr, n_rec, n_cats, n_areas))
    recall = -np.ones((n_thr, n_cats, n_areas))
    for k, row in enumerate(m.tables):
        for a, table in enumerate(row):
            if areas is not None and a not in areas:
                continue
            curve = _curve(table, weights, m.rec_thrs)
            if curve is not None:
                precision[:, :, k, a], recall[:, k, a] = curve
    return precision, recall


def _curve(table: MatchTable, weights: np.ndarray | None, rec_thrs: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray] | None:
    if weights is None:
        npig = int(table.npig.sum())
        per_det = np.ones(len(table.unit))
    else:
        npig = int(table.npig @ weights)
        per_det = weights[table.unit].astype(np.float64)
    if npig == 0:
        return None
    # float cumulative sums of integers are exact: the same values as pycocotools' int cumsum
    tp_sum = np.cumsum(table.tp * per_det, axis=1)
    fp_sum = np.cumsum(table.fp * per_det, axis=1)
    n_det = tp_sum.shape[1]
    rc = tp_sum / npig
    pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    recall = rc[:, -1] if n_det else np.zeros(len(tp_sum))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]  # pycocotools' backward max loop
    precision = np.zeros((len(tp_sum), len(rec_thrs)))
    for t in range(len(tp_sum)):
        inds = np.searchsorted(rc[t], rec_thrs, side="left")
        valid = inds < n_det
        precision[t, valid] = pr[t, inds[valid]]
    return precision, recall


def summarize(precision: np.ndarray, recall: np.ndarray, iou_thrs: np.ndarray,
              area_labels: Sequence[str],
              spec: Sequence[tuple[str, bool, float | None, str]] = COCO_KEYPOINT_STATS
              ) -> dict[str, float]:
    """COCOeval.summarize's means over the defined (> -1) entries; -1 when none is defined."""
    out: dict[str, float] = {}
    for name, is_ap, iou, area in spec:
        a = list(area_labels).index(area)
        s = precision[..., a] if is_ap else recall[..., a]
        if iou is not None:
            s = s[np.where(iou == iou_thrs)[0]]
        defined = s[s > -1]
        out[name] = float(np.mean(defined)) if defined.size else -1.0
    return out


def crowd_type_ap(precision: np.ndarray) -> float:
    """xtcocotools' easy/medium/hard AP: the mean over *all* entries of area 'all' (a subset
    without ground truth therefore gives -1), rounded to 4 decimals as the reference does."""
    return float(round(np.mean(precision[:, :, :, 0]), 4))

"""Per-person and per-image views of one score's predictions, for the report's pictures.

The protocols give one number per evaluation set; the report also shows *where* a model
fails: which joints (a model x joint heatmap), which images (the best and worst of a cell,
the per-image scatter of two modalities). Both come from one matching here: each annotated
person is paired with the prediction of its image that has the highest object keypoint
similarity (OKS, COCO's formula with the layout's sigmas), each prediction used once, greedily
by OKS. A person's per-joint similarity is OKS's term for that joint (1 = on the spot, 0.5 at
the distance where the joint's sigma allows half credit); an unmatched person scores 0.

These are descriptive views, not the protocols' statistics (those are the leaderboard's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Matched:
    """One annotated person and its best prediction."""

    image_id: int
    oks: float
    #: per-joint similarity (K,), NaN where the joint is not labelled
    joints: np.ndarray
    gt: np.ndarray  # K x 3
    pred: np.ndarray | None  # K x 3


def _area(ann: dict) -> float:
    if ann.get("area"):
        return float(ann["area"])
    bbox = ann.get("bbox") or [0, 0, 0, 0]
    return float(bbox[2] * bbox[3])


def joint_similarity(gt: np.ndarray, pred: np.ndarray, area: float,
                     sigmas: np.ndarray) -> np.ndarray:
    """OKS's per-joint terms (K,): exp(-d^2 / (2 s^2 (2 sigma)^2)), NaN where unlabelled."""
    d2 = ((gt[:, :2] - pred[:, :2]) ** 2).sum(axis=1)
    e = d2 / ((2 * sigmas) ** 2) / (max(area, 1.0)) / 2
    out = np.exp(-e)
    out[gt[:, 2] <= 0] = np.nan
    return out


def match(gt: dict, preds: list[dict], sigmas) -> list[Matched]:
    """Every labelled, non-crowd person of ``gt`` with its best prediction (module docstring)."""
    sigmas = np.asarray(sigmas, float)
    k = len(sigmas)
    by_image: dict[int, list[np.ndarray]] = defaultdict(list)
    for p in preds:
        by_image[p["image_id"]].append(np.asarray(p["keypoints"], float).reshape(k, 3))
    people: dict[int, list[dict]] = defaultdict(list)
    for ann in gt["annotations"]:
        kp = np.asarray(ann.get("keypoints") or [0] * 3 * k, float).reshape(k, 3)
        if not ann.get("iscrowd") and (kp[:, 2] > 0).any():
            people[ann["image_id"]].append(ann)
    out: list[Matched] = []
    for image_id, anns in people.items():
        cands = by_image.get(image_id, [])
        sims = [[joint_similarity(np.asarray(a["keypoints"], float).reshape(k, 3), p,
                                  _area(a), sigmas) for p in cands] for a in anns]
        pairs = sorted(((float(np.nanmean(s)), i, j) for i, row in enumerate(sims)
                        for j, s in enumerate(row)), reverse=True)
        taken_a: dict[int, int] = {}
        taken_p: set[int] = set()
        for _, i, j in pairs:
            if i not in taken_a and j not in taken_p:
                taken_a[i] = j
                taken_p.add(j)
        for i, ann in enumerate(anns):
            gt_kp = np.asarray(ann["keypoints"], float).reshape(k, 3)
            if i in taken_a:
                j = taken_a[i]
                joints = sims[i][j]
                out.append(Matched(image_id, float(np.nanmean(joints)), joints, gt_kp, cands[j]))
            else:
                zeros = np.where(gt_kp[:, 2] > 0, 0.0, np.nan)
                out.append(Matched(image_id, 0.0, zeros, gt_kp, None))
    return out


def per_image(matched: list[Matched]) -> dict[int, float]:
    """Mean OKS of each image's annotated persons."""
    acc: dict[int, list[float]] = defaultdict(list)
    for m in matched:
        acc[m.image_id].append(m.oks)
    return {i: float(np.mean(v)) for i, v in acc.items()}


def per_joint(matched: list[Matched], k: int) -> np.ndarray:
    """Mean similarity of each joint over the persons where it is labelled (K,)."""
    if not matched:
        return np.full(k, np.nan)
    stack = np.stack([m.joints for m in matched])
    with np.errstate(invalid="ignore"):
        counts = (~np.isnan(stack)).sum(axis=0)
        sums = np.nansum(stack, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

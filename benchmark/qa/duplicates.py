"""Two annotations of one person in one image.

A duplicate inflates the ground truth: the second copy can never be matched at evaluation
time and becomes a guaranteed false negative (and, in training, a conflicting target). Two
skeletons of one image are compared with a symmetric OKS over their common labelled joints
(area: the mean of both); two keypoint-less boxes by IoU. The *later* annotation in file
order is flagged, so one person costs one flag. Byte-identical copies are marked ``exact``
and are the only ones the fixer drops. The table reports, per annotation, the most similar
earlier annotation of its image and their similarity (OKS, or IoU for bare boxes).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.geometry import box_iou, oks
from benchmark.qa.result import CheckOutput


def _similarity(sk: Skeletons, i: int, j: int, area: np.ndarray, sigmas: np.ndarray,
                config: QAConfig) -> tuple[float, float]:
    """(similarity, severity that j duplicates i): OKS for skeletons, IoU for bare boxes."""
    lab = sk.labelled
    if lab[i].any() or lab[j].any():
        sim, n = oks(sk.xy[i], lab[i], sk.xy[j], lab[j], 0.5 * (area[i] + area[j]), sigmas)
        if n < config.duplicate_min_joints:
            return 0.0, 0.0
        return sim, float(ramp(sim, config.duplicate_oks))
    iou = box_iou(sk.bbox[i], sk.bbox[j])
    return iou, float(ramp(iou, config.duplicate_iou))


def _exact(sk: Skeletons, i: int, j: int) -> bool:
    same_kp = np.array_equal(sk.kpts[i], sk.kpts[j])
    same_box = np.array_equal(sk.bbox[i], sk.bbox[j], equal_nan=True)
    return bool(same_kp and same_box)


def check_duplicates(sk: Skeletons, config: QAConfig) -> CheckOutput:
    n = len(sk)
    severity = np.zeros(n)
    dup_of: list[object] = [None] * n
    best = np.full(n, np.nan)
    exact = np.zeros(n, bool)
    area = sk.ref_area()
    sigmas = np.asarray(sk.layout.sigmas)
    by_image: dict[object, list[int]] = defaultdict(list)
    for i, img in enumerate(sk.image_ids):
        if not sk.iscrowd[i]:
            by_image[img].append(i)
    for rows in by_image.values():
        for a, j in enumerate(rows):
            for i in rows[:a]:
                sim, sev = _similarity(sk, i, j, area, sigmas, config)
                if not sim <= best[j]:  # also replaces NaN
                    best[j], severity[j], dup_of[j] = sim, sev, sk.ann_ids[i]
                    exact[j] = _exact(sk, i, j)
    return CheckOutput(
        severity={"duplicate": severity},
        columns={"duplicate_of": dup_of, "duplicate_oks": best, "exact_duplicate": exact},
    )

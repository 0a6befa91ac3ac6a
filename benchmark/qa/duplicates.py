"""Two annotations of one person in one image.

A duplicate inflates the ground truth: the second copy can never be matched at evaluation
time and becomes a guaranteed false negative (and, in training, a conflicting target). Two
skeletons of one image are compared with a symmetric OKS over their common labelled joints
(area: the mean of both); two keypoint-less boxes by IoU. The *later* annotation in file
order is flagged, so one person costs one flag. Byte-identical copies are marked ``exact``
and are the only ones the fixer drops.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.geometry import box_iou, oks
from benchmark.qa.result import CheckOutput


def _similarity(sk: Skeletons, i: int, j: int, area: np.ndarray, sigmas: np.ndarray,
                config: QAConfig) -> float:
    """Severity that j duplicates i (0 when not comparable)."""
    lab = sk.labelled
    if lab[i].any() or lab[j].any():
        sim, n = oks(sk.xy[i], lab[i], sk.xy[j], lab[j], 0.5 * (area[i] + area[j]), sigmas)
        if n < config.duplicate_min_joints:
            return 0.0
        return float(ramp(sim, config.duplicate_oks))
    return float(ramp(box_iou(sk.bbox[i], sk.bbox[j]), config.duplicate_iou))


def _exact(sk: Skeletons, i: int, j: int) -> bool:
    same_kp = np.array_equal(sk.kpts[i], sk.kpts[j])
    same_box = np.array_equal(sk.bbox[i], sk.bbox[j], equal_nan=True)
    return bool(same_kp and same_box)


def check_duplicates(sk: Skeletons, config: QAConfig) -> CheckOutput:
    n = len(sk)
    severity = np.zeros(n)
    dup_of: list[object] = [None] * n
    dup_oks = np.full(n, np.nan)
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
                sev = _similarity(sk, i, j, area, sigmas, config)
                if sev > severity[j]:
                    severity[j] = sev
                    dup_of[j] = sk.ann_ids[i]
                    common = sk.labelled[i] & sk.labelled[j]
                    dup_oks[j] = oks(sk.xy[i], sk.labelled[i], sk.xy[j], sk.labelled[j],
                                     0.5 * (area[i] + area[j]), sigmas)[0] if common.any() \
                        else np.nan
                    exact[j] = _exact(sk, i, j)
    return CheckOutput(
        severity={"duplicate": severity},
        columns={"duplicate_of": dup_of, "duplicate_oks": dup_oks, "exact_duplicate": exact},
    )

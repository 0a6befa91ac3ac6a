"""Disagreement between two annotation files of the same, aligned images.

Datasets such as LLVIP-Pose annotate registered thermal and visible frames separately. The
two annotations of one person should coincide; where they do not, at least one is wrong (or
the registration is). Images are matched by file name, then by base name (the modalities
usually live in sibling folders), then by image id; persons within a matched image by the
assignment that maximises the total OKS (Hungarian), accepting pairs above
``modality_match_oks``. A matched person is ``modality_disagreement`` when the OKS is low
(ramp ``modality_oks`` on 1 - OKS) *or* one joint alone is far off (ramp ``modality_joint`` on
1 - its keypoint similarity): the mean over 17 joints would hide one wrong arm. A person with
no counterpart in an image both files annotate is ``modality_unmatched``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePath

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.geometry import keypoint_similarity, oks
from benchmark.qa.result import CheckOutput


def match_images(primary: Skeletons, paired: Skeletons) -> dict[object, object]:
    """Primary image id -> paired image id (file name, then base name, then id)."""
    prim, other = primary.all_images, paired.all_images
    by_name = {f: i for i, f in other.items() if f}
    by_base = {PurePath(f).name: i for i, f in other.items() if f}
    out: dict[object, object] = {}
    for img, f in prim.items():
        if f and f in by_name:
            out[img] = by_name[f]
        elif f and PurePath(f).name in by_base:
            out[img] = by_base[PurePath(f).name]
        elif img in other:
            out[img] = img
    return out


def _rows_by_image(sk: Skeletons) -> dict[object, list[int]]:
    rows: dict[object, list[int]] = defaultdict(list)
    for i, img in enumerate(sk.image_ids):
        if not sk.iscrowd[i] and sk.labelled[i].any():
            rows[img].append(i)
    return rows


def check_modality(sk: Skeletons, paired: Skeletons, config: QAConfig) -> CheckOutput:
    n = len(sk)
    disagree, unmatched = np.zeros(n), np.zeros(n)
    partner: list[object] = [None] * n
    pair_oks = np.full(n, np.nan)
    worst_joint = [""] * n
    status = ["no_keypoints" if not sk.labelled[i].any() else "no_paired_image"
              for i in range(n)]
    images = match_images(sk, paired)
    mine, theirs = _rows_by_image(sk), _rows_by_image(paired)
    area_a, area_b = sk.ref_area(), paired.ref_area()
    sigmas = np.asarray(sk.layout.sigmas)
    for img, rows in mine.items():
        if img not in images:
            continue
        cand = theirs.get(images[img], [])
        sim = np.zeros((len(rows), len(cand)))
        for a, i in enumerate(rows):
            for b, j in enumerate(cand):
                value, _ = oks(sk.xy[i], sk.labelled[i], paired.xy[j], paired.labelled[j],
                               0.5 * (area_a[i] + area_b[j]), sigmas)
                sim[a, b] = 0.0 if np.isnan(value) else value
        got = set()
        if sim.size:
            for a, b in zip(*linear_sum_assignment(-sim), strict=True):
                if sim[a, b] >= config.modality_match_oks:
                    i, j = rows[a], cand[b]
                    got.add(i)
                    partner[i] = paired.ann_ids[j]
                    pair_oks[i] = sim[a, b]
                    ks = keypoint_similarity(sk.xy[i], sk.labelled[i], paired.xy[j],
                                             paired.labelled[j], 0.5 * (area_a[i] + area_b[j]),
                                             sigmas)
                    worst = int(np.nanargmin(ks))
                    worst_joint[i] = sk.layout.keypoints[worst]
                    disagree[i] = max(float(ramp(1.0 - sim[a, b], config.modality_oks)),
                                      float(ramp(1.0 - ks[worst], config.modality_joint)))
                    status[i] = "matched"
        for i in rows:
            if i not in got:
                unmatched[i] = 1.0
                status[i] = "unmatched"
    return CheckOutput(
        severity={"modality_disagreement": disagree, "modality_unmatched": unmatched},
        columns={"paired_ann_id": partner, "paired_oks": pair_oks,
                 "paired_worst_joint": worst_joint, "paired_status": status},
    )

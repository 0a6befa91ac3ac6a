"""Visibility flags that contradict the coordinates, and stale ``num_keypoints``.

These are bookkeeping errors, not judgement calls, so they have severity 1 when present:
COCO's convention is v=0 -> x=y=0, v in {1, 2} -> a real position, and num_keypoints is
the number of labelled joints. Evaluation (pycocotools) trusts v alone, so a joint dropped to
v=0 with its coordinates kept silently disappears from training and scoring.
"""

from __future__ import annotations

import numpy as np

from benchmark.qa.data import Skeletons
from benchmark.qa.result import CheckOutput, joint_names

#: How each file may count ``num_keypoints``: COCO counts every joint with v > 0; CrowdPose
#: counts only the 12 limb joints (the paired ones), leaving head and neck out.
CONVENTIONS = ("all_labelled", "paired_labelled")


def keypoint_count(sk: Skeletons, kpts: np.ndarray, convention: str) -> np.ndarray:
    """(N,) num_keypoints of ``kpts`` (N, K, 3) under ``convention``."""
    v = kpts[..., 2] > 0
    if convention == "paired_labelled":
        paired = np.zeros(sk.layout.num_keypoints, bool)
        for a, b in sk.layout.flip_pair_indices:
            paired[[a, b]] = True
        v = v & paired
    return v.sum(axis=-1)


def detect_convention(sk: Skeletons) -> str:
    """The convention most of the file's ``num_keypoints`` agree with (COCO's on a tie)."""
    has = np.isfinite(sk.num_keypoints)
    if not has.any():
        return CONVENTIONS[0]
    votes = [int((keypoint_count(sk, sk.kpts, c)[has] == sk.num_keypoints[has]).sum())
             for c in CONVENTIONS]
    return CONVENTIONS[int(np.argmax(votes))]


def check_visibility(sk: Skeletons) -> CheckOutput:
    names = sk.layout.keypoints
    v = sk.kpts[..., 2]
    xy = sk.xy
    crowd = sk.iscrowd[:, None]
    finite = np.isfinite(xy).all(-1)
    at_origin = (xy[..., 0] == 0) & (xy[..., 1] == 0)
    invalid_v = ~np.isin(v, (0.0, 1.0, 2.0)) & ~crowd
    bad_xy = ~finite & (v > 0) & ~crowd
    v0_coords = (v == 0) & ~at_origin & ~crowd
    origin = (v > 0) & at_origin & ~crowd
    convention = detect_convention(sk)
    expected = keypoint_count(sk, sk.kpts, convention)
    has = np.isfinite(sk.num_keypoints)
    mismatch = has & (sk.num_keypoints != expected)
    return CheckOutput(
        severity={
            "vis_invalid": invalid_v.any(1).astype(float),
            "coords_invalid": bad_xy.any(1).astype(float),
            "vis_v0_with_coords": v0_coords.any(1).astype(float),
            "vis_labelled_at_origin": origin.any(1).astype(float),
            "num_keypoints_mismatch": mismatch.astype(float),
        },
        columns={
            "n_labelled": sk.labelled.sum(1),
            "vis_issue_joints": joint_names(names, invalid_v | bad_xy | v0_coords | origin),
            "num_keypoints_file": sk.num_keypoints,
            "num_keypoints_expected": np.where(has, expected, np.nan),
        },
    )

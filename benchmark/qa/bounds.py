"""Keypoints outside the image (impossible) or well outside the person's box (suspicious).

Outside the image is a hard error: the annotation tool let a click land off the picture.
Outside the box is graded, because boxes are often drawn around the visible body only and an
occluded joint may legitimately be estimated a little beyond it; the distance is measured in
units of sqrt(box area), the same scale OKS uses.
"""

from __future__ import annotations

import numpy as np

from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.result import CheckOutput, joint_names


def outside_image_mask(sk: Skeletons, margin: float) -> np.ndarray:
    """(N, K) labelled joints more than ``margin`` pixels outside their image."""
    w, h = sk.img_wh[:, 0:1], sk.img_wh[:, 1:2]
    x, y = sk.xy[..., 0], sk.xy[..., 1]
    with np.errstate(invalid="ignore"):
        out = (x < -margin) | (y < -margin) | (x > w + margin) | (y > h + margin)
    return out & sk.labelled & np.isfinite(sk.img_wh).all(1)[:, None]


def box_distance(sk: Skeletons) -> np.ndarray:
    """(N, K) distance of each labelled joint outside its box / sqrt(box area); 0 inside."""
    x0, y0, w, h = (sk.bbox[:, i:i + 1] for i in range(4))
    x, y = sk.xy[..., 0], sk.xy[..., 1]
    with np.errstate(invalid="ignore"):
        dx = np.maximum(np.maximum(x0 - x, x - (x0 + w)), 0.0)
        dy = np.maximum(np.maximum(y0 - y, y - (y0 + h)), 0.0)
        size = np.sqrt(np.where(w * h > 0, w * h, np.nan))
        d = np.hypot(dx, dy) / size
    return np.where(sk.labelled & np.isfinite(d), d, 0.0)


def check_bounds(sk: Skeletons, config: QAConfig) -> CheckOutput:
    names = sk.layout.keypoints
    out_img = outside_image_mask(sk, config.image_margin_px)
    dist = box_distance(sk)
    sev_box = ramp(dist, config.outside_box)  # (N, K)
    flagged_box = sev_box >= config.threshold
    return CheckOutput(
        severity={
            "outside_image": out_img.any(1).astype(float),
            "outside_box": sev_box.max(1) if sev_box.size else np.zeros(len(sk)),
        },
        columns={
            "outside_image_joints": joint_names(names, out_img),
            "outside_box_joints": joint_names(names, flagged_box),
            "outside_box_dist": dist.max(1) if dist.size else np.zeros(len(sk)),
        },
    )

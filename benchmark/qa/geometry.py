"""Small geometric helpers shared by the checks: OKS, box IoU, robust spreads."""

from __future__ import annotations

import numpy as np

#: Scales a median absolute deviation to a normal standard deviation.
MAD_TO_SIGMA = 1.4826


def keypoint_similarity(xy_a: np.ndarray, lab_a: np.ndarray, xy_b: np.ndarray,
                        lab_b: np.ndarray, area: float, sigmas: np.ndarray) -> np.ndarray:
    """(K,) COCO per-keypoint similarity exp(-d^2 / (2 area k^2)), k = 2 sigma; NaN where
    a keypoint is not labelled in both skeletons."""
    d2 = ((xy_a - xy_b) ** 2).sum(-1)
    ks = np.exp(-d2 / (2.0 * max(area, 1.0) * (2.0 * sigmas) ** 2))
    return np.where(lab_a & lab_b, ks, np.nan)


def oks(xy_a: np.ndarray, lab_a: np.ndarray, xy_b: np.ndarray, lab_b: np.ndarray,
        area: float, sigmas: np.ndarray) -> tuple[float, int]:
    """COCO object keypoint similarity over the keypoints labelled in *both* skeletons.

    Symmetric on purpose: duplicates and cross-modality twins have no ground-truth side.
    Returns (OKS, number of common keypoints); OKS is NaN when none are common.
    """
    ks = keypoint_similarity(xy_a, lab_a, xy_b, lab_b, area, sigmas)
    n = int(np.isfinite(ks).sum())
    return (float(np.nanmean(ks)) if n else float("nan")), n


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two x, y, w, h boxes (0 when either is missing or empty)."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def split_mad(values: np.ndarray) -> tuple[float, float, float]:
    """Median and separate lower/upper robust spreads (MAD of each half, as sigmas).

    Projected 2D limb lengths are skewed: foreshortening makes limbs arbitrarily *short* but
    never much *longer* than the body allows, so one symmetric MAD would either miss long
    limbs or flag every foreshortened one.
    """
    med = float(np.median(values))
    lo = med - values[values < med]
    hi = values[values > med] - med
    s_lo = MAD_TO_SIGMA * float(np.median(lo)) if lo.size else 0.0
    s_hi = MAD_TO_SIGMA * float(np.median(hi)) if hi.size else 0.0
    return med, s_lo, s_hi


def cross2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z-component of the 2D cross product, broadcasting over leading axes."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]

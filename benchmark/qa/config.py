"""QA configuration: every threshold of every check lives here, with its default.

Each check turns its raw statistic into a *severity* in [0, 1] through a linear ramp
``clip((x - lo) / (hi - lo), 0, 1)``. A flag is raised when severity >= ``threshold`` (default
0.5, the middle of every ramp), so one knob trades precision for recall across all checks and
the per-check numbers below are the values at which a check fires at the default threshold.
The defaults were chosen on the real fixture annotations (see ``docs/qa.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class QAConfig:
    """Thresholds, score weights and fix switches of the annotation-QA metric."""

    #: Severity at or above which a check raises its flag.
    threshold: float = 0.5

    # --- limb lengths (robust z of length / person scale) ------------------------------------
    #: Ramp on z of a too-long limb; fires at z >= 5 with the default threshold.
    limb_z_long: tuple[float, float] = (3.5, 6.5)
    #: Ramp on -z of a too-short limb (log units: foreshortening is common, so it is wide).
    limb_z_short: tuple[float, float] = (10.0, 14.0)
    #: Minimum skeletons with a limb for file statistics; below this the built-in prior is used.
    limb_min_samples: int = 40
    #: Floor on the robust spread above the median (fraction of the median length).
    limb_min_sigma: float = 0.08
    #: Floor on the spread below the median (log units): foreshortening shortens any limb,
    #: so only (nearly) collapsed limbs, two joints clicked on one spot, count as too short.
    limb_min_sigma_lo: float = 0.35
    #: Minimum limbs (or limbs + box) needed to estimate a person scale.
    scale_min_votes: int = 2

    # --- pose outliers (conditional Gaussian shape model, large files only) -------------------
    #: Complete skeletons needed to fit the shape model (below: inactive), and per pose mode.
    pose_min_samples: int = 100
    #: Most pose modes (Gaussians) the shape model may use.
    pose_max_modes: int = 3
    #: Ramp on the worst joint's conditional Mahalanobis distance; fires at 4.5.
    pose_distance: tuple[float, float] = (3.5, 5.5)

    # --- left/right swaps --------------------------------------------------------------------
    #: Ramp on the evidence (nats, net of the prior) for the best swap hypothesis; fires at 4.
    swap_gain: tuple[float, float] = (2.0, 6.0)
    #: Prior cost (nats) per swapped pair: swaps are rare, so each needs this much evidence.
    swap_prior: float = 3.0
    #: Ramp on a pair's width relative to its typical width, giving the weight of its
    #: orientation evidence: hands and feet touch and cross in ordinary poses, so a pair much
    #: narrower than usual says little about which side is which.
    swap_width: tuple[float, float] = (0.25, 0.75)
    #: The same in pixels: a pair a few pixels wide (a small person in profile) points
    #: wherever rounding puts it.
    swap_width_px: tuple[float, float] = (2.0, 6.0)
    #: Ramp on how far a visible face turns the body's left-right consensus the wrong way
    #: (sine, weighted by the consensus strength); fires at 0.3.
    facing: tuple[float, float] = (0.15, 0.45)

    # --- outside box / image -----------------------------------------------------------------
    #: Distance outside the box, in units of sqrt(box area); fires beyond 0.1.
    outside_box: tuple[float, float] = (0.0, 0.2)
    #: Pixels outside the image before a keypoint counts as outside (sub-pixel rounding).
    image_margin_px: float = 1.0

    # --- duplicates ------------------------------------------------------------------------
    #: OKS ramp between two annotations of one image; fires at OKS >= 0.9.
    duplicate_oks: tuple[float, float] = (0.8, 1.0)
    #: Minimum jointly labelled keypoints for an OKS comparison.
    duplicate_min_joints: int = 3
    #: Box IoU ramp for annotations without keypoints; fires at IoU >= 0.95.
    duplicate_iou: tuple[float, float] = (0.9, 1.0)

    # --- aligned modality --------------------------------------------------------------------
    #: Ramp on 1 - OKS between matched persons of the two modalities; fires at OKS < 0.8.
    modality_oks: tuple[float, float] = (0.1, 0.3)
    #: Ramp on 1 - the worst joint's keypoint similarity; fires when one joint has KS < 0.1.
    modality_joint: tuple[float, float] = (0.8, 1.0)
    #: Minimum OKS for two persons of the two modalities to be matched at all.
    modality_match_oks: float = 0.1

    # --- score -------------------------------------------------------------------------------
    #: Weight of each flag in the score: score = prod(1 - weight * severity).
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    # --- fixes -------------------------------------------------------------------------------
    fix_swaps: bool = True
    fix_out_of_image: bool = True
    fix_visibility: bool = True
    fix_num_keypoints: bool = True
    drop_exact_duplicates: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")


DEFAULT_WEIGHTS: dict[str, float] = {
    "lr_swap": 0.6,
    "lr_swap_body": 0.6,
    "limb_length": 0.5,
    "pose_outlier": 0.4,
    "outside_box": 0.3,
    "outside_image": 0.4,
    "duplicate": 0.7,
    "vis_v0_with_coords": 0.2,
    "vis_labelled_at_origin": 0.3,
    "vis_invalid": 0.3,
    "coords_invalid": 0.5,
    "num_keypoints_mismatch": 0.1,
    "modality_disagreement": 0.6,
    "modality_unmatched": 0.4,
}


def ramp(x: np.ndarray | float, lo_hi: tuple[float, float]) -> np.ndarray:
    """Linear severity ramp: 0 below ``lo``, 1 above ``hi`` (scalars and arrays alike)."""
    lo, hi = lo_hi
    return np.clip((np.asarray(x, dtype=float) - lo) / (hi - lo), 0.0, 1.0)

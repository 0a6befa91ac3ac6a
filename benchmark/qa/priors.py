"""Built-in limb-length priors, used when a file is too small for its own statistics.

Lengths are projected 2D medians in units of the *person scale*, defined so that the side of
the torso (shoulder to hip of the same side) is 1: rounded adult proportions. MVOR's own
statistics differ for some links (head-neck 0.29, its "head" being the head centre; hip width
0.70), which is why files with enough skeletons use their own statistics; the priors also fix
the unit the file statistics start from. The spreads are deliberately wider than any measured
ones, because a prior must not flag people whose proportions merely differ from the average.

Keys are the link's two joint names with any ``left_``/``right_`` prefix removed, sorted, so
one entry serves both sides and every layout that names its joints alike.
"""

from __future__ import annotations

import numpy as np

_MEDIANS: dict[tuple[str, str], float] = {
    ("hip", "shoulder"): 1.0,
    ("shoulder", "shoulder"): 0.75,
    ("hip", "hip"): 0.45,
    ("elbow", "shoulder"): 0.62,
    ("elbow", "wrist"): 0.52,
    ("hip", "knee"): 0.85,
    ("ankle", "knee"): 0.8,
    ("neck", "shoulder"): 0.38,
    ("head", "neck"): 0.45,
    ("eye", "eye"): 0.12,
    ("eye", "nose"): 0.08,
    ("ear", "eye"): 0.12,
    ("ear", "shoulder"): 0.5,
    ("head_bottom", "nose"): 0.2,
    ("head_top", "nose"): 0.3,
    ("head_bottom", "shoulder"): 0.4,
    ("hip", "pelvis"): 0.22,
    ("pelvis", "thorax"): 0.85,
    ("thorax", "upper_neck"): 0.2,
    ("head_top", "upper_neck"): 0.45,
    ("shoulder", "upper_neck"): 0.38,
    # widths of the flip pairs that are not skeleton links (orientation weights)
    ("ear", "ear"): 0.3,
    ("elbow", "elbow"): 1.0,
    ("wrist", "wrist"): 1.0,
    ("knee", "knee"): 0.55,
    ("ankle", "ankle"): 0.6,
}

#: Spread below the median (log units) and above it (fraction of the median) under the prior.
PRIOR_SIGMA_LO, PRIOR_SIGMA_HI = 0.6, 0.3
#: Median log of sqrt(box area) / person scale, and its spreads (boxes vary with pose).
BOX_PRIOR = (float(np.log(2.0)), 0.5, 0.5)
#: Used for a link that is not in the table: uninformative, so it never fires on its own.
_UNKNOWN = (0.0, 2.0, 2.0)


def base_name(joint: str) -> str:
    for prefix in ("left_", "right_"):
        if joint.startswith(prefix):
            return joint[len(prefix):]
    return joint


def link_key(a: str, b: str) -> tuple[str, str]:
    x, y = sorted((base_name(a), base_name(b)))
    return x, y


def limb_prior(a: str, b: str) -> tuple[float, float, float]:
    """(median, sigma_lo, sigma_hi) of log(length / scale) for the link between a and b."""
    med = _MEDIANS.get(link_key(a, b))
    if med is None:
        return _UNKNOWN
    return float(np.log(med)), PRIOR_SIGMA_LO, PRIOR_SIGMA_HI

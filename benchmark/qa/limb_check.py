"""The limb-length check: a limb far longer (or shorter) than this person's other limbs imply.

The statistic is the robust z of :class:`benchmark.qa.limbs.LimbModel`; a long limb fires at a
much lower |z| than a short one, because a 2D projection can shorten any limb to nothing but
can lengthen none (the long side catches joints clicked in the wrong place).
"""

from __future__ import annotations

import numpy as np

from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.limbs import LimbModel, link_log_lengths
from benchmark.qa.result import CheckOutput


def limb_z(sk: Skeletons, model: LimbModel) -> np.ndarray:
    """(N, L) robust z of every link; NaN where unlabelled or the scale is unknown."""
    return model.z(link_log_lengths(sk.xy, sk.labelled, model.links))


def check_limbs(sk: Skeletons, model: LimbModel, config: QAConfig) -> CheckOutput:
    z = limb_z(sk, model)
    sev = np.fmax(ramp(np.nan_to_num(z, nan=0.0), config.limb_z_long),
                  ramp(np.nan_to_num(-z, nan=0.0), config.limb_z_short))
    n = len(sk)
    has = np.isfinite(z).any(1) if z.shape[1] else np.zeros(n, bool)
    # the worst link: highest severity, ties (all zero) broken by the most extreme z
    long_mid, short_mid = np.mean(config.limb_z_long), np.mean(config.limb_z_short)
    extremity = np.nan_to_num(np.fmax(z / long_mid, -z / short_mid), nan=-np.inf)
    worst = np.argmax(sev * 1e6 + extremity, axis=1) if z.shape[1] else np.zeros(n, int)
    rows = np.arange(n)
    flagged = sev >= config.threshold
    return CheckOutput(
        severity={"limb_length": sev.max(1) if sev.shape[1] else np.zeros(n)},
        columns={
            "person_scale": model.scale,
            "limb_worst": [model.names[w] if h else "" for w, h in zip(worst, has, strict=True)],
            "limb_worst_z": np.where(has, z[rows, worst] if z.shape[1] else np.nan, np.nan),
            "limb_flagged": [",".join(model.names[j] for j in np.flatnonzero(r)) for r in flagged],
        },
    )

"""Person scale and robust limb-length statistics (the model the limb and swap checks share).

A limb's pixel length only means something relative to the person's size, and the size must
come from the skeleton itself: boxes are drawn inconsistently across datasets (MVOR boxes
cover the whole body, its skeletons only the upper body). The person scale is therefore the
*median* over the skeleton's limbs of length / typical length, plus the box as one more vote,
so one wrong joint (which touches at most a few limbs) cannot move it.

The typical lengths and their spreads come from the file being checked (median and split MAD
of log length / scale over all skeletons) once a limb has ``limb_min_samples`` observations;
below that the built-in priors of :mod:`benchmark.qa.priors` are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.qa.config import QAConfig
from benchmark.qa.data import Skeletons
from benchmark.qa.geometry import split_mad
from benchmark.qa.priors import BOX_PRIOR, limb_prior

#: Lengths below this many pixels are treated as this many (coincident joints).
_MIN_LEN_PX = 0.5


@dataclass
class LimbModel:
    """Per-link statistics of log(length / person scale) and the per-skeleton scales."""

    links: tuple[tuple[int, int], ...]
    names: tuple[str, ...]
    mu: np.ndarray  # (L,) median of log(length / scale)
    sigma_lo: np.ndarray  # (L,) robust spread below the median, log units
    sigma_hi: np.ndarray  # (L,) robust spread above the median, in units of the median length
    from_file: np.ndarray  # (L,) bool: statistics measured on the file, not the prior
    box: tuple[float, float, float]  # (mu, sigma_lo, sigma_hi) of log sqrt(box area) / scale
    log_scale: np.ndarray  # (N,) NaN where the person scale cannot be estimated

    def z(self, log_len: np.ndarray, log_scale: np.ndarray | None = None) -> np.ndarray:
        """Robust z of log lengths (..., L) given log scales of shape (...) (default: fitted).

        Above the median the deviation is measured linearly (length / median - 1): a limb
        cannot be much longer than the body allows, and the log would compress exactly the
        tail that matters. Below it, log units, because foreshortening is multiplicative.
        """
        ls = self.log_scale if log_scale is None else log_scale
        r = log_len - ls[..., None] - self.mu
        with np.errstate(over="ignore"):
            up = np.expm1(np.minimum(r, 50.0))
        return np.where(r >= 0, up / self.sigma_hi, r / self.sigma_lo)

    @property
    def scale(self) -> np.ndarray:
        return np.exp(self.log_scale)


def link_log_lengths(xy: np.ndarray, labelled: np.ndarray,
                     links: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(..., L) log pixel length of every link; NaN where an end is unlabelled."""
    a = np.array([i for i, _ in links], dtype=int)
    b = np.array([j for _, j in links], dtype=int)
    d = np.linalg.norm(xy[..., a, :] - xy[..., b, :], axis=-1)
    ok = labelled[..., a] & labelled[..., b]
    return np.where(ok, np.log(np.maximum(d, _MIN_LEN_PX)), np.nan)


def log_box_size(sk: Skeletons) -> np.ndarray:
    """(N,) log sqrt(box area); NaN without a box."""
    area = sk.bbox[:, 2] * sk.bbox[:, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(area > 0, 0.5 * np.log(np.where(area > 0, area, 1.0)), np.nan)


def scale_votes(log_len: np.ndarray, log_box: np.ndarray, mu: np.ndarray, box_mu: float,
                min_votes: int) -> np.ndarray:
    """Log person scale (...) as the median of the limbs' and the box's votes.

    ``log_len`` is (..., L) and ``log_box`` broadcasts to its leading shape; NaN where fewer
    than ``min_votes`` votes exist.
    """
    box = np.broadcast_to(np.asarray(log_box - box_mu, float), log_len.shape[:-1])
    votes = np.concatenate([log_len - mu, box[..., None]], axis=-1)
    n = np.isfinite(votes).sum(axis=-1)
    out = np.full(votes.shape[:-1], np.nan)
    ok = n >= min_votes
    if ok.any():
        out[ok] = np.nanmedian(votes[ok], axis=-1)
    return out


def fit_limb_model(sk: Skeletons, config: QAConfig) -> LimbModel:
    """Estimate scales and per-link statistics, iterating twice from the priors."""
    lay = sk.layout
    links = lay.skeleton_indices
    names = tuple(f"{a}-{b}" for a, b in lay.skeleton)
    priors = np.array([limb_prior(a, b) for a, b in lay.skeleton]).reshape(-1, 3)
    mu, s_lo, s_hi = priors[:, 0].copy(), priors[:, 1].copy(), priors[:, 2].copy()
    box = BOX_PRIOR
    log_len = link_log_lengths(sk.xy, sk.labelled, links)
    log_box = log_box_size(sk)
    from_file = np.zeros(len(links), bool)
    log_scale = scale_votes(log_len, log_box, mu, box[0], config.scale_min_votes)
    for _ in range(2):
        resid = log_len - log_scale[:, None]
        for j in range(len(links)):
            r = resid[:, j][np.isfinite(resid[:, j])]
            if r.size >= config.limb_min_samples:
                med, lo, _ = split_mad(r)
                _, _, hi = split_mad(np.exp(r - med))
                mu[j] = med
                s_lo[j] = max(lo, config.limb_min_sigma_lo)
                s_hi[j] = max(hi, config.limb_min_sigma)
                from_file[j] = True
        rb = (log_box - log_scale)[np.isfinite(log_box - log_scale)]
        if rb.size >= config.limb_min_samples:
            med, lo, hi = split_mad(rb)
            box = (med, max(lo, config.limb_min_sigma), max(hi, config.limb_min_sigma))
        log_scale = scale_votes(log_len, log_box, mu, box[0], config.scale_min_votes)
    return LimbModel(links, names, mu, s_lo, s_hi, from_file, box, log_scale)

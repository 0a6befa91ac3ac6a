"""Bootstrap over images: percentile intervals and paired comparisons.

Images (frames for PoseTrack) are the independent units of a pose benchmark, so they are what
is resampled. A resample is a vector of draw counts per unit handed to the protocol's
``resampled`` aggregation (see :mod:`base`); nothing is re-matched. A comparison evaluates both
prediction sets on the *same* resamples, which is what makes the difference's interval tight.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from benchmark.evaluation.base import Prepared

LEVEL = 0.95
_PERCENTILES = (100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2)


def resample_counts(n_units: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Draw counts per unit for ``n_resamples`` resamples of ``n_units`` with replacement."""
    rng = np.random.default_rng(seed)
    for _ in range(n_resamples):
        yield np.bincount(rng.integers(0, n_units, size=n_units), minlength=n_units)


def percentile_interval(values: np.ndarray) -> tuple[float, float]:
    """The central 95 % of the defined values.

    A statistic can be undefined in a resample (pycocotools' -1 when no ground truth falls in
    a range, NaN for an empty PCK denominator); those resamples are left out. Every metric here
    is non-negative when defined, so a negative value means "undefined".
    """
    defined = values[np.isfinite(values) & (values >= 0)]
    if not defined.size:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(defined, _PERCENTILES)
    return (float(lo), float(hi))


def intervals(prepared: Prepared, n_resamples: int, seed: int) -> dict[str, tuple[float, float]]:
    """Bootstrap interval of every statistic."""
    if n_resamples <= 0:
        return {}
    if prepared.n_units == 0:
        return {name: (float("nan"), float("nan")) for name in prepared.point()}
    rows = [prepared.resampled(w)
            for w in resample_counts(prepared.n_units, n_resamples, seed)]
    return {name: percentile_interval(np.array([r[name] for r in rows])) for name in rows[0]}


def paired_difference(a: Prepared, b: Prepared, stat: str, n_resamples: int, seed: int
                      ) -> dict[str, float | list[float | None] | None]:
    """B - A on ``stat``: point difference, 95 % interval and two-sided bootstrap p-value.

    p = min(1, 2 * min(#(d* <= 0) + 1, #(d* >= 0) + 1) / (N + 1)) over the N resampled
    differences d*: how often the resampled difference falls on the other side of zero.
    """
    if a.n_units != b.n_units:
        raise ValueError("paired comparison needs both prediction sets on the same units")
    diff = b.point()[stat] - a.point()[stat]
    out: dict[str, float | list[float | None] | None] = {
        "difference": diff, "interval": None, "p_value": None}
    if n_resamples <= 0 or a.n_units == 0:
        return out
    pairs = np.array([(a.resampled(w)[stat], b.resampled(w)[stat])
                      for w in resample_counts(a.n_units, n_resamples, seed)])
    defined = (np.isfinite(pairs) & (pairs >= 0)).all(axis=1)
    deltas = pairs[defined, 1] - pairs[defined, 0]
    if not deltas.size:
        return out
    lo, hi = np.percentile(deltas, _PERCENTILES)
    tail = min(np.count_nonzero(deltas <= 0) + 1, np.count_nonzero(deltas >= 0) + 1)
    out["interval"] = [float(lo), float(hi)]
    out["p_value"] = float(min(1.0, 2 * tail / (len(deltas) + 1)))
    return out


def pooled_replicates(prepared: list[Prepared], n_resamples: int, seed: int
                      ) -> dict[str, tuple[float, float]]:
    """Interval of the mean over replicates (seeds) of every statistic: each resample of the
    images is scored for every replicate and the replicates' values averaged, so the interval
    covers the image sampling of the pooled predictions, not the seed spread (reported apart
    as the across-seed standard deviation)."""
    if n_resamples <= 0 or not prepared:
        return {}
    units = {p.n_units for p in prepared}
    if len(units) != 1:
        raise ValueError("replicates must be scored on the same units")
    n = units.pop()
    if n == 0:
        return {name: (float("nan"), float("nan")) for name in prepared[0].point()}
    rows = []
    for w in resample_counts(n, n_resamples, seed):
        each = [p.resampled(w) for p in prepared]
        rows.append({k: float(np.mean([r[k] for r in each])) for k in each[0]})
    return {name: percentile_interval(np.array([r[name] for r in rows])) for name in rows[0]}

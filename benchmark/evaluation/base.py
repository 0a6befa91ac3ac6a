"""What every protocol provides, so that evaluation, bootstrap and comparison are generic.

A protocol turns ground truth and predictions into a *prepared* evaluation: the expensive,
per-unit work (matching, distances) done once, and a cheap re-aggregation that takes integer
weights per unit (image or frame). ``point()`` is the reference number; ``resampled(w)`` is the
same aggregation with unit ``i`` counted ``w[i]`` times, which is all a bootstrap needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from benchmark.evaluation.inputs import GroundTruth, stable_argsort
from benchmark.evaluation.layout_map import AcceptedLayouts

PredictionSource = str | Path | list


class Prepared(Protocol):
    """A protocol's per-unit intermediate results for one prediction set."""

    n_units: int
    details: dict[str, Any]

    def point(self) -> dict[str, float]:
        """Every statistic, exactly as the reference evaluator computes it."""
        ...

    def resampled(self, weights: np.ndarray) -> dict[str, float]:
        """Every statistic with unit ``i`` counted ``weights[i]`` times."""
        ...


def sum_by_unit(values: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Sum rows of ``values`` per unit id; units are the sorted distinct ids of ``unit``.

    The per-unit sums are what ratio protocols (PCK, PCKh) re-weight per resample; being sums of
    0/1 hits they are exact, so the identity resample reproduces the reference ratios.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(unit) and np.all(np.diff(unit) > 0):  # already one row per unit, in order
        return values
    order = stable_argsort(unit)
    ids, starts = np.unique(unit[order], return_index=True)
    if not len(ids):
        return np.zeros((0, *values.shape[1:]))
    return np.add.reduceat(values[order], starts, axis=0)


class Prepare(Protocol):
    """A protocol's ``prepare(gt, preds, sigmas, *, pred_layout=None)``: ``pred_layout`` names
    the predictions' keypoint layout (``None``: read from their length)."""

    def __call__(self, gt: GroundTruth, preds: PredictionSource,
                 sigmas: Sequence[float] | None, *, pred_layout: str | None = None
                 ) -> Prepared: ...


@dataclass(frozen=True)
class ProtocolSpec:
    """A named evaluation protocol."""

    name: str
    headline: str
    scale: Literal["fraction", "percent"]
    unit: str  # what the bootstrap resamples
    summary: str
    prepare: Prepare
    layouts: AcceptedLayouts  # the prediction layouts it scores

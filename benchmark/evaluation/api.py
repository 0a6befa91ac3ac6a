"""``evaluate`` and ``compare``: the entry points the pipeline and the CLI call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark.evaluation.base import PredictionSource
from benchmark.evaluation.bootstrap import (
    LEVEL,
    intervals,
    paired_difference,
    pooled_replicates,
)
from benchmark.evaluation.inputs import load_ground_truth, paused_gc
from benchmark.evaluation.protocols import get_protocol
from benchmark.evaluation.result import EvalResult, json_number

GroundTruthSource = str | Path | dict


def _check_resampling(bootstrap: int, seed: int) -> None:
    for name, value in (("bootstrap", bootstrap), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {value!r}")
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be >= 0, got {bootstrap}")


def evaluate(protocol: str, gt: GroundTruthSource, preds: PredictionSource, *,
             sigmas: Sequence[float] | None = None, bootstrap: int = 0,
             seed: int = 0, pred_layout: str | None = None) -> EvalResult:
    """Evaluate one prediction set; with ``bootstrap`` resamples, add 95 % intervals.

    ``sigmas`` only matter to the OKS protocols (coco, crowdpose); the others ignore them.
    ``pred_layout`` names the predictions' keypoint layout (``mvor10``, ``coco17``, ...), which
    must be one the protocol accepts; ``None`` reads it from the number of keypoint values
    (``mvor-pck``: 30 -> ``mvor10``, 51 -> ``coco17``). Naming it guards against a file in
    another layout of the same length (COCO-17 and PoseTrack17 both have 17 joints).
    Raises :class:`~benchmark.evaluation.errors.EvaluationInputError` for unusable input.
    """
    spec = get_protocol(protocol)
    _check_resampling(bootstrap, seed)
    with paused_gc():  # nothing here is cyclic; collections would re-walk the inputs
        prepared = spec.prepare(load_ground_truth(gt), preds, sigmas, pred_layout=pred_layout)
    details = dict(prepared.details, units=prepared.n_units, unit=spec.unit)
    return EvalResult(spec.name, spec.headline, spec.scale, prepared.point(),
                      intervals(prepared, bootstrap, seed), bootstrap, seed, details)


def compare(protocol: str, gt: GroundTruthSource, pred_a: PredictionSource,
            pred_b: PredictionSource, *, bootstrap: int = 1000, seed: int = 0,
            sigmas: Sequence[float] | None = None,
            pred_layout: str | None = None) -> dict[str, Any]:
    """Paired comparison of two prediction sets on the headline statistic (B - A).

    Both sets are evaluated on the same bootstrap resamples of the ground truth's images; the
    result holds both values, the difference, its 95 % interval and a two-sided p-value.
    ``pred_layout`` (see :func:`evaluate`) applies to both; with ``None`` each file's layout
    is read from it, so a COCO-17 model can be compared with a native one on ``mvor-pck``.
    """
    spec = get_protocol(protocol)
    _check_resampling(bootstrap, seed)
    with paused_gc():
        truth = load_ground_truth(gt)
        a = spec.prepare(truth, pred_a, sigmas, pred_layout=pred_layout)
        b = spec.prepare(truth, pred_b, sigmas, pred_layout=pred_layout)
    diff = paired_difference(a, b, spec.headline, bootstrap, seed)
    interval = diff["interval"]
    return {
        "protocol": spec.name, "headline": spec.headline, "scale": spec.scale,
        "a": json_number(a.point()[spec.headline]), "b": json_number(b.point()[spec.headline]),
        "difference": json_number(float(diff["difference"])),
        "interval": [json_number(v) for v in interval] if interval else None,
        "p_value": diff["p_value"], "resamples": bootstrap, "seed": seed,
        "confidence": LEVEL, "units": a.n_units, "unit": spec.unit,
        "pred_layouts": [a.details.get("pred_layout"), b.details.get("pred_layout")],
    }


def replicates(protocol: str, gt: GroundTruthSource, preds: Sequence[PredictionSource], *,
               bootstrap: int = 200, seed: int = 0,
               sigmas: Sequence[float] | None = None) -> dict[str, Any]:
    """Replicates of one cell (the same model trained with several seeds) on one ground truth:
    per statistic the mean over replicates, the across-replicate standard deviation (ddof 1)
    and the bootstrap interval of the mean (:func:`bootstrap.pooled_replicates`)."""
    import numpy as np

    spec = get_protocol(protocol)
    _check_resampling(bootstrap, seed)
    with paused_gc():
        truth = load_ground_truth(gt)
        prepared = [spec.prepare(truth, p, sigmas) for p in preds]
    points = [p.point() for p in prepared]
    stats = {k: float(np.mean([pt[k] for pt in points])) for k in points[0]}
    std = {k: float(np.std([pt[k] for pt in points], ddof=1)) if len(points) > 1 else 0.0
           for k in points[0]}
    return {"stats": stats, "std": std, "values": points,
            "intervals": pooled_replicates(prepared, bootstrap, seed),
            "replicates": len(points)}

"""Replicate cells (``seeds: [0, 1, 2]``) merged into one leaderboard row.

Two trainings of the same cell with the same data can differ by a few AP (this project's demo
cell gave rgb AP 11.8 and 12.1, thermal 22.3 and 24.1 on two machines), so a single seed does
not support a one-point claim. A replicate group's row shows, per score:

- the mean over seeds of every statistic;
- the across-seed standard deviation (``sd``);
- the 95 % bootstrap interval over images of that mean (every resample scored for every seed,
  :func:`benchmark.evaluation.replicates`), so the interval is comparable with a single
  cell's.

Groups are the cells' ``replicate_of`` (their key without ``@s<seed>``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.reports.cell_metrics import CellMetrics


def merge_replicates(cells: list[CellMetrics]) -> list[CellMetrics]:
    """The cells with each replicate group (two or more seeds) replaced by one merged cell."""
    groups: dict[tuple[str, ...], list[CellMetrics]] = {}
    for cell in cells:
        d = cell.data
        if "trained_on" in d or d.get("replicate_seed") is None:
            # A cross-dataset score stays its own row (its scores are on a shared sub-layout
            # whose files the merge would have to rebuild), as does a cell without a seed.
            key = ("single", d["cell"], d["dataset"], d["modality"])
        else:
            key = ("replicates", d["replicate_of"])
        groups.setdefault(key, []).append(cell)
    return [members[0] if key[0] == "single" or len(members) == 1
            else _merge(key[1], members) for key, members in groups.items()]


def _merge(key: str, members: list[CellMetrics]) -> CellMetrics:
    from benchmark.datasets import get_spec
    from benchmark.evaluation import replicates

    first = members[0].data
    labels = [label for label in first["scores"]
              if all(label in m.data["scores"] for m in members)]
    sigmas = list(get_spec(first["dataset"]).layout.sigmas)
    scores: dict[str, dict[str, Any]] = {}
    for label in labels:
        parts = [m.data["scores"][label] for m in members]
        gt = parts[0]["gt_file"]
        preds = [json.loads(Path(p["predictions"]).read_text()) for p in parts]
        res = replicates(first["protocol"], gt, preds, bootstrap=first.get("bootstrap") or 0,
                         seed=first.get("seed") or 0, sigmas=sigmas)
        scores[label] = {**parts[0], "stats": res["stats"], "intervals": res["intervals"],
                         "seed_std": res["std"], "predictions": [p["predictions"]
                                                                 for p in parts]}
    seeds = sorted(m.data.get("replicate_seed") for m in members)
    data = {**first, "cell": key, "scores": scores, "run_id": ",".join(
        m.data.get("run_id", "") for m in members),
        "replicates": {"seeds": seeds, "cells": [m.data["cell"] for m in members]}}
    return CellMetrics(members[0].path, data)

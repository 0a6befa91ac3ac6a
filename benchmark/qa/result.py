"""The common shape of a check's output, so the pipeline can tabulate and score any check."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CheckOutput:
    """Severities in [0, 1] per flag, plus detail columns for the per-skeleton table.

    Every array and list has one entry per annotation (file order). A flag is raised where
    its severity reaches the configured threshold; detail columns explain why.
    """

    severity: dict[str, np.ndarray] = field(default_factory=dict)
    columns: dict[str, list | np.ndarray] = field(default_factory=dict)


def joint_names(names: tuple[str, ...], mask: np.ndarray) -> list[str]:
    """'a,b' per row of a (N, K) boolean mask: which joints a row's issue concerns."""
    return [",".join(names[j] for j in np.flatnonzero(row)) for row in mask]

"""A cell's ``metrics.json`` as the reports read it (leaderboard, replicates, comparisons)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import MpbenchError


class LeaderboardError(MpbenchError):
    pass


@dataclass(frozen=True)
class CellMetrics:
    """One cell's ``metrics.json`` (written by :mod:`benchmark.models.evaluate`)."""

    path: Path
    data: dict[str, Any]

    @property
    def dataset(self) -> str:
        return self.data["dataset"]

    @property
    def row(self) -> tuple[str, str]:
        return self.data["model"], self.data["modality"]

    @property
    def factor(self) -> float:
        """Fractions (OKS AP) are shown in percent, as papers print them."""
        return 100.0 if self.data["scale"] == "fraction" else 1.0


def read_metrics(paths: list[Path]) -> list[CellMetrics]:
    out = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise LeaderboardError(f"{path}: metrics file not found (is the cell evaluated?)"
                                   ) from None
        except json.JSONDecodeError as exc:
            raise LeaderboardError(f"{path}: not valid JSON ({exc})") from None
        missing = [k for k in ("dataset", "modality", "model", "protocol", "scores", "primary")
                   if k not in data]
        if missing:
            raise LeaderboardError(f"{path}: not a cell metrics file (no {', '.join(missing)}); "
                                   "re-run the cell's evaluation")
        out.append(CellMetrics(Path(path), data))
    return sorted(out, key=lambda m: (m.dataset, m.row))



"""The result object of an evaluation and its JSON form (what ``mpbench eval --json`` prints)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal


def json_number(value: float) -> float | None:
    """NaN/inf are not JSON; they are written as ``null`` (an undefined statistic)."""
    return value if math.isfinite(value) else None


@dataclass
class EvalResult:
    """Every statistic of one protocol on one prediction set.

    ``scale`` says how to read the numbers: ``fraction`` (coco, crowdpose: pycocotools' [0, 1])
    or ``percent`` (the PCK and mAP protocols, as their reference scripts print them).
    ``intervals`` holds the bootstrap 95 % percentile interval of every statistic when
    ``bootstrap > 0``. ``details`` carries non-scalar output (engine used, counts, curves).
    """

    protocol: str
    headline: str
    scale: Literal["fraction", "percent"]
    stats: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    bootstrap: int = 0
    seed: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> float:
        """The headline statistic."""
        return self.stats[self.headline]

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "headline": self.headline,
            "value": json_number(self.value),
            "scale": self.scale,
            "stats": {k: json_number(v) for k, v in self.stats.items()},
            "intervals": {k: [json_number(lo), json_number(hi)]
                          for k, (lo, hi) in self.intervals.items()},
            "bootstrap": ({"resamples": self.bootstrap, "seed": self.seed, "confidence": 0.95}
                          if self.bootstrap else None),
            "details": self.details,
        }

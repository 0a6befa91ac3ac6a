"""The identity of a benchmark cell: (dataset, modality, model), encoded once.

Every layer (workflow rules, training, evaluation, tracking, reports) names a cell through this
object: its ``key`` is the MLflow run name and tag, the path fragment of its work dir and
results, and the ``--cell`` argument of the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODEL_DIR = Path("configs") / "models"


@dataclass(frozen=True, order=True)
class Cell:
    """One benchmark cell."""

    dataset: str
    modality: str
    model: str

    @property
    def key(self) -> str:
        """Stable identifier, also the MLflow run name and a path fragment."""
        return f"{self.dataset}/{self.modality}/{self.model}"

    @classmethod
    def from_key(cls, key: str) -> Cell:
        parts = key.split("/")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{key!r}: expected DATASET/MODALITY/MODEL")
        return cls(*parts)


def model_config_path(model: str, root: Path | None = None) -> Path:
    return (root or Path.cwd()) / MODEL_DIR / f"{model}.py"

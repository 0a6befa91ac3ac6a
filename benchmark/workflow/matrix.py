"""The benchmark matrix: which (dataset, modality, model) cells to train and evaluate.

The matrix file (``configs/matrix.yaml``) is the Snakemake config. It is checked twice before
any job starts: structurally against ``workflow/schemas/config.schema.yaml`` and semantically
here (datasets, modalities and model configs must exist), so that a typo fails at once with the
offending key named instead of hours later inside a training job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from benchmark.cells import MODEL_DIR, Cell, model_config_path
from benchmark.datasets import get_spec
from benchmark.datasets.spec import DatasetSpec
from benchmark.errors import MpbenchError

__all__ = ["MODEL_DIR", "Cell", "MatrixError", "cell_detectors", "cells_from_config",
           "datasets_of", "load_config", "model_config_path", "transfers"]


class MatrixError(MpbenchError, ValueError):
    """The benchmark matrix (config file) is malformed; the message names the key."""


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise MatrixError(f"{path}: matrix file not found") from None
    except yaml.YAMLError as exc:
        raise MatrixError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise MatrixError(f"{path}: expected a mapping at the top level")
    return data


def cells_from_config(config: dict[str, Any], root: Path | None = None) -> list[Cell]:
    """Expand ``config['matrix']`` into cells, checking every name it mentions.

    Each matrix entry is ``{dataset, modalities: [...], models: [...]}``; the cells are the
    cross product per entry, deduplicated and sorted (a deterministic order for the DAG and the
    leaderboard).
    """
    entries = config.get("matrix")
    if not isinstance(entries, list) or not entries:
        raise MatrixError("matrix: expected a non-empty list of {dataset, modalities, models}")
    cells: set[Cell] = set()
    for i, entry in enumerate(entries):
        where = f"matrix[{i}]"
        if not isinstance(entry, dict):
            raise MatrixError(f"{where}: expected a mapping")
        for key in ("dataset", "modalities", "models"):
            if key not in entry:
                raise MatrixError(f"{where}.{key}: missing")
        spec = _checked_spec(entry, where)
        for j, model in enumerate(entry["models"]):
            if not model_config_path(model, root).is_file():
                raise MatrixError(
                    f"{where}.models[{j}]: no model config {MODEL_DIR / (str(model) + '.py')}")
        for j, goal in enumerate(entry.get("transfer", [])):
            _checked_spec(goal, f"{where}.transfer[{j}]")
        for j, name in enumerate(entry.get("detectors", [])):
            if name not in (config.get("detectors") or {}):
                raise MatrixError(f"{where}.detectors[{j}]: no detector {name!r} under "
                                  f"`detectors` (it has {sorted(config.get('detectors') or {})})")
        cells.update(Cell(spec.name, m, model) for m in entry["modalities"]
                     for model in entry["models"])
    return sorted(cells)


def _checked_spec(entry: dict[str, Any], where: str) -> DatasetSpec:
    """The spec of ``entry['dataset']``, after checking that it has ``entry['modalities']``."""
    try:
        spec = get_spec(entry["dataset"])
    except KeyError as exc:
        raise MatrixError(f"{where}.dataset: {exc.args[0]}") from None
    for j, modality in enumerate(entry["modalities"]):
        if modality not in spec.modalities:
            raise MatrixError(
                f"{where}.modalities[{j}]: dataset {spec.name!r} has no modality "
                f"{modality!r}; it has {sorted(spec.modalities)}")
    return spec


def transfers(config: dict[str, Any]) -> list[tuple[Cell, str, str]]:
    """Every cross-dataset score of the matrix: (cell, target dataset, target modality)."""
    out = {(Cell(get_spec(entry["dataset"]).name, m, model), goal["dataset"], tm)
           for entry in config["matrix"] for m in entry["modalities"]
           for model in entry["models"] for goal in entry.get("transfer", [])
           for tm in goal["modalities"]}
    return sorted(out)


def cell_detectors(config: dict[str, Any]) -> dict[Cell, tuple[str, ...]]:
    """The detectors each cell is scored with (every matrix entry naming the cell adds its
    own), in first-mentioned order."""
    out: dict[Cell, list[str]] = {}
    for entry in config["matrix"]:
        for m in entry["modalities"]:
            for model in entry["models"]:
                names = out.setdefault(Cell(get_spec(entry["dataset"]).name, m, model), [])
                names += [d for d in entry.get("detectors", []) if d not in names]
    return {c: tuple(v) for c, v in out.items()}


def datasets_of(cells: list[Cell]) -> list[str]:
    return sorted({c.dataset for c in cells})

"""The benchmark matrix: which (dataset, modality, model) cells to train and evaluate.

The matrix file (``configs/matrix.yaml``) is the Snakemake config. It is checked twice before
any job starts: structurally against ``workflow/schemas/config.schema.yaml`` and semantically
here (datasets, modalities and model configs must exist), so that a typo fails at once with the
offending key named instead of hours later inside a training job.
"""

from __future__ import annotations

import functools
import posixpath
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from benchmark.cells import MODEL_DIR, Cell, CellError, Init, model_config_path
from benchmark.datasets import get_spec
from benchmark.datasets.spec import DatasetSpec
from benchmark.errors import MpbenchError

__all__ = ["MODEL_DIR", "Cell", "MatrixError", "cell_detectors", "cells_from_config",
           "cell_resources", "datasets_of", "entries_of", "entry_option", "load_config",
           "model_config_path", "model_resources", "model_top_down", "named_benchmark",
           "named_benchmarks", "transfers"]


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

    Each matrix entry is ``{dataset, modalities: [...], models: [...]}`` plus optional recipe
    fields (``init``, ``seeds``, ``train``); the cells are the cross product per entry (one
    replicate per seed), deduplicated and sorted by key (a deterministic order for the DAG
    and the leaderboard).
    """
    return sorted(entries_of(config, root))


def entries_of(config: dict[str, Any], root: Path | None = None) -> dict[Cell, list[int]]:
    """Every cell of the matrix with the indices of the entries that name it."""
    entries = config.get("matrix")
    if not isinstance(entries, list) or not entries:
        raise MatrixError("matrix: expected a non-empty list of {dataset, modalities, models}")
    check_paths(config)
    cells: dict[Cell, list[int]] = {}
    described: dict[str, tuple[Cell, str]] = {}
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
                raise MatrixError(f"{where}.models[{j}]: no model config "
                                  f"{_config_name(model)}")
        for j, goal in enumerate(entry.get("transfer", [])):
            _checked_spec(goal, f"{where}.transfer[{j}]")
        for j, name in enumerate(entry.get("detectors", [])):
            if name not in (config.get("detectors") or {}):
                raise MatrixError(f"{where}.detectors[{j}]: no detector {name!r} under "
                                  f"`detectors` (it has {sorted(config.get('detectors') or {})})")
        for cell in _entry_cells(entry, spec.name, where):
            other = described.get(cell.key)
            if other is not None and other[0].cli_args() != cell.cli_args():
                raise MatrixError(f"{where}: cell {cell.key} is also described by {other[1]} "
                                  "with another recipe; give one of the inits a distinct name")
            described.setdefault(cell.key, (cell, where))
            cells.setdefault(described[cell.key][0], []).append(i)
    for cell in cells:
        if cell.init is not None and cell.init.kind == "cell":
            upstream = Cell.from_key(cell.init.source)
            if upstream not in cells:
                raise MatrixError(f"{described[cell.key][1]}.init.cell: {upstream.key} is not "
                                  "a cell of this matrix; add an entry that trains it")
            if not next(c for c in cells if c == upstream).train:
                raise MatrixError(f"{described[cell.key][1]}.init.cell: {upstream.key} is "
                                  "evaluate-only; start from its init url instead")
    return cells


def path_problem(value: object) -> str | None:
    """Why a path-valued matrix key could name a file outside the repository: absolute, or
    with ``..`` parts that climb above it. Relative paths resolve against the repository
    root (Snakemake's working directory); a weights file kept elsewhere is linked or copied
    in (a symlink inside the repository is the deliberate way out)."""
    if not isinstance(value, str):
        return None  # the schema names wrong types
    if value.startswith("~") or PurePosixPath(value).is_absolute():
        return f"{value!r} is outside the repository (an absolute path)"
    normal = posixpath.normpath(value.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return f"{value!r} climbs outside the repository ('..')"
    return None


def url_problem(url: object) -> str | None:
    """``file://`` URLs name local paths: the same rule as :func:`path_problem`, on the path
    (``file:///abs`` is absolute; ``file://relative/path`` is read relative to the repo)."""
    if not isinstance(url, str) or not url.startswith("file://"):
        return None
    parsed = urlparse(url)
    host = "" if parsed.netloc == "localhost" else parsed.netloc
    return path_problem(unquote(host + parsed.path))


def matrix_paths(config: dict[str, Any]) -> list[tuple[str, object, bool]]:
    """Every path-valued key of a matrix file: ``(key, value, is_url)``. The schema
    (workflow/schemas/config.schema.yaml) has three: ``detectors.<name>.config`` (unless
    ``package::path``), ``detectors.<name>.checkpoint`` (unless an http(s) URL) and
    ``matrix[i].init.url``; dataset, modality and model values are names (their patterns
    allow no ``/``)."""
    out: list[tuple[str, object, bool]] = []
    detectors = config.get("detectors") or {}
    for name, det in (detectors.items() if isinstance(detectors, dict) else ()):
        if not isinstance(det, dict):
            continue
        cfg, ckpt = det.get("config"), det.get("checkpoint")
        if not (isinstance(cfg, str) and "::" in cfg):
            out.append((f"detectors.{name}.config", cfg, False))
        if not (isinstance(ckpt, str) and ckpt.startswith(("http://", "https://"))):
            out.append((f"detectors.{name}.checkpoint", ckpt, False))
    for i, entry in enumerate(config.get("matrix") or []):
        init = entry.get("init") if isinstance(entry, dict) else None
        if isinstance(init, dict) and "url" in init:
            out.append((f"matrix[{i}].init.url", init["url"], True))
    return out


def check_paths(config: dict[str, Any]) -> None:
    """Refuse a matrix file whose path-valued keys name files outside the repository (a
    shared or tampered matrix must not make jobs read, or ``--configfile`` users trust, files
    anywhere on the machine), naming the key."""
    for key, value, is_url in matrix_paths(config):
        problem = url_problem(value) if is_url else path_problem(value)
        if problem is not None:
            raise MatrixError(f"{key}: {problem}; use a path inside the repository")


def _entry_cells(entry: dict[str, Any], dataset: str, where: str) -> list[Cell]:
    try:
        init = Init.from_dict(entry["init"]) if entry.get("init") is not None else None
    except CellError as exc:
        raise MatrixError(f"{where}.init: {exc}") from None
    seeds = entry.get("seeds") or [None]
    train = bool(entry.get("train", True))
    try:
        return [Cell(dataset, m, model, init, seed, train) for m in entry["modalities"]
                for model in entry["models"] for seed in seeds]
    except CellError as exc:
        raise MatrixError(f"{where}: {exc}") from None


def _config_name(model: str) -> str:
    if model.startswith("mmpose."):
        return f"{model.removeprefix('mmpose.')}.py among the configs MMPose ships"
    return str(MODEL_DIR / f"{model}.py")


def entry_option(config: dict[str, Any], entries: dict[Cell, list[int]], cell: Cell, key: str,
                 default: Any = None) -> Any:
    """A per-entry option (``published``, ``resources``, ...) of the first entry naming the
    cell that sets it (``entries``: :func:`entries_of` of the config, computed once)."""
    for i in entries[cell]:
        value = config["matrix"][i].get(key)
        if value is not None:
            return value
    return default


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
    out = {(cell, goal["dataset"], tm) for cell, idx in entries_of(config).items()
           for i in idx for goal in config["matrix"][i].get("transfer", [])
           for tm in goal["modalities"]}
    return sorted(out)


def cell_detectors(config: dict[str, Any]) -> dict[Cell, tuple[str, ...]]:
    """The detectors each cell is scored with (every matrix entry naming the cell adds its
    own), in first-mentioned order."""
    out: dict[Cell, list[str]] = {}
    for cell, idx in entries_of(config).items():
        names = out.setdefault(cell, [])
        for i in idx:
            names += [d for d in config["matrix"][i].get("detectors", []) if d not in names]
    return {c: tuple(v) for c, v in out.items()}


def datasets_of(cells: list[Cell]) -> list[str]:
    return sorted({c.dataset for c in cells})


@functools.cache
def _model_config(model: str):
    from mmengine.config import Config

    from benchmark.models.families import family_of

    path = model_config_path(model)
    cfg = Config.fromfile(str(path), import_custom_modules=False)
    return cfg, family_of(cfg, str(path))


def model_resources(model: str) -> dict[str, int]:
    """A model's training resources from its config: ``mpbench_resources``, else its
    family's for its ``mpbench_size`` (benchmark.models.families)."""
    from benchmark.models.families import resources

    return resources(*_model_config(model))


def model_top_down(model: str) -> bool:
    """Whether the model crops person boxes (and so is scored with detector boxes too)."""
    return _model_config(model)[1].top_down


def cell_resources(config: dict[str, Any], entries: dict[Cell, list[int]],
                   cell: Cell) -> dict[str, dict[str, int]]:
    """The train and evaluate jobs' resources of a cell, each layer overriding the one before:
    defaults, the model's family and size (training; its GPUs also for evaluation), the
    matrix's ``resources`` section, the matrix entry's ``resources``."""
    base = config.get("resources") or {}
    own = entry_option(config, entries, cell, "resources", {})
    model = model_resources(cell.model) if cell.train else {}
    out = {}
    for rule in ("train", "evaluate"):
        values = {"gpus": 1, "threads": 1, "mem_mb": 4000, "runtime": 60}
        values |= model if rule == "train" else {"gpus": model.get("gpus", 1)}
        out[rule] = values | dict(base.get(rule) or {}) | dict(own.get(rule) or {})
    return out


BENCHMARK_DIR = Path("configs") / "benchmarks"


def benchmark_path(name: str, root: Path | None = None) -> Path:
    return (root or Path.cwd()) / BENCHMARK_DIR / f"{name}.yaml"


def named_benchmarks(root: Path | None = None) -> list[str]:
    return sorted(p.stem for p in ((root or Path.cwd()) / BENCHMARK_DIR).glob("*.yaml"))


def named_benchmark(name: str, root: Path | None = None) -> dict[str, Any]:
    """The matrix file of a named benchmark (``configs/benchmarks/<name>.yaml``), with
    ``benchmark`` set to its name. Its top-level keys replace the default matrix file's."""
    path = benchmark_path(name, root)
    if not path.is_file():
        raise MatrixError(f"{path}: no named benchmark {name!r}; there are "
                          f"{named_benchmarks(root)}")
    data = load_config(path)
    return {"benchmark": name, **data}

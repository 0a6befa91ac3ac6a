"""The identity of a benchmark cell, encoded once: dataset, modality, model and its recipe.

A cell is what the benchmark trains and scores: a model config on one modality of one dataset,
plus the recipe fields that change the weights it ends with:

- ``init``: where training starts (a published checkpoint by URL and sha256, or another cell's
  trained weights, which makes a pretrain -> finetune chain a DAG edge);
- ``seed``: the replicate's random seed (``seeds: [0, 1, 2]`` in a matrix entry);
- ``train``: ``False`` for an evaluate-only cell (a published checkpoint scored as it is).

Every layer names a cell through this one object and its codec:

==================  ====================================================================
key                 ``<dataset>/<modality>/<recipe>``, recipe = ``<model>[~<init>][@s<seed>]``;
                    the MLflow run name, a path fragment and the ``--cell`` argument
paths               :attr:`Cell.work_dir`, :attr:`Cell.results_dir`, :attr:`Cell.summary_path`
wildcards           one Snakemake wildcard ``{cell}`` (the key), constrained by
                    :data:`KEY_PATTERN`; :func:`Cell.wildcards`
CLI flags           :meth:`Cell.cli_args` / :meth:`Cell.from_cli`
MLflow tags         :meth:`Cell.tags`
==================  ====================================================================

Equality, hashing and order are those of the key: a cell parsed from a key (whose init is
only named) is the same cell as the matrix's fully described one.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL_DIR = Path("configs") / "models"
#: Model names: a config under configs/models/, or ``mmpose.<config stem>`` for a config
#: MMPose ships (the zoo's evaluate-only cells).
NAME = r"[A-Za-z0-9_\-]+"
MODEL = r"[A-Za-z0-9_.\-]+"
RECIPE_PATTERN = rf"(?P<model>{MODEL}?)(?:~(?P<init>{MODEL}))?(?:@s(?P<seed>\d+))?"
#: The Snakemake wildcard constraint of ``{cell}``.
KEY_PATTERN = rf"{NAME}/{NAME}/{MODEL}(?:~{MODEL})?(?:@s\d+)?"
_RECIPE = re.compile(RECIPE_PATTERN)
_SHA = re.compile(r"[0-9a-f]{8,64}")


class CellError(ValueError):
    """A malformed cell key or recipe; the message names it."""


@dataclass(frozen=True)
class Init:
    """Where a cell's weights start.

    ``kind`` is ``url`` (a published checkpoint: ``source`` is its URL, ``sha256`` its full
    digest or a prefix of at least 8 hex digits, as MMPose's file names carry), ``cell`` (the
    trained checkpoint of the cell whose key is ``source``) or ``named`` (parsed from a key:
    only the label is known).
    """

    kind: str
    source: str = ""
    sha256: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("url", "cell", "named"):
            raise CellError(f"init kind {self.kind!r}: expected url or cell")
        if self.kind == "url":
            if not re.match(r"(https?|file)://", self.source):
                raise CellError(f"init url {self.source!r}: expected http(s):// or file://")
            if not self.sha256 or not _SHA.fullmatch(self.sha256.lower()):
                raise CellError(f"init url {self.source}: sha256 {self.sha256!r} must be the "
                                "file's sha256 or its first 8 or more hex digits")
        if self.kind == "cell":
            Cell.from_key(self.source)
        if self.name is not None and not re.fullmatch(MODEL, self.name):
            raise CellError(f"init name {self.name!r}: use letters, digits, '.', '_' or '-'")

    @property
    def resolved(self) -> bool:
        return self.kind != "named"

    def label(self, train: bool = True) -> str:
        """The key's init part: the given name, else derived from the source."""
        if self.name:
            return self.name
        if self.kind == "url":
            return f"{'pre' if train else 'ckpt'}-{self.sha256.lower()[:8]}"
        upstream = Cell.from_key(self.source)
        return "ft-" + "-".join([upstream.dataset, upstream.modality, upstream.recipe])

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = ({"url": self.source, "sha256": self.sha256}
                               if self.kind == "url" else {"cell": self.source})
        return out | ({"name": self.name} if self.name else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Init:
        if not isinstance(data, dict) or ("url" in data) == ("cell" in data):
            raise CellError(f"init {data!r}: expected {{url: ..., sha256: ...}} or "
                            "{cell: DATASET/MODALITY/MODEL}")
        if "url" in data:
            return cls("url", str(data["url"]), str(data.get("sha256") or "") or None,
                       data.get("name"))
        return cls("cell", str(data["cell"]), None, data.get("name"))


@dataclass(frozen=True, eq=False)
class Cell:
    """One benchmark cell (see the module docstring for its codec)."""

    dataset: str
    modality: str
    model: str
    init: Init | None = None
    seed: int | None = None
    train: bool = True
    #: the init label of a cell parsed from a key (kept so the key round-trips)
    _label: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for what, value, pattern in (("dataset", self.dataset, NAME),
                                     ("modality", self.modality, NAME),
                                     ("model", self.model, MODEL)):
            if not re.fullmatch(pattern, str(value)):
                raise CellError(f"cell {what} {value!r}: use letters, digits, '_' or '-'"
                                + (" (and '.')" if what == "model" else ""))
        if not self.train and (self.init is None or self.init.kind == "cell"):
            raise CellError(f"{self.dataset}/{self.modality}/{self.model}: an evaluate-only "
                            "cell (train: false) needs init: {url: ..., sha256: ...}")

    # -- key ----------------------------------------------------------------------------
    @property
    def recipe(self) -> str:
        """The key's third part: ``<model>[~<init label>][@s<seed>]``."""
        out = self.model
        label = self._label or (self.init.label(self.train) if self.init else None)
        if label:
            out += f"~{label}"
        if self.seed is not None:
            out += f"@s{self.seed}"
        return out

    @property
    def key(self) -> str:
        """Stable identifier: the MLflow run name, a path fragment, the ``--cell`` value."""
        return f"{self.dataset}/{self.modality}/{self.recipe}"

    @classmethod
    def from_key(cls, key: str) -> Cell:
        parts = str(key).split("/")
        match = _RECIPE.fullmatch(parts[2]) if len(parts) == 3 else None
        if not match or not all(parts) or not match["model"]:
            raise CellError(f"{key!r}: expected DATASET/MODALITY/MODEL[~INIT][@sSEED]")
        init = Init("named", name=match["init"]) if match["init"] else None
        seed = int(match["seed"]) if match["seed"] is not None else None
        return cls(parts[0], parts[1], match["model"], init, seed,
                   _label=match["init"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cell) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: Cell) -> bool:
        return self.key < other.key

    # -- paths --------------------------------------------------------------------------
    @property
    def work_dir(self) -> Path:
        """Checkpoints, the composed config and the summary of the cell's weights."""
        return Path("work_dirs") / self.key

    @property
    def results_dir(self) -> Path:
        """Predictions and ``metrics.json``."""
        return Path("results") / "cells" / self.key

    @property
    def summary_path(self) -> Path:
        """What the evaluation reads: the training summary, or for an evaluate-only cell the
        summary of its fetched checkpoint."""
        return self.work_dir / ("train_summary.json" if self.train else
                                "checkpoint_summary.json")

    def transfer_dir(self, dataset: str, modality: str) -> Path:
        return Path("results") / "transfer" / self.key / dataset / modality

    # -- Snakemake, CLI, MLflow -----------------------------------------------------------
    @property
    def wildcards(self) -> dict[str, str]:
        return {"cell": self.key}

    def cli_args(self) -> list[str]:
        """The flags that describe this cell to ``mpbench train|evaluate|fetch-weights``."""
        args = ["--cell", self.key]
        if self.init is not None and self.init.resolved:
            if self.init.kind == "url":
                args += ["--init-url", self.init.source, "--init-sha256", str(self.init.sha256)]
            else:
                args += ["--init-cell", self.init.source]
            if self.init.name:
                args += ["--init-name", self.init.name]
        if not self.train:
            args.append("--evaluate-only")
        return args

    @classmethod
    def from_cli(cls, key: str, *, init_url: str | None = None, init_sha256: str | None = None,
                 init_cell: str | None = None, init_name: str | None = None,
                 evaluate_only: bool = False) -> Cell:
        """The cell of ``--cell KEY`` plus its init flags; the key must agree with them."""
        parsed = cls.from_key(key)
        if init_url and init_cell:
            raise CellError("--init-url and --init-cell exclude each other")
        init = None
        if init_url:
            init = Init("url", init_url, init_sha256, init_name)
        elif init_cell:
            init = Init("cell", init_cell, None, init_name)
        cell = cls(parsed.dataset, parsed.modality, parsed.model, init, parsed.seed,
                   not evaluate_only)
        if init is None and parsed.init is not None:
            return parsed if not evaluate_only else cls(
                parsed.dataset, parsed.modality, parsed.model, parsed.init, parsed.seed,
                False, _label=parsed._label)
        if cell.key != parsed.key:
            raise CellError(f"--cell {key}: its init flags give the cell {cell.key}")
        return cell

    def tags(self) -> dict[str, str]:
        """The MLflow tags naming the cell's parts."""
        tags = {"mpbench.dataset": self.dataset, "mpbench.modality": self.modality,
                "mpbench.model": self.model, "mpbench.recipe": self.recipe,
                "mpbench.trained": "true" if self.train else "false"}
        if self.seed is not None:
            tags["mpbench.seed"] = str(self.seed)
        if self.init is not None:
            tags["mpbench.init"] = (self.init.source if self.init.resolved
                                    else str(self.init.name))
        return tags

    @property
    def replicate_of(self) -> str:
        """The key without the seed: replicates of one cell share it (leaderboard grouping)."""
        return self.key.rsplit("@s", 1)[0] if self.seed is not None else self.key


def model_config_path(model: str, root: Path | None = None) -> Path:
    """The config file of a model name: ``configs/models/<model>.py``, or for
    ``mmpose.<stem>`` the config of that name MMPose ships in its package."""
    if model.startswith("mmpose."):
        return mmpose_config(model.removeprefix("mmpose."))
    return (root or Path.cwd()) / MODEL_DIR / f"{model}.py"


@functools.cache
def _mmpose_configs() -> dict[str, Path]:
    spec = importlib.util.find_spec("mmpose")
    if spec is None or spec.origin is None:
        return {}
    root = Path(spec.origin).parent / ".mim" / "configs"
    return {p.stem: p for p in sorted(root.rglob("*.py")) if not p.name.startswith("_")}


def mmpose_config(stem: str) -> Path:
    """The config MMPose ships under this file stem (a path that does not exist when MMPose
    has none, so that callers report it like any missing config)."""
    return _mmpose_configs().get(stem, Path("mmpose") / ".mim" / "configs" / f"{stem}.py")

# Config validation (schema, then names) and the cell list. Runs before any job starts.
import json
import shlex

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from benchmark.datasets import get_spec
from benchmark.models.boxes import cell_box_sources
from benchmark.models.boxes import box_sources
from benchmark.workflow.matrix import (
    MatrixError,
    cell_detectors,
    cells_from_config,
    datasets_of,
    transfers,
)


validate(config, schema="../schemas/config.schema.yaml")

try:
    CELLS = cells_from_config(config)
except MatrixError as exc:
    raise WorkflowError(f"invalid benchmark matrix: {exc}")

TRANSFERS = transfers(config)
DATASETS = sorted({*datasets_of(CELLS), *(t for _, t, _ in TRANSFERS)})
EXPERIMENT = config["experiment"]
TRACKING_STAMP = f"results/mlflow/{EXPERIMENT}.ready.json"
LEADERBOARD = expand("results/leaderboard.{ext}", ext=["md", "csv", "tex"])
CELL_DETECTORS = cell_detectors(config)
# Datasets with a model evaluated on two or more modalities: their paired comparisons.
COMPARED = sorted({c.dataset for c in CELLS
                   if sum(d.dataset == c.dataset and d.model == c.model for d in CELLS) > 1})
COMPARISONS = expand("results/compare/{dataset}.{ext}", dataset=COMPARED, ext=["md", "csv"])


wildcard_constraints:
    dataset=r"[A-Za-z0-9_\-]+",
    modality=r"[A-Za-z0-9_\-]+",
    model=r"[A-Za-z0-9_\-]+",
    split=r"[A-Za-z0-9_\-]+",
    target=r"[A-Za-z0-9_\-]+",
    target_modality=r"[A-Za-z0-9_\-]+",
    name=r"[A-Za-z0-9_\-]+",


def cell_files(pattern, cells=None):
    return [pattern.format(dataset=c.dataset, modality=c.modality, model=c.model)
            for c in (CELLS if cells is None else cells)]


def cell_of(wildcards):
    return next(c for c in CELLS if (c.dataset, c.modality, c.model)
                == (wildcards.dataset, wildcards.modality, wildcards.model))


def detection_inputs(wildcards):
    """The detection files a cell's evaluation reads: every released file and configured
    detector of every evaluation set (benchmark.models.boxes, one source of truth)."""
    cell = cell_of(wildcards)
    sources = cell_box_sources(get_spec(cell.dataset), cell.modality, CELL_DETECTORS[cell],
                               config["evaluate"]["released_detections"])
    return sorted({str(s.path) for group in sources.values() for s in group})


TRANSFER_METRICS = [
    f"results/transfer/{c.key}/{dataset}/{modality}/metrics.json"
    for c, dataset, modality in TRANSFERS
]


def transfer_detection_inputs(wildcards):
    """The released detection files of the target's evaluation sets (a cross-dataset score
    uses the target's released boxes, not the source entry's detectors)."""
    if not config["evaluate"]["released_detections"]:
        return []
    spec = get_spec(wildcards.target)
    return sorted({str(s.path) for e in spec.eval_sets_of(wildcards.target_modality)
                   for s in box_sources(spec, wildcards.target_modality, e)})


def detector_args(wildcards):
    """The detections rule's option for a detector: its matrix-file entry as JSON (empty for a
    released file of the dataset)."""
    entry = (config.get("detectors") or {}).get(wildcards.name)
    return "" if entry is None else f"--detector {shlex.quote(json.dumps(entry))}"


def res(rule_name, key):
    return config["resources"][rule_name][key]


def res_per_attempt(rule_name, key):
    """The configured value times the attempt number: a job retried by Snakemake (`retries`
    in the SLURM profile) after running out of memory or time asks for more."""
    base = res(rule_name, key)
    return lambda wildcards, attempt: base * attempt
